using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

[CollectionDefinition(Name)]
public sealed class TokenizerCollection : ICollectionFixture<TokenizerFixture>
{
    public const string Name = "Tokenizers";
}

/// <summary>Loads each reference vocabulary once for all tokenizer tests (the 128k ones take a few hundred ms).</summary>
public sealed class TokenizerFixture
{
    private readonly Lazy<GgufMetadata> _llama3Metadata = new(() => ReadMetadata("tokenizers/llama3/llama3-vocab.gguf"));
    private readonly Lazy<GgufMetadata> _spmMetadata = new(() => ReadMetadata("tokenizers/llama-spm/llama-spm-vocab.gguf"));
    private readonly Lazy<GgufMetadata> _storiesMetadata = new(() => ReadMetadata("models/stories3m-b158-i2_s.gguf"));
    private readonly Lazy<TextTokenizer> _llama3Gguf;
    private readonly Lazy<TextTokenizer> _llama3GgufWithoutPre;
    private readonly Lazy<TextTokenizer> _llama3GgufMerges;
    private readonly Lazy<TextTokenizer> _llama3Tiktoken;
    private readonly Lazy<TextTokenizer> _llamaSpm;
    private readonly Lazy<TextTokenizer> _stories;
    private readonly Lazy<IReadOnlyList<GoldenCase>> _llama3Golden = new(() => TokenizerTestData.ReadGolden("llama3"));
    private readonly Lazy<IReadOnlyList<GoldenCase>> _spmGolden = new(() => TokenizerTestData.ReadGolden("llama-spm"));

    public TokenizerFixture()
    {
        _llama3Gguf = new(() => TextTokenizer.FromGguf(Llama3Metadata));
        _llama3GgufWithoutPre = new(() => TextTokenizer.FromGguf(Without(Llama3Metadata, "tokenizer.ggml.pre")));
        _llama3GgufMerges = new(() => GgufTokenizerLoader.Load(Llama3Metadata, ByteLevelEngine.Merges));
        _llama3Tiktoken = new(() => TextTokenizer.FromTiktokenFile(TokenizerTestData.SharedFile("tokenizers/llama3/tokenizer.model")));
        _llamaSpm = new(() => TextTokenizer.FromGguf(SpmMetadata));
        _stories = new(() => TextTokenizer.FromGguf(_storiesMetadata.Value));
    }

    public GgufMetadata Llama3Metadata => _llama3Metadata.Value;

    public GgufMetadata SpmMetadata => _spmMetadata.Value;

    /// <summary>llama3-vocab.gguf as shipped (tokenizer.ggml.pre = llama-bpe).</summary>
    public TextTokenizer Llama3Gguf => _llama3Gguf.Value;

    /// <summary>The same without the pre key, like the official 2B4T GGUF.</summary>
    public TextTokenizer Llama3GgufWithoutPre => _llama3GgufWithoutPre.Value;

    /// <summary>The same run through the GGUF merge list (BpeTokenizer) instead of tiktoken ranks.</summary>
    public TextTokenizer Llama3GgufMerges => _llama3GgufMerges.Value;

    public TextTokenizer Llama3Tiktoken => _llama3Tiktoken.Value;

    public TextTokenizer LlamaSpm => _llamaSpm.Value;

    /// <summary>The bundled 512-token SentencePiece test model's vocabulary.</summary>
    public TextTokenizer Stories => _stories.Value;

    public IReadOnlyList<GoldenCase> Llama3Golden => _llama3Golden.Value;

    public IReadOnlyList<GoldenCase> SpmGolden => _spmGolden.Value;

    public static GgufMetadata Without(GgufMetadata metadata, string key)
    {
        var values = new Dictionary<string, GgufValue>(metadata.Values);
        Assert.True(values.Remove(key), $"the reference file should have {key}");
        return new GgufMetadata(values);
    }

    public static GgufMetadata With(GgufMetadata metadata, string key, GgufValue value)
    {
        var values = new Dictionary<string, GgufValue>(metadata.Values) { [key] = value };
        return new GgufMetadata(values);
    }

    private static GgufMetadata ReadMetadata(string relativePath)
    {
        using var file = GgufFile.Open(TokenizerTestData.SharedFile(relativePath));
        return file.Metadata; // arrays and strings are managed copies, valid after the mapping is closed
    }
}
