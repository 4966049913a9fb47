#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental in the SDK
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;
using Json.Schema;
using OpenAI;
using OpenAI.Chat;

namespace BitNet.Server.Tests;

/// <summary>
/// Tool calling on /v1/chat/completions with the official OpenAI .NET SDK against the bundled model (512-token
/// context, so the tools are small): required, named, auto and none at temperatures 0 and 1 with several seeds;
/// every call's arguments validate against its tool's schema (JsonSchema.Net); streamed tool-call deltas assemble
/// into the same calls through the SDK's streaming types; the follow-up turn with the tool result works.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ToolCallingTests(DefaultServer server)
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["c","f"]}},
         "required":["city","unit"],"additionalProperties":false}
        """;

    private const string AddSchema = """
        {"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":99},"b":{"type":"integer","minimum":0,"maximum":99}},
         "required":["a","b"],"additionalProperties":false}
        """;

    private static readonly Dictionary<string, string> Schemas = new() { ["get_weather"] = WeatherSchema, ["add"] = AddSchema };

    private ChatClient NewChatClient() => new(server.ModelId, new ApiKeyCredential("sk-any"), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.Factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(server.Factory.CreateClient()),
    });

    private static ChatCompletionOptions Options(ChatToolChoice choice, float temperature, long seed, int maxTokens = 80, bool? parallel = null)
    {
        var options = new ChatCompletionOptions { ToolChoice = choice, Temperature = temperature, Seed = seed, MaxOutputTokenCount = maxTokens };
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "Weather in a city.", BinaryData.FromString(WeatherSchema)));
        options.Tools.Add(ChatTool.CreateFunctionTool("add", "Adds two numbers.", BinaryData.FromString(AddSchema)));
        if (parallel is { } p) options.AllowParallelToolCalls = p;
        return options;
    }

    private static readonly ChatMessage[] Question = [new UserChatMessage("What is the weather in Paris?")];

    private static void AssertValidCall(string name, string arguments)
    {
        Assert.True(Schemas.TryGetValue(name, out var schema), $"unknown tool '{name}'");
        using var document = JsonDocument.Parse(arguments);
        var result = JsonSchema.FromText(schema).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"arguments of {name} do not validate: {arguments}");
    }

    private static void AssertCalls(ChatCompletion completion, string? onlyName = null, bool single = false)
    {
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Empty(completion.Content);
        Assert.NotEmpty(completion.ToolCalls);
        if (single) Assert.Single(completion.ToolCalls);
        Assert.Equal(completion.ToolCalls.Count, completion.ToolCalls.Select(c => c.Id).Distinct().Count());
        foreach (var call in completion.ToolCalls)
        {
            Assert.StartsWith("call_", call.Id);
            Assert.Equal(ChatToolCallKind.Function, call.Kind);
            if (onlyName is not null) Assert.Equal(onlyName, call.FunctionName);
            AssertValidCall(call.FunctionName, call.FunctionArguments.ToString());
        }
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.0, 2)]
    [InlineData(1.0, 3)]
    [InlineData(1.0, 4)]
    public async Task Required_produces_one_valid_call(float temperature, long seed)
    {
        ChatCompletion completion = await NewChatClient().CompleteChatAsync(Question,
            Options(ChatToolChoice.CreateRequiredChoice(), temperature, seed, parallel: false));
        AssertCalls(completion, single: true);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 5)]
    [InlineData(1.0, 6)]
    public async Task Required_with_parallel_calls_produces_valid_calls(float temperature, long seed)
    {
        ChatCompletion completion = await NewChatClient().CompleteChatAsync(Question, Options(ChatToolChoice.CreateRequiredChoice(), temperature, seed));
        AssertCalls(completion);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 7)]
    [InlineData(1.0, 8)]
    public async Task A_named_function_is_the_one_called(float temperature, long seed)
    {
        ChatCompletion completion = await NewChatClient().CompleteChatAsync(Question,
            Options(ChatToolChoice.CreateFunctionChoice("add"), temperature, seed, parallel: false));
        AssertCalls(completion, onlyName: "add", single: true);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.0, 2)]
    [InlineData(1.0, 3)]
    [InlineData(1.5, 4)]
    public async Task Auto_answers_with_text_or_with_valid_calls(float temperature, long seed)
    {
        ChatCompletion completion = await NewChatClient().CompleteChatAsync(Question, Options(ChatToolChoice.CreateAutoChoice(), temperature, seed));
        if (completion.ToolCalls.Count > 0) AssertCalls(completion);
        else
        {
            Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
            string text = string.Concat(completion.Content.Select(p => p.Text));
            Assert.False(text.TrimStart().StartsWith("<tool_call>", StringComparison.Ordinal), text);
        }
    }

    [Fact]
    public async Task Auto_with_a_budget_too_small_for_any_call_answers_text_cut_by_length()
    {
        // The shortest call is about 50 bytes; within 3 tokens the grammar only lets text through.
        var body = ToolBody("auto", maxTokens: 3).BanEndOfSequence();
        var response = await server.Client.PostOkAsync(Api.Chat, body);
        var message = response.Choice().GetProperty("message");
        Assert.False(message.TryGetProperty("tool_calls", out _));
        Assert.Equal(JsonValueKind.String, message.GetProperty("content").ValueKind);
        Assert.Equal("length", response.FinishReason());
        Assert.Equal(3, response.Usage("completion_tokens"));
    }

    [Fact]
    public async Task None_answers_text_and_leaves_the_tools_out_of_the_prompt()
    {
        var none = await server.Client.PostOkAsync(Api.Chat, ToolBody("none", maxTokens: 8));
        var auto = await server.Client.PostOkAsync(Api.Chat, ToolBody("auto", maxTokens: 8));
        var plain = await server.Client.PostOkAsync(Api.Chat, ToolBody("none", maxTokens: 8).With("tools", null).With("tool_choice", null));
        Assert.False(none.Choice().GetProperty("message").TryGetProperty("tool_calls", out _));
        Assert.Equal(JsonValueKind.String, none.Choice().GetProperty("message").GetProperty("content").ValueKind);
        Assert.NotEqual("tool_calls", none.FinishReason());
        Assert.Equal(plain.Usage("prompt_tokens"), none.Usage("prompt_tokens"));
        Assert.True(auto.Usage("prompt_tokens") > none.Usage("prompt_tokens"));
    }

    [Fact]
    public async Task The_raw_answer_has_content_null_and_arguments_as_a_json_string()
    {
        var response = await server.Client.PostOkAsync(Api.Chat, ToolBody("required", maxTokens: 80).With("parallel_tool_calls", false));
        var message = response.Choice().GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.String, call.GetProperty("function").GetProperty("arguments").ValueKind);
        AssertValidCall(call.GetProperty("function").GetProperty("name").GetString()!, call.GetProperty("function").GetProperty("arguments").GetString()!);
        Assert.Equal("tool_calls", response.FinishReason());
    }

    [Theory]
    [InlineData(0.0, 1, "required")]
    [InlineData(1.0, 9, "required")]
    [InlineData(1.0, 10, "add")]
    public async Task Streamed_tool_call_deltas_assemble_into_the_same_valid_calls(float temperature, long seed, string choice)
    {
        var toolChoice = choice == "required" ? ChatToolChoice.CreateRequiredChoice() : ChatToolChoice.CreateFunctionChoice(choice);
        var client = NewChatClient();
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(Question, Options(toolChoice, temperature, seed)))
        {
            Assert.DoesNotContain(update.ContentUpdate, p => p.Text.Length > 0);
            foreach (var part in update.ToolCallUpdates)
            {
                if (!arguments.ContainsKey(part.Index))
                {
                    // The first delta of a call carries its id and name; later ones only the index and arguments.
                    Assert.StartsWith("call_", part.ToolCallId);
                    Assert.False(string.IsNullOrEmpty(part.FunctionName));
                    ids[part.Index] = part.ToolCallId ?? "";
                    names[part.Index] = part.FunctionName ?? "";
                    arguments[part.Index] = new StringBuilder();
                }
                else Assert.Null(part.ToolCallId);
                if (part.FunctionArgumentsUpdate is { } fragment) arguments[part.Index].Append(fragment.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.NotEmpty(arguments);
        Assert.Equal(Enumerable.Range(0, arguments.Count), arguments.Keys.Order());
        foreach (var (index, text) in arguments) AssertValidCall(names[index], text.ToString());

        // The same seed without streaming gives the same calls.
        ChatCompletion whole = await client.CompleteChatAsync(Question, Options(toolChoice, temperature, seed));
        Assert.Equal(names.OrderBy(p => p.Key).Select(p => p.Value), whole.ToolCalls.Select(c => c.FunctionName));
        Assert.Equal(arguments.OrderBy(p => p.Key).Select(p => p.Value.ToString()), whole.ToolCalls.Select(c => c.FunctionArguments.ToString()));
    }

    [Fact]
    public async Task The_follow_up_turn_with_the_tool_result_works()
    {
        var client = NewChatClient();
        ChatCompletion first = await client.CompleteChatAsync(Question, Options(ChatToolChoice.CreateRequiredChoice(), 1.0f, 11, parallel: false));
        AssertCalls(first, single: true);
        var call = first.ToolCalls[0];
        List<ChatMessage> conversation = [.. Question, new AssistantChatMessage(first), new ToolChatMessage(call.Id, "It is sunny, 21 C.")];

        ChatCompletion answer = await client.CompleteChatAsync(conversation, Options(ChatToolChoice.CreateNoneChoice(), 0f, 1, maxTokens: 16));
        Assert.Empty(answer.ToolCalls);
        Assert.NotEqual(ChatFinishReason.ToolCalls, answer.FinishReason);
        ChatCompletion bare = await client.CompleteChatAsync(Question, Options(ChatToolChoice.CreateNoneChoice(), 0f, 1, maxTokens: 16));
        Assert.True(answer.Usage.InputTokenCount > bare.Usage.InputTokenCount + 10, "the call and its result are in the prompt");

        // And the model may call again after a result, still valid.
        ChatCompletion again = await client.CompleteChatAsync(conversation, Options(ChatToolChoice.CreateRequiredChoice(), 1.0f, 12, parallel: false));
        AssertCalls(again, single: true);
    }

    [Fact]
    public async Task Streamed_text_under_auto_is_plain_content()
    {
        var body = ToolBody("auto", maxTokens: 3).BanEndOfSequence().With("stream", true);
        string sse = await server.Client.PostStreamAsync(Api.Chat, body);
        var text = new StringBuilder();
        string? finish = null;
        foreach (var chunk in Sse.Chunks(sse))
            foreach (var c in chunk.GetProperty("choices").EnumerateArray())
            {
                Assert.False(c.GetProperty("delta").TryGetProperty("tool_calls", out _));
                if (c.GetProperty("delta").TryGetProperty("content", out var d)) text.Append(d.GetString());
                if (c.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = c.GetProperty("finish_reason").GetString();
            }
        Assert.Equal("length", finish);
        var whole = await server.Client.PostOkAsync(Api.Chat, ToolBody("auto", maxTokens: 3).BanEndOfSequence());
        Assert.Equal(whole.Content(), text.ToString());
    }

    [Fact]
    public async Task Tools_that_do_not_fit_the_context_are_a_400_never_dropped()
    {
        var tools = new JsonArray();
        for (int i = 0; i < 40; i++) tools.Add(ToolJson($"tool_number_{i}", WeatherSchema));
        var body = ToolBody("auto", maxTokens: 8).With("tools", tools);
        using var response = await server.Client.PostAsync(Api.Chat, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "context_length_exceeded");
        Assert.StartsWith("This model's maximum context length is 512 tokens.", error.GetProperty("message").GetString());
        Assert.Contains("tool definitions", error.GetProperty("message").GetString());
        Assert.Equal("tools", error.GetProperty("param").GetString());
    }

    public static TheoryData<string, string> InvalidRequests() => new()
    {
        { """{"tools":{"type":"function"}}""", "tools" },
        { """{"tools":[{"type":"code_interpreter"}]}""", "tools[0].type" },
        { """{"tools":[{"type":"function"}]}""", "tools[0].function" },
        { """{"tools":[{"type":"function","function":{"name":"has space"}}]}""", "tools[0].function.name" },
        { """{"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", "tools[1].function.name" },
        { """{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"string"}}}]}""", "tools[0].function.parameters" },
        { """{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","patternProperties":{"x":{}}}}}]}""", "tools[0].function.parameters" },
        { """{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}""", "tool_choice" },
        { """{"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}""", "tool_choice.function.name" },
        { """{"tool_choice":"required"}""", "tool_choice" },
        { """{"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":"yes"}""", "parallel_tool_calls" },
        { """{"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"}}""", "response_format" },
        { """{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"42"}]}""", "messages[1].tool_call_id" },
        { """{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_x","content":"42"}]}""", "messages[1].tool_call_id" },
        { """{"messages":[{"role":"user","content":"x","tool_calls":[]}]}""", "messages[0].tool_calls" },
        { """{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function"}]}]}""", "messages[0].tool_calls[0].function" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task Invalid_tool_fields_are_a_400_naming_the_field(string overrides, string param)
    {
        var body = Api.ChatBody("Hi", 4);
        foreach (var (key, value) in JsonNode.Parse(overrides)!.AsObject()) body[key] = value?.DeepClone();
        using var response = await server.Client.PostAsync(Api.Chat, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Assistant_tool_calls_and_tool_results_are_accepted_with_null_content()
    {
        var body = Api.ChatBody("Hi", 4);
        body["messages"] = JsonNode.Parse("""
            [{"role":"user","content":"Add 2 and 3."},
             {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"5"}]
            """);
        var response = await server.Client.PostOkAsync(Api.Chat, body);
        Assert.Equal(JsonValueKind.String, response.Choice().GetProperty("message").GetProperty("content").ValueKind);
    }

    private static JsonObject ToolJson(string name, string schema) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["description"] = "A tool.", ["parameters"] = JsonNode.Parse(schema) },
    };

    private static JsonObject ToolBody(string choice, int maxTokens)
    {
        var body = Api.ChatBody("What is the weather in Paris?", maxTokens);
        body["tools"] = new JsonArray(ToolJson("get_weather", WeatherSchema), ToolJson("add", AddSchema));
        body["tool_choice"] = choice;
        return body;
    }
}
