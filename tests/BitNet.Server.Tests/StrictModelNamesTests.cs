using System.Net;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>With StrictModelNames the server refuses names it does not serve, as OpenAI does.</summary>
public sealed class StrictModelNamesTests(StrictModelNamesServer server) : IClassFixture<StrictModelNamesServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task An_unknown_model_is_404_model_not_found()
    {
        using var chat = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 4).With("model", "gpt-4o"));
        var error = await Api.AssertErrorAsync(chat, HttpStatusCode.NotFound, "not_found_error", "model_not_found");
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Contains("gpt-4o", error.GetProperty("message").GetString());

        using var completion = await _client.PostAsync(Api.Completions, Api.CompletionBody(maxTokens: 4).With("model", "gpt-3.5-turbo-instruct"));
        await Api.AssertErrorAsync(completion, HttpStatusCode.NotFound, "not_found_error", "model_not_found");
    }

    [Fact]
    public async Task The_served_alias_and_no_name_at_all_are_accepted()
    {
        var named = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 2).With("model", server.ModelId));
        Assert.Equal(server.ModelId, named.GetProperty("model").GetString());
        await _client.PostOkAsync(Api.Completions, Api.CompletionBody(maxTokens: 2));
    }
}
