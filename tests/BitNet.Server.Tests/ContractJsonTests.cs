using System.Text.Json;
using BitNet.Server.Contracts;
using BitNet.Server.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>The contract types are serialized through source-generated metadata, never reflection.</summary>
public sealed class ContractJsonTests
{
    private static readonly Type[] Contracts = typeof(ServerJsonContext).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(ServerJsonContext).Namespace && t.IsPublic && !t.IsAbstract
            && !typeof(Exception).IsAssignableFrom(t) && !typeof(System.Text.Json.Serialization.JsonSerializerContext).IsAssignableFrom(t))
        .ToArray();

    [Fact]
    public void Every_contract_type_has_generated_metadata()
    {
        Assert.True(Contracts.Length >= 20, $"found only {Contracts.Length} contract types");
        foreach (var type in Contracts)
            Assert.True(ServerJsonContext.Default.GetTypeInfo(type) is not null, $"{type.Name} is not in ServerJsonContext");
    }

    [Fact]
    public void The_server_options_resolve_only_through_the_generated_context()
    {
        Assert.Same(ServerJsonContext.Default, JsonDefaults.Options.TypeInfoResolver);
        // A type outside the contracts has no metadata: nothing falls back to reflection silently.
        Assert.Throws<NotSupportedException>(() => JsonSerializer.Serialize(new Version(1, 2), JsonDefaults.Options));
    }

    [Fact]
    public void A_chunk_is_written_as_the_sdks_expect()
    {
        var chunk = new ChatCompletionChunk("chatcmpl-1", "chat.completion.chunk", 1, "m", "fp", [new ChatChunkChoice(0, new ChatDelta(Content: "é <b>"), null, null)], null);
        Assert.Equal("""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"é <b>"},"logprobs":null,"finish_reason":null}],"usage":null}""",
            JsonSerializer.Serialize(chunk, JsonDefaults.Options));
    }
}
