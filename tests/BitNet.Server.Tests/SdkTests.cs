using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using BitNet.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;

namespace BitNet.Server.Tests;

/// <summary>The official OpenAI .NET SDK and Microsoft.Extensions.AI's IChatClient parse what the server sends.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class SdkTests(DefaultServer server)
{
    private const string Question = "Tell me a story about a kind dragon.";
    private const int MaxTokens = 12;

    private ChatClient NewChatClient() => new(server.ModelId, new ApiKeyCredential("sk-any-key-works-without-auth"), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.Factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(server.Factory.CreateClient()),
    });

    /// <summary>What the server answers the same greedy request over raw HTTP.</summary>
    private async Task<string> RawAnswerAsync() =>
        (await server.Client.PostOkAsync(Api.Chat, Api.ChatBody(Question, MaxTokens).BanEndOfSequence())).Content();

    private static ChatCompletionOptions SdkOptions()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = MaxTokens };
        options.LogitBiases.Add(Infrastructure.Json.EndOfSequence, -100);
        return options;
    }

    private static ChatOptions ExtensionsOptions() => new()
    {
        Temperature = 0f,
        MaxOutputTokens = MaxTokens,
        // The logit bias (no EOS, so the answer has exactly MaxTokens tokens) rides on the SDK's own options.
        RawRepresentationFactory = _ => SdkOptions(),
    };

    [Fact]
    public async Task OpenAI_sdk_completes_a_chat()
    {
        ChatCompletion completion = await NewChatClient().CompleteChatAsync([new UserChatMessage(Question)], SdkOptions());
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(server.ModelId, completion.Model);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(await RawAnswerAsync(), completion.Content[0].Text);
        Assert.Equal(MaxTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + MaxTokens, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task OpenAI_sdk_streams_a_chat()
    {
        var text = new StringBuilder();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var ids = new HashSet<string>();
        await foreach (StreamingChatCompletionUpdate update in NewChatClient().CompleteChatStreamingAsync([new UserChatMessage(Question)], SdkOptions()))
        {
            ids.Add(update.CompletionId);
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Single(ids);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Length, finish);
        Assert.Equal(await RawAnswerAsync(), text.ToString());
        // The SDK asks for stream_options.include_usage itself and reads the choices:[] chunk.
        Assert.NotNull(usage);
        Assert.Equal(MaxTokens, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Extensions_AI_chat_client_gets_a_response()
    {
        IChatClient client = NewChatClient().AsIChatClient();
        ChatResponse response = await client.GetResponseAsync(Question, ExtensionsOptions());
        Assert.Equal(await RawAnswerAsync(), response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(MaxTokens, response.Usage?.OutputTokenCount);
        Assert.Equal(server.ModelId, response.ModelId);
    }

    [Fact]
    public async Task Extensions_AI_chat_client_streams_a_response()
    {
        IChatClient client = NewChatClient().AsIChatClient();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(Question, ExtensionsOptions())) updates.Add(update);
        ChatResponse combined = updates.ToChatResponse();
        Assert.Equal(await RawAnswerAsync(), combined.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Length, combined.FinishReason);
        Assert.Equal(MaxTokens, combined.Usage?.OutputTokenCount);
    }
}
