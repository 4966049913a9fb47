using System.Text.Json;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Sampling;
using Microsoft.Extensions.AI;

namespace BitNet.Extensions.AI.Tests;

/// <summary>ChatOptions and messages onto the engine request: every field mapped, every mistake one line naming it.</summary>
public sealed class ChatOptionsMappingTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private ChatRequestMapper Mapper(BitNetChatClientOptions? defaults = null) =>
        new(fixture.Host.Engine, fixture.Host.ChatFormat, defaults ?? new BitNetChatClientOptions());

    private static readonly ChatMessage[] Hello = [new(ChatRole.User, "Hello")];

    [Fact]
    public void Every_sampling_option_reaches_the_engine()
    {
        var options = new ChatOptions
        {
            Temperature = 0.3f, TopP = 0.7f, TopK = 12, Seed = -1, FrequencyPenalty = 0.5f, PresencePenalty = -0.25f,
            MaxOutputTokens = 17, StopSequences = ["The end", "", "The end", "!"],
            AdditionalProperties = new() { ["min_p"] = 0.2, ["repetition_penalty"] = JsonDocument.Parse("1.1").RootElement },
        };
        var request = Mapper().Map(Hello, options, "id-1", CancellationToken.None);
        var s = request.Sampling;
        Assert.Equal(0.3f, s.Temperature);
        Assert.Equal(0.7f, s.TopP);
        Assert.Equal(12, s.TopK);
        Assert.Equal(ulong.MaxValue, s.Seed);        // a long seed keeps its 64 bits
        Assert.Equal(0.5f, s.FrequencyPenalty);
        Assert.Equal(-0.25f, s.PresencePenalty);
        Assert.Equal(0.2f, s.MinP);
        Assert.Equal(1.1f, s.RepetitionPenalty);
        Assert.Equal(17, request.MaxTokens);
        Assert.Equal("id-1", request.Id);
        Assert.True(request.ChatAnswer);
        Assert.Null(request.Grammar);
        // Empty and repeated stops dropped; the plain format's end of turn added after the caller's.
        Assert.Equal(["The end", "!", "\nUser:"], request.StopStrings);
        Assert.Contains(fixture.Host.Tokenizer.EosId, request.StopTokens);
    }

    [Fact]
    public void Unset_options_take_the_client_defaults()
    {
        var defaults = new BitNetChatClientOptions
        {
            DefaultSampling = new SamplingParameters { Temperature = 0.5f, TopK = 7, MinP = 0.1f },
            DefaultMaxOutputTokens = 33,
        };
        var request = Mapper(defaults).Map(Hello, new ChatOptions { TopP = 0.9f }, "id", default);
        Assert.Equal(0.5f, request.Sampling.Temperature);
        Assert.Equal(7, request.Sampling.TopK);
        Assert.Equal(0.1f, request.Sampling.MinP);
        Assert.Equal(0.9f, request.Sampling.TopP);
        Assert.Null(request.Sampling.Seed);
        Assert.Equal(33, request.MaxTokens);
        Assert.Same(defaults.DefaultSampling, Mapper(defaults).Map(Hello, null, "id", default).Sampling);
    }

    [Fact]
    public void Default_answer_length_is_bounded_by_the_room_left_in_the_context()
    {
        var request = Mapper(new BitNetChatClientOptions { DefaultMaxOutputTokens = 100_000 }).Map(Hello, null, "id", default);
        Assert.Equal(fixture.Host.Engine.ContextLength - request.PromptTokens.Length, request.MaxTokens);
    }

    [Fact]
    public void Roles_render_in_the_models_chat_format()
    {
        ChatMessage[] conversation =
        [
            new(ChatRole.System, "Be kind."),
            new(ChatRole.User, [new TextContent("Hi"), new TextContent(" there")]),
            new(ChatRole.Assistant, [new TextReasoningContent("thinking..."), new TextContent("Hello!")]),
            new(ChatRole.User, "Story?"),
        ];
        var request = Mapper().Map(conversation, new ChatOptions { Instructions = "Short answers." }, "id", default);
        Assert.Equal("plain", fixture.Host.ChatFormat.Name);
        // Instructions come first, as a system message; text parts join as ChatMessage.Text does; reasoning is not replayed.
        Assert.Equal("Short answers.\n\nBe kind.\n\nUser: Hi there\nAssistant: Hello!\nUser: Story?\nAssistant:",
            fixture.Host.Tokenizer.Decode(request.PromptTokens, skipSpecial: true));
    }

    [Theory]
    [InlineData("Temperature", "ChatOptions.Temperature must be in [0, 2], got 2.5")]
    [InlineData("NegativeTemperature", "ChatOptions.Temperature must be >= 0 (0 = greedy), got -1")]
    [InlineData("TopP", "ChatOptions.TopP must be in (0, 1], got 0")]
    [InlineData("TopK", "ChatOptions.TopK must be >= 0 (0 = off), got -3")]
    [InlineData("Presence", "ChatOptions.PresencePenalty must be in [-2, 2], got 3")]
    [InlineData("MinP", "ChatOptions.AdditionalProperties[\"min_p\"]: MinP must be in [0, 1], got 2")]
    [InlineData("MinPText", "ChatOptions.AdditionalProperties[\"min_p\"] must be a number, got lots")]
    [InlineData("MaxTokens", "ChatOptions.MaxOutputTokens must be at least 1, got 0")]
    [InlineData("TooLong", "ChatOptions.MaxOutputTokens is 100000: together more than the context of 512 tokens")]
    public void Out_of_range_options_are_one_line_argument_errors(string field, string message)
    {
        var options = field switch
        {
            "Temperature" => new ChatOptions { Temperature = 2.5f },
            "NegativeTemperature" => new ChatOptions { Temperature = -1 },
            "TopP" => new ChatOptions { TopP = 0 },
            "TopK" => new ChatOptions { TopK = -3 },
            "Presence" => new ChatOptions { PresencePenalty = 3 },
            "MinP" => new ChatOptions { AdditionalProperties = new() { ["min_p"] = 2 } },
            "MinPText" => new ChatOptions { AdditionalProperties = new() { ["min_p"] = "lots" } },
            "MaxTokens" => new ChatOptions { MaxOutputTokens = 0 },
            _ => new ChatOptions { MaxOutputTokens = 100_000 },
        };
        var e = Assert.ThrowsAny<ArgumentException>(() => Mapper().Map(Hello, options, "id", default));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Unsupported_requests_fail_at_the_call_with_a_clear_message()
    {
        var chat = fixture.Host.ChatClient;
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] };
        Assert.Contains("ChatOptions.Tools", (await Assert.ThrowsAsync<NotSupportedException>(() => chat.GetResponseAsync(Hello, tools))).Message);
        Assert.Throws<NotSupportedException>(() => chat.GetStreamingResponseAsync(Hello, tools));

        ChatMessage[] image = [new(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "image/png")])];
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => chat.GetResponseAsync(image));
        Assert.Equal("message 0 holds DataContent; BitNetChatClient reads text only (TextContent)", e.Message);

        ChatMessage[] custom = [new(new ChatRole("narrator"), "Meanwhile...")];
        Assert.StartsWith("message 0: role 'narrator' is not one of system, developer, user, assistant, tool",
            (await Assert.ThrowsAsync<ArgumentException>(() => chat.GetResponseAsync(custom))).Message);
        await Assert.ThrowsAsync<ArgumentException>(() => chat.GetResponseAsync(Array.Empty<ChatMessage>()));

        string huge = string.Join(' ', Enumerable.Repeat("dragon", 600));
        Assert.Contains("the context holds 512", (await Assert.ThrowsAsync<ArgumentException>(() => chat.GetResponseAsync(huge))).Message);
    }

    [Fact]
    public void Response_formats_map_onto_grammars()
    {
        Assert.Null(ChatRequestMapper.Grammar(null));
        Assert.Null(ChatRequestMapper.Grammar(ChatResponseFormat.Text));
        var anyObject = ChatRequestMapper.Grammar(ChatResponseFormat.Json)!;
        Assert.True(anyObject.Matches("{\"a\": [1, 2]}"));
        Assert.False(anyObject.Matches("[1, 2]"));

        var schema = JsonDocument.Parse("""{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}""").RootElement;
        var typed = ChatRequestMapper.Grammar(ChatResponseFormat.ForJsonSchema(schema, "thing"))!;
        Assert.True(typed.Matches("{\"n\": 3}"));
        Assert.False(typed.Matches("{\"n\": \"3\"}"));

        var unsupported = JsonDocument.Parse("""{"type":"object","patternProperties":{"^x":{"type":"string"}}}""").RootElement;
        var e = Assert.Throws<SchemaNotSupportedException>(() => ChatRequestMapper.Grammar(ChatResponseFormat.ForJsonSchema(unsupported)));
        Assert.Equal("patternProperties", e.Keyword);
    }

    [Fact]
    public void Bad_client_defaults_are_refused_at_construction()
    {
        var e = Assert.Throws<ArgumentException>(() => new BitNetChatClient(fixture.Host.Engine, fixture.Host.ChatFormat, "m",
            new BitNetChatClientOptions { DefaultSampling = new SamplingParameters { TopP = 2 } }));
        Assert.Equal("DefaultSampling.TopP must be in (0, 1], got 2 (Parameter 'DefaultSampling')", e.Message);
        Assert.Throws<ArgumentException>(() => new BitNetChatClient(fixture.Host.Engine, fixture.Host.ChatFormat, "m",
            new BitNetChatClientOptions { DefaultMaxOutputTokens = 0 }));
    }
}
