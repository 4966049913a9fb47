using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using static BitNet.Server.Tests.Browser.BrowserPage;

namespace BitNet.Server.Tests.Browser;

/// <summary>
/// The demo chat page at / in a real headless Chromium against the real server: what a user sees and does.
/// Screenshots go to {test output}/screenshots/ (the paths are printed).
/// </summary>
public sealed partial class ChatPageTests(ChatPageFixture fixture, ITestOutputHelper output) : IClassFixture<ChatPageFixture>
{
    private const int MaxTokens = 24;
    private static readonly string ScreenshotDirectory = Path.Combine(AppContext.BaseDirectory, "screenshots");

    private KestrelServer Server => fixture.Server;

    [Fact]
    public async Task Chat_streams_answers_shows_timings_and_keeps_the_conversation()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);

        // The model panel describes the loaded model.
        string modelId = Server.Host.ModelId;
        await page.WaitForAsync($"document.getElementById('model-id').textContent === {Js(modelId)}", $"the model id '{modelId}' in the model panel");
        Assert.Equal(Server.Host.ChatFormat!.Name, await page.TextAsync("#model-format"));
        Assert.Equal(Server.Host.Engine!.Model.Config.Architecture, await page.TextAsync("#model-arch"));
        Assert.Matches(@"^[\d,]+ tokens$", await page.TextAsync("#model-ctx"));
        Assert.NotEqual("—", await page.TextAsync("#model-kernels"));
        Assert.StartsWith("Ready", await page.TextAsync("#status"));

        // Greedy settings, typed into the form like a user would, so the answer can be compared with the API's.
        await UseGreedyAsync(page, MaxTokens);
        await RecordAnswerGrowthAsync(page);

        // Turn 1, sent with the keyboard.
        const string first = "Tell me a story about a little cat.";
        await page.FillAsync("#prompt", first);
        await page.PressEnterAsync();
        await page.WaitForAsync("document.querySelector('.msg.assistant .text')?.textContent.length > 0", "the first streamed text");
        var turn1 = await WaitForAnswerAsync(page, 1);

        // The text was rendered in several steps as tokens arrived, only ever growing.
        var lengths = (await page.EvaluateAsync("window.__answerLengths")).EnumerateArray().Select(e => e.GetInt32()).ToList();
        output.WriteLine($"answer 1 rendered at lengths {string.Join(",", lengths)}");
        Assert.True(lengths.Count >= 3, $"the answer appeared in {lengths.Count} step(s); a streamed answer grows token by token");
        for (int i = 1; i < lengths.Count; i++) Assert.True(lengths[i] > lengths[i - 1], $"the answer text shrank: {string.Join(",", lengths)}");

        // What the page assembled from the deltas is exactly the API's own (non-streamed, greedy) answer.
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = first });
        var api1 = await ChatAsync(messages);
        Assert.Equal(api1.Text, turn1.Text);
        Assert.Equal(api1.PromptTokens, turn1.PromptTokens);
        Assert.Equal(api1.CompletionTokens, turn1.CompletionTokens);

        // Turn 2, sent with the mouse: the page sends the whole conversation (same prompt size as the API computes).
        const string second = "What did the cat do next?";
        await page.FillAsync("#prompt", second);
        await page.ClickAsync("#send");
        var turn2 = await WaitForAnswerAsync(page, 2);
        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = turn1.Text });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = second });
        var api2 = await ChatAsync(messages);
        Assert.Equal(api2.PromptTokens, turn2.PromptTokens);
        Assert.Equal(api2.Text, turn2.Text);
        Assert.True(turn2.PromptTokens > turn1.PromptTokens + turn1.CompletionTokens / 2, "turn 2's prompt does not include turn 1");

        await SaveScreenshotAsync(page, "chat-page.png");
        // On a phone-sized screen the settings fold into a drawer behind the Settings button.
        await page.SetViewportAsync(390, 844, mobile: true);
        await SaveScreenshotAsync(page, "chat-page-narrow.png");
        Assert.True((await page.EvaluateAsync("document.documentElement.scrollWidth <= 390")).GetBoolean(),
            "the page scrolls sideways on a 390 px wide screen");
        Assert.Equal(0, (await page.EvaluateAsync("document.getElementById('sidebar').getBoundingClientRect().height")).GetDouble());
        await page.ClickAsync("#toggle-sidebar");
        await page.WaitForAsync("document.getElementById('sidebar').getBoundingClientRect().height > 0", "the settings drawer to open");
        Assert.Equal("true", (await page.EvaluateAsync("document.getElementById('toggle-sidebar').getAttribute('aria-expanded')")).GetString());
        await SaveScreenshotAsync(page, "chat-page-narrow-settings.png");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Three_turns_at_default_settings_all_get_an_answer()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);
        // Other tests typed settings, which the page keeps in localStorage: start from a first visit's defaults.
        await page.EvaluateAsync("localStorage.clear()");
        await page.NavigateAsync(Server.Address);
        await page.WaitForAsync("document.getElementById('status').dataset.state === 'ready'", "the model to be ready");
        int context = Server.Host.Engine!.ContextLength;
        int pageDefault = Math.Clamp(context / 4, 16, 512);
        Assert.Equal($"default ({pageDefault})", (await page.EvaluateAsync("document.querySelector('input[name=max_tokens]').placeholder")).GetString());

        string[] messages = ["Tell me a story about a dragon.", "What did the dragon do next?", "How did the story end?"];
        for (int n = 1; n <= messages.Length; n++)
        {
            await page.FillAsync("#prompt", messages[n - 1]);
            await page.PressEnterAsync();
            var answer = await WaitForAnswerAsync(page, n, maxTokens: pageDefault);
            Assert.DoesNotContain("<s>", answer.Text);
            Assert.True(answer.PromptTokens + pageDefault <= context, $"turn {n}: {answer.PromptTokens} prompt tokens leave no room for an answer");
            string finish = (await page.EvaluateAsync($"document.querySelectorAll('.msg.assistant')[{n - 1}].querySelector('.stats').dataset.finish")).GetString()!;
            Assert.Contains(finish, new[] { "stop", "length", "context_full" });
            string stats = await page.TextAsync($".msg.assistant:nth-of-type({2 * n}) .stats");
            Assert.Contains(finish switch { "stop" => "finish: stop", "length" => "finish: max tokens", _ => "finish: context full" }, stats);
        }
        await SaveScreenshotAsync(page, "chat-page-three-turns.png");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task A_conversation_longer_than_the_context_drops_its_oldest_turns_and_says_so()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);
        await page.WaitForAsync("document.getElementById('status').dataset.state === 'ready'", "the model to be ready");
        int context = Server.Host.Engine!.ContextLength;
        await UseGreedyAsync(page, 100);

        // About 200 tokens per message: the third turn cannot fit with the first two in a 512-token context.
        string message = string.Concat(Enumerable.Repeat("Lily and Tom played with a red ball in the park. ", 11)).Trim();
        int messageTokens = Server.Host.Tokenizer!.Encode(message, addBos: false, parseSpecial: false).Length;
        Assert.InRange(messageTokens, context / 3, context / 2);
        for (int n = 1; n <= 3; n++)
        {
            await page.FillAsync("#prompt", message);
            await page.PressEnterAsync();
            var answer = await WaitForAnswerAsync(page, n, maxTokens: 100);
            Assert.True(answer.PromptTokens + 100 <= context);
        }
        string note = await page.TextAsync(".msg.assistant:nth-of-type(6) .trimmed");
        Assert.Contains($"{context}-token context", note);
        Assert.Matches(@"The \d+ oldest messages? no longer fit", note);
        int dropped = (await page.EvaluateAsync("document.querySelectorAll('.msg.dropped').length")).GetInt32();
        Assert.InRange(dropped, 1, 4);
        Assert.Equal("false", (await page.EvaluateAsync("String(document.querySelectorAll('.msg')[4].classList.contains('dropped'))")).GetString());
        await SaveScreenshotAsync(page, "chat-page-trimmed.png");
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Stop_aborts_the_stream_and_keeps_the_partial_answer()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);
        await page.WaitForAsync("document.getElementById('status').dataset.state === 'ready'", "the model to be ready");

        // The tiny model can finish a whole answer faster than a round trip from the test, so the click is made in
        // the page on the first rendered token: a mutation observer runs before the next event is rendered.
        await page.EvaluateAsync("""
            (() => {
              window.__stopWasVisible = null;
              const observer = new MutationObserver(() => {
                const stop = document.getElementById('stop');
                if (document.querySelector('.msg.assistant .text')?.textContent.length > 0) {
                  window.__stopWasVisible = !stop.hidden && stop.getBoundingClientRect().width > 0;
                  observer.disconnect();
                  stop.click();
                }
              });
              observer.observe(document.getElementById('messages'), { subtree: true, characterData: true, childList: true });
              return true;
            })()
            """);
        await UseGreedyAsync(page, 200);
        await page.FillAsync("#prompt", "Once upon a time");
        await page.PressEnterAsync();
        string state = (await page.WaitForAsync("document.querySelector('.msg.assistant')?.dataset.state", "the answer to end")).GetString()!;

        string stats = await page.TextAsync(".msg.assistant .stats");
        string text = await page.TextAsync(".msg.assistant .text");
        output.WriteLine($"state {state}: '{text}' {stats}");
        Assert.True((await page.EvaluateAsync("window.__stopWasVisible")).GetBoolean(), "the Stop button was not visible while streaming");
        Assert.Equal("stopped", state);
        Assert.Contains("finish: stopped", stats);
        Assert.NotEmpty(text); // the partial answer stays on screen
        Assert.True((await page.EvaluateAsync("document.getElementById('stop').hidden && !document.getElementById('send').disabled")).GetBoolean(),
            "after Stop the Send button is back and Stop is hidden");

        // The stopped turn stays in the conversation: the next request carries it.
        await UseGreedyAsync(page, 4);
        await page.FillAsync("#prompt", "And then?");
        await page.ClickAsync("#send");
        var next = await WaitForAnswerAsync(page, 2, maxTokens: 4);
        Assert.Equal((await ChatAsync(new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" },
            new JsonObject { ["role"] = "assistant", ["content"] = text },
            new JsonObject { ["role"] = "user", ["content"] = "And then?" }), maxTokens: 4)).PromptTokens, next.PromptTokens);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Request_errors_are_shown_inline_and_the_failed_turn_is_not_sent_again()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);
        await page.WaitForAsync("document.getElementById('status').dataset.state === 'ready'", "the model to be ready");

        // One token more than the context holds: the server refuses with a 400 before streaming.
        int context = Server.Host.Engine!.ContextLength;
        await UseGreedyAsync(page, context + 1);
        await page.FillAsync("#prompt", "Hello there");
        await page.PressEnterAsync();
        await page.WaitForAsync("document.querySelector('.msg.assistant')?.dataset.state === 'failed'", "the failed answer");
        Assert.StartsWith($"400: This model's maximum context length is {context} tokens", await page.TextAsync(".msg.assistant .error"));
        Assert.Equal("Hello there", (await page.EvaluateAsync("document.getElementById('prompt').value")).GetString());

        // Fixed and sent again: the request holds only this turn, not the failed one.
        await UseGreedyAsync(page, 4);
        await page.ClickAsync("#send");
        var answer = await WaitForAnswerAsync(page, 2, maxTokens: 4);
        var api = await ChatAsync(new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hello there" }), maxTokens: 4);
        Assert.Equal(api.PromptTokens, answer.PromptTokens);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Sse_parser_handles_events_split_at_every_byte_and_keep_alive_comments()
    {
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(Server.Address);

        // The page's own module, in the browser that runs it: every split position of a stream with CRLF, pings,
        // a multi-line event and a two-byte character must give the same three payloads.
        var result = await page.EvaluateAsync("""
            (async () => {
              const { createSseParser } = await import('/js/sse.js');
              const stream = ': ping\n\ndata: {"a":"é"}\r\n\r\ndata: x\ndata: y\n\n: ping\n\ndata: [DONE]\n\n';
              const want = JSON.stringify(['{"a":"é"}', 'x\ny', '[DONE]']);
              for (let size = 1; size <= stream.length; size++) {
                const got = [];
                const parser = createSseParser((d) => got.push(d));
                for (let i = 0; i < stream.length; i += size) parser.push(stream.slice(i, i + size));
                parser.end();
                if (JSON.stringify(got) !== want) return `split every ${size}: ${JSON.stringify(got)}`;
              }
              return 'ok';
            })()
            """);
        Assert.Equal("ok", result.GetString());
    }

    [Fact]
    public async Task Api_key_is_asked_for_on_401_and_used_once_entered()
    {
        const string key = "sk-browser-test-key";
        await using var server = await KestrelServer.StartAsync(new Dictionary<string, string> { ["BitNet:ApiKeys:0"] = key });
        await using var page = await fixture.Browser.NewPageAsync();
        await page.NavigateAsync(server.Address);

        // Without a key the page explains what is needed instead of showing a bare 401.
        await page.WaitForAsync("!document.getElementById('key-message').hidden", "the API key message");
        Assert.Contains("requires an API key", await page.TextAsync("#key-message"));
        Assert.Equal("API key required", await page.TextAsync("#status"));

        // Sending anyway fails inline with the same explanation, and the prompt is given back for a retry.
        const string prompt = "Tell me about a dog.";
        await UseGreedyAsync(page, 8);
        await page.FillAsync("#prompt", prompt);
        await page.PressEnterAsync();
        await page.WaitForAsync("document.querySelector('.msg.assistant')?.dataset.state === 'failed'", "the failed answer");
        Assert.StartsWith("401: ", await page.TextAsync(".msg.assistant .error"));
        Assert.Equal(prompt, (await page.EvaluateAsync("document.getElementById('prompt').value")).GetString());
        await SaveScreenshotAsync(page, "chat-page-401.png");

        // Enter the key, save it, and the same message goes through.
        await page.FillAsync("#api-key", key);
        await page.ClickAsync("#save-key");
        await page.WaitForAsync($"document.getElementById('model-id').textContent === {Js(server.Host.ModelId)}", "the model after saving the key");
        Assert.True((await page.EvaluateAsync("document.getElementById('key-message').hidden")).GetBoolean());
        Assert.Equal(key, (await page.EvaluateAsync("localStorage.getItem('bitnet.chat.apiKey')")).GetString());
        await page.ClickAsync("#send");
        await WaitForAnswerAsync(page, 2, maxTokens: 8);
        await SaveScreenshotAsync(page, "chat-page-api-key.png");

        // The key survives a reload (kept in localStorage).
        await page.NavigateAsync(server.Address);
        await page.WaitForAsync("document.getElementById('status').dataset.state === 'ready'", "the model to load with the stored key");
        Assert.Empty(page.Errors);
    }

    private sealed record Answer(string Text, int PromptTokens, int CompletionTokens);

    /// <summary>Waits until the n-th answer has finished and returns it as the page shows it.</summary>
    private async Task<Answer> WaitForAnswerAsync(BrowserPage page, int n, int maxTokens = MaxTokens)
    {
        string state = (await page.WaitForAsync($"document.querySelectorAll('.msg.assistant')[{n - 1}]?.dataset.state", $"answer {n} to finish")).GetString()!;
        string error = (await page.EvaluateAsync($"document.querySelectorAll('.msg.assistant')[{n - 1}].querySelector('.error')?.textContent ?? ''")).GetString()!;
        Assert.True(state == "done", $"answer {n} ended as '{state}' {error}");

        var info = await page.EvaluateAsync($$"""
            (() => {
              const msg = document.querySelectorAll('.msg.assistant')[{{n - 1}}];
              const stats = msg.querySelector('.stats');
              return { text: msg.querySelector('.text').textContent, stats: stats.textContent, ...stats.dataset };
            })()
            """);
        string stats = info.GetProperty("stats").GetString()!;
        output.WriteLine($"answer {n}: {info.GetProperty("text").GetString()}\n  {stats}");
        Assert.Matches(StatsLine(), stats);
        Assert.True(double.Parse(info.GetProperty("ttftMs").GetString()!, CultureInfo.InvariantCulture) > 0, "TTFT is not positive");
        Assert.True(double.Parse(info.GetProperty("tokensPerSecond").GetString()!, CultureInfo.InvariantCulture) > 0, "tok/s is not positive");
        int completion = int.Parse(info.GetProperty("completionTokens").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(completion, 1, maxTokens);
        return new Answer(info.GetProperty("text").GetString()!,
            int.Parse(info.GetProperty("promptTokens").GetString()!, CultureInfo.InvariantCulture), completion);
    }

    /// <summary>
    /// Temperature 0 and a token limit, typed into the settings form: greedy answers are deterministic, so the
    /// tests never depend on what a sampled answer happens to be (e.g. an end of text after one token).
    /// </summary>
    private static async Task UseGreedyAsync(BrowserPage page, int maxTokens)
    {
        await page.FillAsync("input[name=temperature]", "0");
        await page.FillAsync("input[name=max_tokens]", maxTokens.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Records the length of the answer text at every change the page makes to it.</summary>
    private static Task RecordAnswerGrowthAsync(BrowserPage page) => page.EvaluateAsync("""
        (() => {
          window.__answerLengths = [];
          new MutationObserver((records) => {
            for (const r of records) {
              if (r.type === 'characterData' && r.target.parentElement?.closest('.msg.assistant'))
                window.__answerLengths.push(r.target.data.length);
            }
          }).observe(document.getElementById('messages'), { subtree: true, characterData: true });
          return true;
        })()
        """);

    /// <summary>The same chat through the API without the page: greedy, the page's max_tokens.</summary>
    private async Task<Answer> ChatAsync(JsonArray messages, int maxTokens = MaxTokens)
    {
        using var http = new HttpClient { BaseAddress = Server.Address };
        var body = new JsonObject { ["messages"] = messages.DeepClone(), ["temperature"] = 0, ["max_tokens"] = maxTokens };
        using var response = await http.PostAsync("v1/chat/completions",
            new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue("application/json")));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var root = JsonDocument.Parse(text).RootElement;
        var usage = root.GetProperty("usage");
        return new Answer(root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!,
            usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }

    private async Task SaveScreenshotAsync(BrowserPage page, string name)
    {
        // Focusing the settings inputs scrolled the sidebar; show it from the top (the model panel).
        await page.EvaluateAsync("document.getElementById('sidebar').scrollTop = 0");
        string path = await page.ScreenshotAsync(Path.Combine(ScreenshotDirectory, name));
        output.WriteLine($"screenshot: {path}");
    }

    [GeneratedRegex(@"^TTFT \d+(\.\d+)? m?s · \d+\.\d tok/s · [\d,]+ prompt · [\d,]+ completion tokens?")]
    private static partial Regex StatsLine();
}
