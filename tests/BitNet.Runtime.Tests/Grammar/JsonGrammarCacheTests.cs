using System.Text.Json;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>The per-schema grammar cache: one compilation per schema text, bounded, least recently used evicted.</summary>
public sealed class JsonGrammarCacheTests
{
    private static JsonElement Schema(int maxLength) =>
        JsonDocument.Parse($$"""{"type":"string","maxLength":{{maxLength}}}""").RootElement.Clone();

    [Fact]
    public void The_same_schema_text_compiles_once()
    {
        var cache = new JsonGrammarCache(4);
        var a = cache.FromSchema(Schema(3));
        var b = cache.FromSchema(Schema(3));
        Assert.Same(a, b);
        Assert.Equal(1, cache.Compilations);
        Assert.True(a.Matches("\"abc\""));
        Assert.False(a.Matches("\"abcd\""));
        Assert.NotSame(a, cache.FromSchema(Schema(4)));
        Assert.Equal(2, cache.Compilations);
    }

    [Fact]
    public void Past_capacity_the_least_recently_used_schema_goes()
    {
        var cache = new JsonGrammarCache(2);
        var one = cache.FromSchema(Schema(1));
        cache.FromSchema(Schema(2));
        Assert.Same(one, cache.FromSchema(Schema(1))); // 1 is now the most recent
        cache.FromSchema(Schema(3));                    // evicts 2
        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryGet(Schema(1), out _));
        Assert.False(cache.TryGet(Schema(2), out _));
        Assert.True(cache.TryGet(Schema(3), out _));
    }

    [Fact]
    public void A_schema_that_cannot_be_enforced_is_not_cached_and_fails_each_time()
    {
        var cache = new JsonGrammarCache(2);
        var bad = JsonDocument.Parse("""{"type":"array","uniqueItems":true}""").RootElement;
        Assert.Throws<SchemaNotSupportedException>(() => cache.FromSchema(bad));
        Assert.Throws<SchemaNotSupportedException>(() => cache.FromSchema(bad));
        Assert.Equal(0, cache.Count);
        Assert.Same(cache.AnyJsonObject(), cache.AnyJsonObject());
    }
}
