using System.Diagnostics;

namespace BitNet.Server.Tests.Ollama;

/// <summary>
/// The official `ollama` npm client in tests/BitNet.Server.Tests/ollama-client, installed from its package-lock.json
/// (`npm ci`, once per clone; CI runs on a clean clone) and run with Node. Node is required: when it is missing the
/// test fails saying so instead of skipping, so CI cannot pass without having run the real client.
/// </summary>
internal static class NodeOllamaClient
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    public static string Folder => Path.Combine(TestPaths.RepoRoot, "tests", "BitNet.Server.Tests", "ollama-client");

    /// <summary>Runs client-test.mjs against <paramref name="host"/>; returns its stdout (one JSON object).</summary>
    public static async Task<string> RunAsync(Uri host, string model)
    {
        await EnsureInstalledAsync();
        var (code, stdout, stderr) = await RunProcessAsync("node", ["client-test.mjs", host.ToString().TrimEnd('/'), model], TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"the ollama client script failed (exit {code}).\nstderr:\n{stderr}\nstdout:\n{stdout}");
        return stdout;
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Folder, "node_modules", "ollama", "package.json"))) return;
            var (code, stdout, stderr) = await RunProcessAsync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"npm ci in {Folder} failed (exit {code}); the npm registry must be reachable once per clone.\n{stderr}\n{stdout}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunProcessAsync(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"'{file}' is not installed or not on PATH ({e.Message}); the Ollama client test needs Node.js and npm (apt-get install nodejs npm)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
            }
            return (process.ExitCode, await stdout, await stderr);
        }
    }
}
