using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using BitNet.Server.Tests.Infrastructure;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the SDK marks its Responses client experimental

namespace BitNet.Server.Tests;

/// <summary>
/// Function tools on /v1/responses with the official OpenAI .NET SDK on the bundled model (512-token context, so the
/// tool is tiny): a required call validates against its schema (JsonSchema.Net), a streamed call's argument deltas
/// assemble into the final item, and a follow-up with function_call_output (inline and via previous_response_id) works.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ResponsesToolsTests(DefaultServer server)
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"],"additionalProperties":false}
        """;

    private ResponsesClient NewClient() => new(new ApiKeyCredential("sk-any"), new ResponsesClientOptions
    {
        Endpoint = new Uri(server.Factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(server.Factory.CreateClient()),
        NetworkTimeout = TimeSpan.FromMinutes(2),
    });

    private CreateResponseOptions Options(ResponseToolChoice choice, float temperature = 0f)
    {
        var options = new CreateResponseOptions { Model = server.ModelId, MaxOutputTokenCount = 100, Temperature = temperature, ToolChoice = choice };
        options.InputItems.Add(ResponseItem.CreateUserMessageItem("What is the weather in Paris?"));
        options.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherSchema), strictModeEnabled: true, "Weather in a city."));
        options.ParallelToolCallsEnabled = false;
        return options;
    }

    private static FunctionCallResponseItem AssertOneCall(ResponseResult response)
    {
        Assert.Equal(ResponseStatus.Completed, response.Status);
        var call = Assert.IsAssignableFrom<FunctionCallResponseItem>(Assert.Single(response.OutputItems));
        Assert.StartsWith("fc_", call.Id);
        Assert.StartsWith("call_", call.CallId);
        Assert.Equal("get_weather", call.FunctionName);
        ResponsesTests.AssertValid(WeatherSchema, call.FunctionArguments.ToString());
        return call;
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task A_required_call_validates_and_its_output_continues_the_conversation(float temperature)
    {
        var client = NewClient();
        var options = Options(ResponseToolChoice.CreateRequiredChoice(), temperature);
        ResponseResult first = await client.CreateResponseAsync(options);
        var call = AssertOneCall(first);
        Assert.Single(first.Tools);

        // Inline: the call and its output sent back as input items.
        var inline = new CreateResponseOptions { Model = server.ModelId, MaxOutputTokenCount = 12, Temperature = 0f };
        inline.InputItems.Add(ResponseItem.CreateUserMessageItem("What is the weather in Paris?"));
        inline.InputItems.Add(call);
        inline.InputItems.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "Sunny, 21 C"));
        inline.Tools.Add(ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(WeatherSchema), strictModeEnabled: true));
        inline.ToolChoice = ResponseToolChoice.CreateNoneChoice();
        ResponseResult answer = await client.CreateResponseAsync(inline);
        Assert.NotEmpty(answer.GetOutputText());

        // Via previous_response_id: only the output is sent.
        var followUp = new CreateResponseOptions { Model = server.ModelId, MaxOutputTokenCount = 12, Temperature = 0f, PreviousResponseId = first.Id };
        followUp.InputItems.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "Sunny, 21 C"));
        ResponseResult second = await client.CreateResponseAsync(followUp);
        Assert.NotEmpty(second.GetOutputText());
        // The stored conversation renders the same history as the inline items (tool_choice none lists no tools).
        Assert.Equal(answer.Usage.InputTokenCount, second.Usage.InputTokenCount);
    }

    [Fact]
    public async Task A_named_function_is_the_one_called()
    {
        ResponseResult response = await NewClient().CreateResponseAsync(Options(ResponseToolChoice.CreateFunctionChoice("get_weather")));
        AssertOneCall(response);
    }

    [Fact]
    public async Task A_streamed_call_assembles_from_its_argument_deltas()
    {
        var client = NewClient();
        var expected = AssertOneCall(await client.CreateResponseAsync(Options(ResponseToolChoice.CreateRequiredChoice())));

        var options = Options(ResponseToolChoice.CreateRequiredChoice());
        options.StreamingEnabled = true;
        var arguments = new StringBuilder();
        var kinds = new List<string>();
        int sequence = 0;
        string? itemId = null, doneArguments = null;
        ResponseResult? final = null;
        await foreach (StreamingResponseUpdate update in await client.CreateResponseStreamingAsync(options))
        {
            Assert.Equal(sequence++, update.SequenceNumber);
            kinds.Add(update.GetType().Name);
            switch (update)
            {
                case StreamingResponseOutputItemAddedUpdate added:
                    var started = Assert.IsAssignableFrom<FunctionCallResponseItem>(added.Item);
                    Assert.Equal("get_weather", started.FunctionName);
                    Assert.Equal("", started.FunctionArguments.ToString());
                    itemId = started.Id;
                    break;
                case StreamingResponseFunctionCallArgumentsDeltaUpdate delta:
                    Assert.Equal(itemId, delta.ItemId);
                    arguments.Append(delta.Delta.ToString());
                    break;
                case StreamingResponseFunctionCallArgumentsDoneUpdate done:
                    doneArguments = done.FunctionArguments.ToString();
                    break;
                case StreamingResponseCompletedUpdate completed:
                    final = completed.Response;
                    break;
            }
        }
        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseInProgressUpdate), kinds[1]);
        Assert.Equal(nameof(StreamingResponseOutputItemAddedUpdate), kinds[2]);
        Assert.Equal(nameof(StreamingResponseFunctionCallArgumentsDeltaUpdate), kinds[3]);
        Assert.Equal(nameof(StreamingResponseFunctionCallArgumentsDoneUpdate), kinds[^3]);
        Assert.Equal(nameof(StreamingResponseOutputItemDoneUpdate), kinds[^2]);
        Assert.Equal(nameof(StreamingResponseCompletedUpdate), kinds[^1]);
        Assert.NotNull(final);
        var call = AssertOneCall(final!);
        Assert.Equal(itemId, call.Id);
        Assert.Equal(arguments.ToString(), doneArguments);
        Assert.Equal(arguments.ToString(), call.FunctionArguments.ToString());
        Assert.Equal(expected.FunctionArguments.ToString(), call.FunctionArguments.ToString());
    }

    [Theory]
    [InlineData("""{"input":[{"type":"function_call_output","call_id":"c","output":"x"}]}""", "input[0].call_id")]
    [InlineData("""{"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}""", "input[0].name")]
    [InlineData("""{"input":[{"type":"function_call","call_id":"c","name":"f"},{"type":"function_call_output","call_id":"c"}]}""", "input[1].output")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"bad name"}]}""", "tools[0].name")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f","parameters":{"type":"string"}}]}""", "tools[0].parameters")]
    [InlineData("""{"input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}""", "tool_choice.name")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":"maybe"}""", "tool_choice")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"parallel_tool_calls":"yes"}""", "parallel_tool_calls")]
    [InlineData("""{"input":"x","tools":[{"type":"function","name":"f"}],"text":{"format":{"type":"json_object"}}}""", "text.format")]
    public async Task Bad_tool_bodies_are_a_400_naming_the_field(string json, string param)
    {
        using var response = await server.Client.PostRawAsync("/v1/responses", json);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task The_response_echoes_tools_and_tool_choice()
    {
        const string json = """
            {"input":"Hi","max_output_tokens":100,"temperature":0,"parallel_tool_calls":false,"tool_choice":{"type":"function","name":"get_weather"},
             "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"],"additionalProperties":false}}]}
            """;
        using var response = await server.Client.PostRawAsync("/v1/responses", json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var r = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.False(r.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("get_weather", r.GetProperty("tool_choice").GetProperty("name").GetString());
        Assert.Equal("get_weather", r.GetProperty("tools")[0].GetProperty("name").GetString());
        var item = Assert.Single(r.GetProperty("output").EnumerateArray().ToList());
        Assert.True(item.GetProperty("type").GetString() == "function_call", r.GetRawText());
        Assert.Equal("completed", item.GetProperty("status").GetString());
        ResponsesTests.AssertValid(WeatherSchema, item.GetProperty("arguments").GetString()!);
    }
}
