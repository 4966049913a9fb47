using System.CommandLine;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Weights;

namespace BitNet.Cli.Commands;

/// <summary>`bitnet convert DIR -o model.gguf`: a Hugging Face ternary model directory as an I2_S GGUF (bitnet.cpp conventions).</summary>
public static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("model") { Description = "Hugging Face model directory (config.json, safetensors, tokenizer.json)" };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write", Required = true };
        var cmd = new Command("convert", "Write a Hugging Face model directory as an I2_S GGUF that bitnet.cpp and this engine load") { input, output };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(input)!, r.GetValue(output)!)));
        return cmd;
    }

    private static int Run(string input, string output)
    {
        if (!HuggingFaceDirectory.IsModelDirectory(input))
            throw new CliException($"{input}: not a Hugging Face model directory (no config.json); convert reads HF directories");
        if (Directory.Exists(output)) throw new CliException($"--output: {output} is a directory");
        using var source = HuggingFaceDirectory.Open(input, CliProgress.Stderr);
        if (!source.Metadata.Contains("tokenizer.ggml.tokens"))
            Console.Error.WriteLine("warning: the directory has no tokenizer.json; the GGUF will carry no vocabulary");
        GgufConverter.Convert(source, output, CliProgress.Stderr);
        using var check = GgufFile.Open(output);
        Console.WriteLine($"wrote {output}: {check.Architecture}, {check.Tensors.Count} tensors, {check.Length:N0} bytes");
        return 0;
    }
}
