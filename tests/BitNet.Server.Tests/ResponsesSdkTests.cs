using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using BitNet.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the SDK marks its Responses client experimental

namespace BitNet.Server.Tests;

/// <summary>A server that keeps only two responses, so the third evicts the first.</summary>
public sealed class SmallResponseStoreServer : ServerFixture
{
    public const int StoreSize = 2;

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:ResponseStoreSize"] = StoreSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// The official OpenAI .NET SDK's ResponsesClient against /v1/responses: a plain response, a streamed one (the SDK's
/// typed updates in order), text.format json_schema validated with JsonSchema.Net, a previous_response_id follow-up,
/// GET and DELETE, and the 404 the SDK raises for a response the bounded store has evicted.
/// </summary>
public sealed class ResponsesSdkTests(SmallResponseStoreServer server) : IClassFixture<SmallResponseStoreServer>
{
    private ResponsesClient NewClient() => new(new ApiKeyCredential("sk-any-key-works-without-auth"), new ResponsesClientOptions
    {
        Endpoint = new Uri(server.Factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(server.Factory.CreateClient()),
        NetworkTimeout = TimeSpan.FromMinutes(2),
    });

    private CreateResponseOptions Options(string input, int maxTokens, float temperature = 0f)
    {
        var options = new CreateResponseOptions { Model = server.ModelId, MaxOutputTokenCount = maxTokens, Temperature = temperature };
        options.InputItems.Add(ResponseItem.CreateUserMessageItem(input));
        return options;
    }

    [Fact]
    public async Task The_sdk_creates_and_reads_a_response()
    {
        var client = NewClient();
        var options = Options("Tell me a story about a dragon.", 20);
        options.Instructions = "You tell stories.";
        ResponseResult response = await client.CreateResponseAsync(options);

        Assert.StartsWith("resp_", response.Id);
        Assert.Equal(server.ModelId, response.Model);
        Assert.NotEmpty(response.GetOutputText());
        Assert.True(response.Status is ResponseStatus.Completed or ResponseStatus.Incomplete, $"{response.Status}");
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
        Assert.Equal(response.GetOutputText(), message.Content[0].Text);
        Assert.True(response.Usage.OutputTokenCount is > 0 and <= 20);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);

        ResponseResult read = await client.GetResponseAsync(response.Id);
        Assert.Equal(response.GetOutputText(), read.GetOutputText());
        var deleted = await client.DeleteResponseAsync(response.Id);
        Assert.True(deleted.Value.Deleted);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(response.Id));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task The_sdk_streams_a_response_as_typed_updates()
    {
        var client = NewClient();
        string expected = (await client.CreateResponseAsync(Options("Once upon a time", 24))).Value.GetOutputText();

        var options = Options("Once upon a time", 24);
        options.StreamingEnabled = true;
        var text = new StringBuilder();
        var kinds = new List<string>();
        int sequence = 0;
        ResponseResult? final = null;
        await foreach (StreamingResponseUpdate update in await client.CreateResponseStreamingAsync(options))
        {
            Assert.Equal(sequence++, update.SequenceNumber);
            kinds.Add(update.GetType().Name);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate delta:
                    text.Append(delta.Delta);
                    break;
                case StreamingResponseCompletedUpdate completed:
                    final = completed.Response;
                    break;
                case StreamingResponseIncompleteUpdate incomplete:
                    final = incomplete.Response;
                    break;
            }
        }
        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseInProgressUpdate), kinds[1]);
        Assert.Equal(nameof(StreamingResponseOutputItemAddedUpdate), kinds[2]);
        Assert.Equal(nameof(StreamingResponseContentPartAddedUpdate), kinds[3]);
        Assert.Equal(nameof(StreamingResponseOutputTextDoneUpdate), kinds[^4]);
        Assert.Equal(nameof(StreamingResponseContentPartDoneUpdate), kinds[^3]);
        Assert.Equal(nameof(StreamingResponseOutputItemDoneUpdate), kinds[^2]);
        Assert.NotNull(final);
        Assert.Equal(expected, text.ToString());
        Assert.Equal(expected, final!.GetOutputText());
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task Json_schema_text_format_validates(float temperature)
    {
        var options = Options("Describe a person.", 60, temperature);
        options.TextOptions = new ResponseTextOptions
        {
            TextFormat = ResponseTextFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(ResponsesTests.PersonSchema), jsonSchemaIsStrict: true),
        };
        for (int attempt = 0; attempt < 3; attempt++)
        {
            ResponseResult response = await NewClient().CreateResponseAsync(options);
            Assert.Equal(ResponseStatus.Completed, response.Status);
            ResponsesTests.AssertValid(ResponsesTests.PersonSchema, response.GetOutputText());
        }
    }

    [Fact]
    public async Task A_follow_up_continues_and_an_evicted_response_is_a_404()
    {
        var client = NewClient();
        ResponseResult first = await client.CreateResponseAsync(Options("My dog is called Rex.", 8));
        var followUp = Options("What is my dog called?", 8);
        followUp.PreviousResponseId = first.Id;
        ResponseResult second = await client.CreateResponseAsync(followUp);
        Assert.Equal(first.Id, second.PreviousResponseId);
        Assert.True(second.Usage.InputTokenCount > first.Usage.InputTokenCount + first.Usage.OutputTokenCount);

        // The store keeps two: two more responses push `first` out.
        for (int i = 0; i < SmallResponseStoreServer.StoreSize; i++) await client.CreateResponseAsync(Options($"Filler {i}.", 2));
        var evicted = Options("Still there?", 4);
        evicted.PreviousResponseId = first.Id;
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(evicted));
        Assert.Equal(404, error.Status);
        Assert.Contains("previous_response_not_found", error.GetRawResponse()!.Content.ToString());
    }
}
