using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>
/// Chat answers start with a word or a quote, never with the ':' the plain format's "Assistant:" invites (the bundled
/// model wrote ":: Hello" for some seeds), streamed or not; text completions continue their prompt untouched.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ChatAnswerStartTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    private JsonObject FavourColon()
    {
        var tokenizer = server.Host.Tokenizer!;
        int colon = Enumerable.Range(0, tokenizer.VocabSize).First(id => tokenizer.TokenText(id) == ":");
        return new JsonObject { [colon.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 };
    }

    [Fact]
    public async Task A_chat_answer_never_starts_with_a_colon_even_when_the_model_wants_one()
    {
        var body = Api.ChatBody("Hello!", 6).With("logit_bias", FavourColon());
        string text = (await _client.PostOkAsync(Api.Chat, body)).Content();
        Assert.NotEmpty(text);
        Assert.DoesNotContain(text[0], ":;,.!?)]}\n ");

        string streamed = Sse.ChatText(Sse.Chunks(await _client.PostStreamAsync(Api.Chat, Api.ChatBody("Hello!", 6).With("logit_bias", FavourColon()).With("stream", true))));
        Assert.Equal(text, streamed);

        // The same bias on a text completion: its continuation is the model's, colon and all.
        var completion = await _client.PostOkAsync(Api.Completions, Api.CompletionBody("Hello", 3).With("logit_bias", FavourColon()));
        Assert.StartsWith(":", completion.Choice().GetProperty("text").GetString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task Sampled_chat_answers_start_with_a_word_or_a_quote(int seed)
    {
        var body = Api.ChatBody("Hello!", 4).With("temperature", 1.0).With("seed", seed);
        string text = (await _client.PostOkAsync(Api.Chat, body)).Content();
        if (text.Length > 0) Assert.DoesNotContain(text[0], ":;,.!?)]}\n ");
    }
}
