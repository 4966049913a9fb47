using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace BitNet.Server.Tests.Browser;

/// <summary>
/// One browser tab driven the way a user would: real mouse clicks at an element's position and real keyboard input
/// (DevTools Input domain), with JavaScript used only to find elements and read the page. Uncaught page errors are
/// collected so tests can assert there were none.
/// </summary>
internal sealed class BrowserPage : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    private readonly CdpConnection _cdp;
    private readonly Func<Task> _close;
    private readonly ConcurrentQueue<string> _errors = new();

    private BrowserPage(CdpConnection cdp, Func<Task> close)
    {
        _cdp = cdp;
        _close = close;
        _cdp.EventReceived += OnEvent;
    }

    /// <summary>Uncaught exceptions and console.error messages of the page so far.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    /// <summary>Wraps a page's DevTools session; <paramref name="close"/> runs after it is disposed (closes the tab's context).</summary>
    public static async Task<BrowserPage> AttachAsync(CdpConnection cdp, Func<Task> close)
    {
        var page = new BrowserPage(cdp, close);
        await cdp.SendAsync("Page.enable");
        await cdp.SendAsync("Runtime.enable");
        return page;
    }

    /// <summary>Loads a URL and waits until the document (and its module scripts) finished loading.</summary>
    public async Task NavigateAsync(Uri url)
    {
        var result = await _cdp.SendAsync("Page.navigate", new { url = url.ToString() });
        if (result.TryGetProperty("errorText", out var error)) throw new InvalidOperationException($"navigation to {url} failed: {error}");
        await WaitForAsync("document.readyState === 'complete'", $"{url} to finish loading");
    }

    /// <summary>Evaluates an expression (promises awaited) and returns its JSON value; page exceptions fail the test.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await _cdp.SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result.TryGetProperty("exceptionDetails", out var details))
            throw new InvalidOperationException($"page script failed: {Describe(details)}\nscript: {expression}");
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value : default;
    }

    /// <summary>
    /// Polls an expression until it returns something truthy (returned), or fails after the timeout naming what was
    /// awaited and what the page showed at that moment.
    /// </summary>
    public async Task<JsonElement> WaitForAsync(string expression, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultWait;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await EvaluateAsync($"(() => {{ try {{ return ({expression}); }} catch {{ return null; }} }})()");
            if (value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.False)
                && !(value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 0))
                return value;
            if (clock.Elapsed > limit)
            {
                var body = await EvaluateAsync("document.body ? document.body.innerText : '(no body)'");
                Assert.Fail($"timed out after {limit.TotalSeconds:0} s waiting for {what}.\nThe page shows:\n{body}\nPage errors: {string.Join("; ", _errors)}");
            }
            await Task.Delay(25);
        }
    }

    public async Task<string> TextAsync(string selector) =>
        (await EvaluateAsync($"document.querySelector({Js(selector)})?.textContent ?? null")).GetString()
        ?? throw new InvalidOperationException($"no element matches {selector}");

    /// <summary>Clicks the centre of an element with a real mouse press and release.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($$"""
            (() => {
              const el = document.querySelector({{Js(selector)}});
              if (!el) return null;
              el.scrollIntoView({ block: 'center' });
              const r = el.getBoundingClientRect();
              return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
            })()
            """);
        if (box.ValueKind != JsonValueKind.Object) throw new InvalidOperationException($"no element matches {selector}");
        Assert.True(box.GetProperty("w").GetDouble() > 0 && box.GetProperty("h").GetDouble() > 0, $"{selector} is not visible, so it cannot be clicked");
        double x = box.GetProperty("x").GetDouble(), y = box.GetProperty("y").GetDouble();
        await _cdp.SendAsync("Input.dispatchMouseEvent", new { type = "mouseMoved", x, y });
        await _cdp.SendAsync("Input.dispatchMouseEvent", new { type = "mousePressed", x, y, button = "left", clickCount = 1 });
        await _cdp.SendAsync("Input.dispatchMouseEvent", new { type = "mouseReleased", x, y, button = "left", clickCount = 1 });
    }

    /// <summary>Replaces the text of an input or textarea as typed text (input events fire as for a user).</summary>
    public async Task FillAsync(string selector, string text)
    {
        var found = await EvaluateAsync($"(() => {{ const el = document.querySelector({Js(selector)}); if (!el) return false; el.focus(); el.select(); return true; }})()");
        Assert.True(found.GetBoolean(), $"no element matches {selector}");
        await _cdp.SendAsync("Input.insertText", new { text });
    }

    /// <summary>Presses Enter in the focused element (the composer sends on Enter).</summary>
    public async Task PressEnterAsync()
    {
        await _cdp.SendAsync("Input.dispatchKeyEvent", new { type = "keyDown", key = "Enter", code = "Enter", windowsVirtualKeyCode = 13, text = "\r" });
        await _cdp.SendAsync("Input.dispatchKeyEvent", new { type = "keyUp", key = "Enter", code = "Enter", windowsVirtualKeyCode = 13 });
    }

    /// <summary>Emulates a viewport (e.g. a phone) without restarting the browser.</summary>
    public Task SetViewportAsync(int width, int height, bool mobile) =>
        _cdp.SendAsync("Emulation.setDeviceMetricsOverride", new { width, height, deviceScaleFactor = 1, mobile });

    /// <summary>Saves a PNG of the viewport and returns its full path.</summary>
    public async Task<string> ScreenshotAsync(string path)
    {
        var shot = await _cdp.SendAsync("Page.captureScreenshot", new { format = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot.GetProperty("data").GetString()!));
        return Path.GetFullPath(path);
    }

    /// <summary>A JavaScript string literal for a value (selectors and text are never spliced into scripts raw).</summary>
    public static string Js(string value) => JsonSerializer.Serialize(value);

    private void OnEvent(string method, JsonElement parameters)
    {
        if (method == "Runtime.exceptionThrown")
            _errors.Enqueue(Describe(parameters.GetProperty("exceptionDetails")));
        else if (method == "Runtime.consoleAPICalled" && parameters.GetProperty("type").GetString() == "error")
            _errors.Enqueue("console.error: " + parameters.GetProperty("args").ToString());
    }

    private static string Describe(JsonElement details) =>
        details.TryGetProperty("exception", out var e) && e.TryGetProperty("description", out var d)
            ? d.GetString() ?? details.ToString()
            : details.GetProperty("text").GetString() ?? details.ToString();

    public async ValueTask DisposeAsync()
    {
        await _cdp.DisposeAsync();
        await _close();
    }
}
