using System.CommandLine;
using System.Globalization;
using BitNet.Runtime.Download;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet pull hf:owner/repo[:file.gguf] [--cache DIR] [--hub URL]`: downloads (or resumes, or finds in the cache)
/// a model file; progress goes to stderr, the local path to stdout (so `bitnet info $(bitnet pull ...)` works).
/// A gated repository needs HF_TOKEN in the environment (a command-line token would show in `ps`).
/// </summary>
internal static class PullCommand
{
    public static Command Create()
    {
        var reference = new Argument<string>("reference") { Description = "hf:owner/repo[@revision][:file.gguf], hf://owner/repo/file.gguf or a local path" };
        var cache = new Option<string?>("--cache") { Description = "Cache directory (default: $BITNET_CACHE, else $XDG_CACHE_HOME/bitnet, else ~/.cache/bitnet)" };
        var hub = new Option<string>("--hub") { Description = "Hub base URL (a mirror)", DefaultValueFactory = _ => ModelDownloadOptions.DefaultHubBaseUrl };
        var cmd = new Command("pull", "Download a model from a Hugging Face hub into the local cache") { reference, cache, hub };
        cmd.SetAction((r, cancellationToken) => RunAsync(r.GetValue(reference)!, r.GetValue(cache), r.GetValue(hub)!, cancellationToken));
        return cmd;
    }

    private static async Task<int> RunAsync(string text, string? cacheDir, string hubUrl, CancellationToken commandToken)
    {
        // Ctrl+C stops the download cleanly (the .part stays for a resume); a second Ctrl+C kills as usual. Handled
        // here because System.CommandLine only forwards Ctrl+C when a ProcessTerminationTimeout is configured.
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(commandToken);
        var cancellationToken = cancel.Token;
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            e.Cancel = !cancel.IsCancellationRequested;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        var bar = new ProgressLine();
        try
        {
            var reference = ModelReference.Parse(text);
            var options = new ModelDownloadOptions
            {
                HubBaseUrl = hubUrl,
                CacheDirectory = cacheDir is null ? ModelDownloadOptions.DefaultCacheDirectory() : Path.GetFullPath(cacheDir),
            };
            using var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) })
            {
                Timeout = TimeSpan.FromMinutes(2), // until the headers; the downloader watches stalled bodies itself
            };
            string path = await new ModelDownloader(http, options).EnsureLocalAsync(reference, bar, cancellationToken);
            bar.Finish();
            Console.WriteLine(path);
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            bar.Finish();
            Console.Error.WriteLine("cancelled; the partial download is kept: run the same command again to resume");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or InvalidOperationException
            or UnauthorizedAccessException)
        {
            // The same contract as CliRunner.Run (which only takes synchronous bodies): one line, no stack trace.
            bar.Finish();
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }

    /// <summary>
    /// One self-overwriting stderr line ("\r"): name, percent, bar, MB done/total, speed, ETA. Redirected stderr gets
    /// a plain line every 10% instead, so logs stay readable. Called on the download's thread, never concurrently.
    /// </summary>
    private sealed class ProgressLine : IProgress<DownloadProgress>
    {
        private const int BarWidth = 24;
        private readonly bool _interactive = !Console.IsErrorRedirected;
        private int _lastDecile = -1;
        private int _lastWidth;
        private bool _drawn;

        public void Report(DownloadProgress p)
        {
            var inv = CultureInfo.InvariantCulture;
            string speed = p.BytesPerSecond > 0 ? $"{p.BytesPerSecond / 1e6:F1} MB/s" : "";
            string line;
            if (p.TotalBytes is long total && p.Fraction is double f)
            {
                int filled = (int)(f * BarWidth);
                string eta = p.BytesPerSecond > 0 ? " ETA " + FormatDuration((total - p.BytesDone) / p.BytesPerSecond) : "";
                line = string.Create(inv, $"{p.FileName} {f * 100,5:F1}% [{new string('#', filled)}{new string('.', BarWidth - filled)}] " +
                    $"{p.BytesDone / 1e6:F1}/{total / 1e6:F1} MB {speed}{eta}");
                if (!_interactive)
                {
                    int decile = (int)(f * 10);
                    if (decile == _lastDecile) return;
                    _lastDecile = decile;
                }
            }
            else
            {
                line = string.Create(inv, $"{p.FileName} {p.BytesDone / 1e6:F1} MB {speed}");
                if (!_interactive) return;
            }
            if (_interactive)
            {
                Console.Error.Write("\r" + line.PadRight(_lastWidth));
                _lastWidth = line.Length;
                _drawn = true;
            }
            else
            {
                Console.Error.WriteLine(line);
            }
        }

        public void Finish()
        {
            if (_drawn) Console.Error.WriteLine();
            _drawn = false;
        }

        private static string FormatDuration(double seconds)
        {
            if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds > 99 * 3600) return "?";
            var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
            return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
        }
    }
}
