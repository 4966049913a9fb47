namespace BitNet.Cli.Commands;

/// <summary>Progress lines of one-time load work (repacking an HF directory), printed to stderr as they come.</summary>
internal sealed class CliProgress : IProgress<string>
{
    public static readonly CliProgress Stderr = new();

    public void Report(string value) => Console.Error.WriteLine(value);
}
