using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Browser;

namespace BitNet.Server.Tests.Ollama;

/// <summary>The default server on a real Kestrel socket, shared by <see cref="OllamaClientTests"/>.</summary>
public sealed class OllamaSocketFixture : IAsyncLifetime
{
    internal KestrelServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await KestrelServer.StartAsync(new Dictionary<string, string> { ["BitNet:Parallel"] = "4" });

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>
/// The official `ollama` npm client (list, show, chat streamed and not, generate, embed, an unknown model) against the
/// server over a real socket, and its results checked against the server's own answers over raw HTTP.
/// </summary>
public sealed class OllamaClientTests(OllamaSocketFixture fixture) : IClassFixture<OllamaSocketFixture>
{
    [Fact]
    public async Task Ollama_npm_client_lists_shows_chats_generates_and_embeds()
    {
        var server = fixture.Server;
        string name = server.Host.ModelId + ":latest";
        var output = JsonDocument.Parse(await NodeOllamaClient.RunAsync(server.Address, name)).RootElement;

        var listed = output.GetProperty("list")[0];
        Assert.Equal(name, listed.GetProperty("name").GetString());
        Assert.Equal(new FileInfo(TestPaths.BundledModel).Length, listed.GetProperty("size").GetInt64());
        Assert.Equal("gguf", listed.GetProperty("format").GetString());

        var show = output.GetProperty("show");
        Assert.Contains("completion", show.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("embedding", show.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(server.Host.Engine!.ContextLength, show.GetProperty("context").GetInt32());

        // Greedy decoding: streamed and whole answers are the same text, and the same as /api/chat over raw HTTP.
        var chat = output.GetProperty("chat");
        var chatStream = output.GetProperty("chatStream");
        string content = chat.GetProperty("content").GetString()!;
        Assert.NotEmpty(content);
        Assert.Equal(content, chatStream.GetProperty("content").GetString());
        Assert.True(chatStream.GetProperty("parts").GetInt32() > 1, "the chat was not streamed in pieces");
        Assert.InRange(chat.GetProperty("eval_count").GetInt32(), 1, 12);
        Assert.Equal(chat.GetProperty("eval_count").GetInt32(), chatStream.GetProperty("eval_count").GetInt32());
        Assert.True(chat.GetProperty("total_duration").GetInt64() >= chat.GetProperty("eval_duration").GetInt64());
        Assert.Equal(chat.GetProperty("eval_count").GetInt32() == 12 ? "length" : "stop", chat.GetProperty("done_reason").GetString());

        using var http = new HttpClient { BaseAddress = server.Address };
        var raw = await http.PostAsJsonAsync("api/chat", new JsonObject
        {
            ["model"] = name, ["stream"] = false,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a story about a cat." }),
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 12, ["seed"] = 7 },
        });
        var rawChat = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(content, rawChat.GetProperty("message").GetProperty("content").GetString());

        // Raw generate continues the prompt as /v1/completions does.
        string generated = output.GetProperty("generate").GetProperty("response").GetString()!;
        Assert.Equal(generated, output.GetProperty("generateStream").GetProperty("response").GetString());
        var completion = await http.PostAsJsonAsync("v1/completions", new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 12, ["temperature"] = 0 });
        var completionText = JsonDocument.Parse(await completion.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString();
        Assert.Equal(completionText, generated);

        var embed = output.GetProperty("embed");
        Assert.Equal(2, embed.GetProperty("count").GetInt32());
        Assert.Equal(server.Host.Engine.Model.Config.Embedding, embed.GetProperty("width").GetInt32());
        var direct = await server.Host.Engine.EmbedAsync(server.Host.Tokenizer!.Encode("The dog ran in the park.", server.Host.Tokenizer.AddBos, false));
        var first = embed.GetProperty("first").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (int i = 0; i < first.Length; i++) Assert.Equal(direct[i], first[i], 1e-6f);

        var unknown = output.GetProperty("unknownModel");
        Assert.Equal(404, unknown.GetProperty("status").GetInt32());
        Assert.Equal("model \"no-such-model:7b\" not found, try pulling it first", unknown.GetProperty("error").GetString());
    }
}
