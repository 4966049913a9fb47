using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace BitNet.Server.Tests.Browser;

/// <summary>
/// A headless Chromium process with a throwaway profile, reached over the DevTools protocol. The browser comes from
/// the machine (Debian's <c>chromium</c> package); nothing is downloaded at test time. Starting it is the slow part,
/// so tests share one process and each gets its own browser context (separate storage, like a private window).
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _profileDirectory;
    private readonly Queue<string> _output = new(); // the last lines the browser printed, for failure messages
    private CdpConnection? _browser;                 // the browser-level DevTools session (targets and contexts)

    private Chromium(Process process, string profileDirectory)
    {
        _process = process;
        _profileDirectory = profileDirectory;
    }

    /// <summary>Starts the browser; fails (never skips) when it is not installed, saying which package to install.</summary>
    public static async Task<Chromium> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath),
            $"{ExecutablePath} is missing: the browser tests need Debian's chromium. Install it with `apt-get install -y chromium`.");

        string profile = Path.Combine(Path.GetTempPath(), "bitnet-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-extensions", "--disable-sync",
            "--no-first-run", "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
            "--force-color-profile=srgb", "--force-device-scale-factor=1", "--window-size=1280,800",
            // Port 0: Chromium picks a free port and writes it to DevToolsActivePort in the profile.
            "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ExecutablePath}");
        var browser = new Chromium(process, profile);
        process.OutputDataReceived += (_, e) => browser.Remember(e.Data);
        process.ErrorDataReceived += (_, e) => browser.Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            browser.DevToolsPort = await WaitForDevToolsPortAsync(browser);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var version = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{browser.DevToolsPort}/json/version");
            browser._browser = await CdpConnection.ConnectAsync(new Uri(version.GetProperty("webSocketDebuggerUrl").GetString()!));
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public int DevToolsPort { get; private set; }

    /// <summary>
    /// Opens a tab in a fresh browser context (no cookies or localStorage from other tests) with a 1280x800
    /// viewport; disposing the page closes the context.
    /// </summary>
    public async Task<BrowserPage> NewPageAsync()
    {
        var browser = _browser ?? throw new ObjectDisposedException(nameof(Chromium));
        string context = (await browser.SendAsync("Target.createBrowserContext")).GetProperty("browserContextId").GetString()!;
        string target = (await browser.SendAsync("Target.createTarget", new { url = "about:blank", browserContextId = context }))
            .GetProperty("targetId").GetString()!;
        var cdp = await CdpConnection.ConnectAsync(new Uri($"ws://127.0.0.1:{DevToolsPort}/devtools/page/{target}"));
        var page = await BrowserPage.AttachAsync(cdp, async () =>
        {
            await browser.SendAsync("Target.disposeBrowserContext", new { browserContextId = context });
        });
        await page.SetViewportAsync(1280, 800, mobile: false);
        return page;
    }

    public string Output
    {
        get
        {
            lock (_output) return string.Join('\n', _output);
        }
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 40) _output.Dequeue();
        }
    }

    private static async Task<int> WaitForDevToolsPortAsync(Chromium browser)
    {
        string file = Path.Combine(browser._profileDirectory, "DevToolsActivePort");
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (browser._process.HasExited)
                throw new InvalidOperationException($"Chromium exited with code {browser._process.ExitCode} at start. Its output:\n{browser.Output}");
            if (File.Exists(file))
            {
                // The file is written in one go but may be caught half-written: retry until the first line parses.
                string[] lines;
                try
                {
                    lines = await File.ReadAllLinesAsync(file);
                }
                catch (IOException)
                {
                    lines = [];
                }
                if (lines.Length > 0 && int.TryParse(lines[0], out int port) && port > 0) return port;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Chromium did not open its DevTools port within {StartTimeout.TotalSeconds} s. Its output:\n{browser.Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or refusing to die: nothing more a test can do; the profile cleanup below is best effort too.
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_profileDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A child process may still hold a file for a moment; the OS temp cleaner will take it.
        }
    }
}
