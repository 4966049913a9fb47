using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BitNet.Server.Tests.Startup;

/// <summary>What a server process printed and how it ended.</summary>
public sealed record ProcessResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Out}\nstderr: {Error}";
}

/// <summary>
/// The real server executable (BitNet.Server.dll, copied beside the tests) as a child process: start-up errors end
/// the process, so exit codes and what reaches stdout / stderr can only be checked from outside.
/// </summary>
internal static class ServerProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "BitNet.Server.dll");

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Process Start(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
    }

    /// <summary>Runs the server to its exit; fails the test if it is still running after 60 s (it should have stopped).</summary>
    public static async Task<ProcessResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the server was still running after 60 s with {string.Join(' ', args)}");
        }
        return new ProcessResult(process.ExitCode, await output, await error);
    }

    /// <summary>Starts the server, collects stdout until a line matches <paramref name="until"/>, then stops it.</summary>
    public static async Task<string> RunUntilAsync(string[] args, Func<string, bool> until)
    {
        using var process = Start(null, args);
        var lines = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.AppendLine(line);
                if (until(line)) return lines.ToString();
            }
            Assert.Fail($"the server exited ({await process.StandardError.ReadToEndAsync()}) before printing the line awaited:\n{lines}");
            return "";
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>A start-up error: one line on stderr, "error: ...", no stack trace anywhere, nothing on stdout.</summary>
    public static string AssertOneLineError(ProcessResult result, int exitCode)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr:\n{result}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", result.Out + result.Error);
        Assert.DoesNotContain("Exception", result.Out + result.Error);
        return lines[0];
    }
}
