using System.CommandLine;
using System.Text.Json;
using BitNet.Cli.Commands;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>
/// Tests that swap Console.In/Out/Error: xUnit runs this collection alone, after the parallel ones, so no other
/// test writes to the console while it is redirected.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliConsoleCollection
{
    public const string Name = "CLI console";
}

/// <summary>What one in-process `bitnet` invocation printed.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Out}\nstderr: {Error}";
}

/// <summary>Runs the text commands in-process, as Program.cs would, capturing the console.</summary>
internal static class CliHost
{
    public static string StoriesModel => TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf");

    public static string Llama3Vocabulary => TestPaths.SharedFile("tokenizers", "llama3", "llama3-vocab.gguf");

    public static CliResult Run(params string[] args) => RunWithInput(null, args);

    public static CliResult RunWithInput(string? stdin, params string[] args)
    {
        var root = new RootCommand("test")
        {
            TokenizeCommand.Create(), GenerateCommand.Create(), ChatCommand.Create(), InfoCommand.Create(), ConvertCommand.Create(),
        };
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        TextReader oldIn = Console.In;
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            if (stdin is not null) Console.SetIn(new StringReader(stdin));
            int exitCode = root.Parse(args).Invoke();
            return new CliResult(exitCode, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
            if (stdin is not null) Console.SetIn(oldIn);
        }
    }

    /// <summary>Parses the one-line <c>{"tokens":[...]}</c> output.</summary>
    public static int[] ParseTokens(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.EndsWith("\n", result.Out);
        using var json = JsonDocument.Parse(result.Out);
        var tokens = json.RootElement.GetProperty("tokens");
        var ids = new int[tokens.GetArrayLength()];
        for (int i = 0; i < ids.Length; i++) ids[i] = tokens[i].GetInt32();
        return ids;
    }
}
