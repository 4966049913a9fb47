using System.Text;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;
using BitNet.Runtime.Weights;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>
/// tiny-hf's tokenizer.json was built from the tiny-random GGUF: both must tokenize every string identically. The GGUF,
/// like the official 2B4T one, has no tokenizer.ggml.pre, and its tiny vocabulary is not recognizably Llama-3's, so
/// alone it would get the GPT-2 regex; tokenizer.json states the Llama-3 Split regex, so the GGUF side is given the
/// name of that regex (llama-bpe), which is what a converter writes for it.
/// </summary>
public sealed class HuggingFaceTokenizerTests
{
    private static TextTokenizer FromGguf()
    {
        using var file = GgufFile.Open(TestPaths.SharedFile("reference", "tiny-random", "tiny-b158-f32.gguf"));
        Assert.False(file.Metadata.Contains("tokenizer.ggml.pre"));
        var values = new Dictionary<string, GgufValue>(file.Metadata.Values)
        {
            ["tokenizer.ggml.pre"] = new(GgufValueType.String, "llama-bpe"),
        };
        return TextTokenizer.FromGguf(new GgufMetadata(values));
    }

    private static IEnumerable<string> Strings()
    {
        yield return "";
        yield return "Hello, world!";
        yield return "<|begin_of_text|>System: be brief<|eot_id|>User: hi<|eot_id|>Assistant: ";
        yield return "I'm sure they'll've DONE it 12345 times\n\n\tok?";
        yield return "  leading and trailing  ";
        yield return "naïve café – 東京 🙂";
        var rng = new Random(1234);
        string[] pieces = ["the", " The", "'s", "'LL", " ", "  ", "\n", "\r\n", "\t", "0", "42", "1234567", ",", ".", "!?", "é", "ß", "東", "🙂",
            "<|eot_id|>", "<|end_of_text|>", "<|start_header_id|>", "<|", "|>", "abc", "xyz", "Q", "-", "--", "'", "\""];
        for (int i = 0; i < 500; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(1, 20);
            for (int j = 0; j < n; j++) sb.Append(pieces[rng.Next(pieces.Length)]);
            yield return sb.ToString();
        }
    }

    [Fact]
    public void EncodeAndDecodeAgreeWithTheGgufTokenizer()
    {
        var gguf = FromGguf();
        var hf = HuggingFaceTokenizerLoader.Load(HfFixtures.Packed, 961, 956, [957, 960]);
        Assert.Equal(gguf.Kind, hf.Kind);
        Assert.Equal(gguf.VocabSize, hf.VocabSize);
        Assert.Equal(gguf.BosId, hf.BosId);
        Assert.Equal(gguf.EosId, hf.EosId);
        Assert.Equal(gguf.AddBos, hf.AddBos);
        Assert.Contains(960, hf.EndOfGenerationIds);
        int count = 0;
        foreach (var s in Strings())
        {
            foreach (bool special in new[] { true, false })
            {
                var a = gguf.Encode(s, addBos: true, parseSpecial: special);
                var b = hf.Encode(s, addBos: true, parseSpecial: special);
                Assert.True(a.SequenceEqual(b), $"'{s}' (special {special}): GGUF [{string.Join(",", a)}] vs HF [{string.Join(",", b)}]");
                Assert.Equal(gguf.Decode(a), hf.Decode(b));
                Assert.Equal(gguf.Decode(a, skipSpecial: true), hf.Decode(b, skipSpecial: true));
                count++;
            }
        }
        Assert.True(count > 1000);
    }

    [Fact]
    public void MetadataMatchesWhatTheGgufCarries()
    {
        using var file = GgufFile.Open(TestPaths.SharedFile("reference", "tiny-random", "tiny-b158-f32.gguf"));
        using var dir = HuggingFaceDirectory.Open(HfFixtures.Packed);
        Assert.Equal(file.Metadata.GetArrayOrNull<string>("tokenizer.ggml.tokens"), dir.Metadata.GetArrayOrNull<string>("tokenizer.ggml.tokens"));
        Assert.Equal(file.Metadata.GetArrayOrNull<string>("tokenizer.ggml.merges"), dir.Metadata.GetArrayOrNull<string>("tokenizer.ggml.merges"));
        Assert.Equal("llama-bpe", dir.Metadata.GetString("tokenizer.ggml.pre"));
        Assert.StartsWith("{% for message in messages %}", dir.Metadata.GetString("tokenizer.chat_template"));
        Assert.Equal(960, dir.Metadata.GetInt("tokenizer.ggml.eot_token_id"));
        Assert.Equal("bitnet-b1.58", dir.Metadata.GetString("general.architecture"));
        foreach (var key in new[] { "embedding_length", "block_count", "attention.head_count", "attention.head_count_kv", "feed_forward_length" })
            Assert.Equal(file.Metadata.GetInt("bitnet-b1.58." + key), dir.Metadata.GetInt("bitnet-b1.58." + key));
    }

    [Fact]
    public void AnUnknownPreTokenizerRegexIsRefused()
    {
        using var fixtures = new HfFixtures();
        string dir = fixtures.Variant("regex", HfFixtures.Packed);
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace(@"\\p{N}{1,3}", @"\\p{N}{1,2}", StringComparison.Ordinal));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizerLoader.Load(dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("regex", e.Message);
    }
}
