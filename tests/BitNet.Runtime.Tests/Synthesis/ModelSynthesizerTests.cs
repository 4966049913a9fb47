using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Synthesis;
using BitNet.Runtime.Tests.Gguf;

namespace BitNet.Runtime.Tests.Synthesis;

public sealed class ModelSynthesizerTests : IDisposable
{
    private const long OfficialI2SFileBytes = 1_187_801_280;
    private readonly string _dir = Directory.CreateTempSubdirectory("bitnet-synth-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, GgmlType> ArchitecturesAndWeightTypes()
    {
        var data = new TheoryData<string, GgmlType>();
        foreach (string arch in SynthesisOptions.SupportedArchitectures)
            foreach (var type in SynthesisOptions.SupportedWeightTypes)
                data.Add(arch, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndWeightTypes))]
    public void TinyModelReopensWithTheExpectedTensorsAndTernaryValues(string arch, GgmlType weightType)
    {
        var options = new SynthesisOptions { Arch = arch, WeightType = weightType, Seed = 3 };
        string path = Synthesize(options);
        var s = SynthesisShape.Tiny;
        using var f = GgufFile.Open(path);
        Assert.Equal(ModelSynthesizer.ComputeFileSize(options), f.Length);
        Assert.Equal(arch, f.Architecture);
        var md = f.Metadata;
        Assert.Equal(s.Embedding, md.GetInt($"{arch}.embedding_length"));
        Assert.Equal(s.Layers, md.GetInt($"{arch}.block_count"));
        Assert.Equal(s.Heads, md.GetInt($"{arch}.attention.head_count"));
        Assert.Equal(s.KvHeads, md.GetInt($"{arch}.attention.head_count_kv"));
        Assert.Equal(s.FeedForward, md.GetInt($"{arch}.feed_forward_length"));
        Assert.Equal(s.HeadDim, md.GetInt($"{arch}.rope.dimension_count"));
        Assert.Equal(ModelSynthesizer.FileTypeOf(weightType), md.GetInt("general.file_type"));
        Assert.Equal(arch == "bitnet" ? "relu2" : null, md.GetStringOrNull($"{arch}.hidden_activation"));
        bool llama = arch == "llama"; // no SubLN, untied head
        Assert.Equal(llama ? 3 + 9 * s.Layers : 2 + 11 * s.Layers, f.Tensors.Count);
        Assert.Equal(llama, f.TryGetTensor("output.weight", out _));

        var embd = f.GetTensor("token_embd.weight");
        Assert.Equal([s.Embedding, s.Vocab], embd.Shape);
        Assert.Equal(GgmlType.F32, embd.Format!.Type); // tiny default
        var embedding = Decode(f, embd);
        double sd = Math.Sqrt(embedding.Sum(v => (double)v * v) / embedding.Length);
        Assert.InRange(sd, 0.09, 0.11); // sigma = clamp(2/sqrt(256), 0.02, 0.1) = 0.1

        foreach (var (name, shape) in ExpectedTensors(s, subNorms: !llama))
        {
            var t = f.GetTensor(name);
            Assert.Equal(shape, t.Shape);
            bool norm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            Assert.Equal(norm ? GgmlType.F32 : weightType, t.Format!.Type);
            var values = Decode(f, t);
            if (norm)
            {
                Assert.All(values, v => Assert.InRange(v, 0.899f, 1.101f)); // [0.9, 1.1] rounded to f16
                continue;
            }
            AssertTernary(name, values, (int)shape[0]);
        }
    }

    [Fact]
    public void SameSeedGivesByteIdenticalFilesAndAnotherSeedDoesNot()
    {
        var options = new SynthesisOptions { WeightType = GgmlType.I2_S, Seed = 11 };
        byte[] first = File.ReadAllBytes(Synthesize(options, "a.gguf"));
        byte[] second = File.ReadAllBytes(Synthesize(options, "b.gguf"));
        byte[] other = File.ReadAllBytes(Synthesize(options with { Seed = 12 }, "c.gguf"));
        Assert.True(first.AsSpan().SequenceEqual(second), "the same seed produced different bytes");
        Assert.Equal(first.Length, other.Length);
        Assert.False(first.AsSpan().SequenceEqual(other), "a different seed produced the same bytes");
    }

    [Fact]
    public void EveryEncodingOfOneSeedHoldsTheSameWeights()
    {
        var baseline = new SynthesisOptions { WeightType = GgmlType.F32, Seed = 5 };
        using var reference = GgufFile.Open(Synthesize(baseline, "f32.gguf"));
        foreach (var type in new[] { GgmlType.F16, GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S })
        {
            using var f = GgufFile.Open(Synthesize(baseline with { WeightType = type, EmbeddingType = GgmlType.F16 }, $"{type}.gguf"));
            foreach (var t in reference.Tensors)
                Assert.True(Decode(reference, t).AsSpan().SequenceEqual(Decode(f, f.GetTensor(t.Name))), $"{type}: {t.Name} differs from the F32 file");
        }
    }

    [Theory]
    [InlineData("tiny-random/tiny-b158-i2_s.gguf", "bitnet-b1.58", GgmlType.I2_S)]
    [InlineData("tiny-random/tiny-b158-tq1_0.gguf", "bitnet-b1.58", GgmlType.TQ1_0)]
    [InlineData("tiny-random/tiny-b158-f32.gguf", "bitnet-b1.58", GgmlType.F32)]
    [InlineData("tiny-random/tiny-bitnet-tq2_0.gguf", "bitnet", GgmlType.TQ2_0)]
    [InlineData("tiny-random/tiny-bitnet-f16.gguf", "bitnet", GgmlType.F16)]
    public void MirrorsTheReferenceFilesLayout(string referenceFile, string arch, GgmlType weightType)
    {
        using var reference = GgufFile.Open(SharedTestFiles.Path("reference/" + referenceFile));
        var rmd = reference.Metadata;
        var embd = reference.GetTensor("token_embd.weight");
        var options = new SynthesisOptions
        {
            Arch = arch, WeightType = weightType, EmbeddingType = embd.Format!.Type,
            Embedding = (int)rmd.GetInt($"{arch}.embedding_length"), Layers = (int)rmd.GetInt($"{arch}.block_count"),
            Heads = (int)rmd.GetInt($"{arch}.attention.head_count"), KvHeads = (int)rmd.GetInt($"{arch}.attention.head_count_kv"),
            FeedForward = (int)rmd.GetInt($"{arch}.feed_forward_length"), Vocab = (int)embd.Shape[1],
            Context = (int)rmd.GetInt($"{arch}.context_length"),
        };
        using var f = GgufFile.Open(Synthesize(options));

        // Same keys with the same value types, apart from the generators' own notes and the eot id we add.
        var expectedKeys = rmd.Values.Where(kv => !kv.Key.StartsWith("ref.", StringComparison.Ordinal))
            .Select(kv => $"{kv.Key}:{kv.Value.Type}/{(kv.Value.IsArray ? kv.Value.ElementType : "-")}").ToList();
        var actualKeys = f.Metadata.Values.Where(kv => !kv.Key.StartsWith("synth.", StringComparison.Ordinal) && kv.Key != "tokenizer.ggml.eot_token_id")
            .Select(kv => $"{kv.Key}:{kv.Value.Type}/{(kv.Value.IsArray ? kv.Value.ElementType : "-")}").ToList();
        Assert.Equal(expectedKeys, actualKeys);
        foreach (string key in new[] { "embedding_length", "rope.dimension_count", "attention.layer_norm_rms_epsilon", "rope.freq_base", "vocab_size" })
            Assert.Equal(rmd.Get($"{arch}.{key}").Value, f.Metadata.Get($"{arch}.{key}").Value);
        Assert.Equal(rmd.GetInt("general.file_type"), f.Metadata.GetInt("general.file_type"));
        Assert.Equal("gpt2", f.Metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal(rmd.GetInt("tokenizer.ggml.bos_token_id"), f.Metadata.GetInt("tokenizer.ggml.bos_token_id"));
        Assert.Equal(rmd.GetInt("tokenizer.ggml.eos_token_id"), f.Metadata.GetInt("tokenizer.ggml.eos_token_id"));

        // The same tensor table: names in order, shapes, types, data offsets and sizes.
        Assert.Equal(reference.Tensors.Count, f.Tensors.Count);
        for (int i = 0; i < f.Tensors.Count; i++)
        {
            GgufTensorInfo r = reference.Tensors[i], t = f.Tensors[i];
            Assert.Equal((r.Name, r.TypeId, r.Offset, r.ByteSize), (t.Name, t.TypeId, t.Offset, t.ByteSize));
            Assert.Equal(r.Shape, t.Shape);
        }
    }

    [Fact]
    public void The2B4TShapeMatchesTheOfficialFileSize()
    {
        var options = new SynthesisOptions { Shape = "2b4t", WeightType = GgmlType.I2_S };
        Assert.Equal(GgmlType.F16, options.ResolveEmbeddingType());
        long size = ModelSynthesizer.ComputeFileSize(options);
        // Tensor data alone is fixed by the shape: F16 embeddings, 30 x (7 I2_S + 4 F32 norms), the output norm.
        const long data = 128256L * 2560 * 2 + 30 * (2 * (2560L * 2560 / 4 + 32) + 2 * (2560L * 640 / 4 + 32)
            + 3 * (2560L * 6912 / 4 + 32) + 3 * 2560 * 4 + 6912 * 4) + 2560 * 4;
        Assert.InRange(size - data, 1_000_000, 10_000_000); // the header: vocabulary, merges, tensor table
        Assert.InRange(size, OfficialI2SFileBytes * 0.99, OfficialI2SFileBytes * 1.01);
    }

    [Fact]
    public void The2B4TVocabularyPutsLlama3SpecialsAtTheirIds()
    {
        var vocab = SyntheticVocabulary.Create(128256, seed: 1);
        Assert.Equal(128256, vocab.Tokens.Length);
        Assert.Equal((128000, 128001, 128009), (vocab.Bos, vocab.Eos, vocab.Eot));
        Assert.Equal("<|begin_of_text|>", vocab.Tokens[128000]);
        Assert.Equal("<|end_of_text|>", vocab.Tokens[128001]);
        Assert.Equal("<|eot_id|>", vocab.Tokens[128009]);
        Assert.Equal("<|start_header_id|>", vocab.Tokens[128006]);
        Assert.Equal("<|reserved_special_token_250|>", vocab.Tokens[128255]);
        for (int id = 0; id < vocab.Tokens.Length; id++)
            Assert.Equal(id >= 128000 ? SyntheticVocabulary.TypeControl : SyntheticVocabulary.TypeNormal, vocab.TokenTypes[id]);
        Assert.Equal(128000 - 256, vocab.Merges.Length);
        AssertValidBpe(vocab);
    }

    [Fact]
    public void TinyVocabularyIsAValidByteLevelBpe()
    {
        var vocab = SyntheticVocabulary.Create(SynthesisShape.Tiny.Vocab, seed: 2);
        Assert.Equal("!", vocab.Tokens[0]);
        Assert.Equal("Ġ", vocab.Tokens[220]); // space in GPT-2's byte alphabet
        Assert.Equal("Ń", vocab.Tokens[255]);
        Assert.Equal(256, vocab.Tokens.Take(256).Distinct().Count());
        Assert.Equal(["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"], vocab.Tokens[^5..]);
        Assert.Equal((507, 508, 511), (vocab.Bos, vocab.Eos, vocab.Eot));
        AssertValidBpe(vocab);
    }

    [Fact]
    public void TokenizerReadsTheSynthesizedVocabulary()
    {
        using var f = GgufFile.Open(Synthesize(new SynthesisOptions { Seed = 9 }));
        var tokenizer = BitNet.Runtime.Tokenization.TextTokenizer.FromGguf(f.Metadata);
        const string text = "the quick brown fox, 123 héllo!";
        int[] ids = tokenizer.Encode("<|begin_of_text|>" + text, addBos: false, parseSpecial: true);
        Assert.Equal(507, ids[0]);
        Assert.Equal(text, tokenizer.Decode(ids.AsSpan(1)));
        Assert.True(tokenizer.IsEndOfGeneration(511) && tokenizer.IsEndOfGeneration(508));
    }

    [Fact]
    public void ProgressRisesToOne()
    {
        var reports = new List<double>();
        ModelSynthesizer.Write(new SynthesisOptions(), Path.Combine(_dir, "p.gguf"), new SynchronousProgress(reports.Add));
        Assert.True(reports.Count > 10);
        for (int i = 1; i < reports.Count; i++) Assert.True(reports[i] >= reports[i - 1]);
        Assert.Equal(1.0, reports[^1]);
    }

    [Theory]
    [InlineData("qwen2", "tiny", GgmlType.I2_S, null, "Arch")]
    [InlineData("bitnet", "huge", GgmlType.I2_S, null, "Shape")]
    [InlineData("bitnet", "tiny", GgmlType.Q8_0, null, "WeightType")]
    [InlineData("bitnet", "tiny", GgmlType.TQ2_0, 384, "Embedding")] // 384 is not a multiple of 256
    [InlineData("bitnet", "tiny", GgmlType.I2_S, 258, "Heads")]      // 258 is not a multiple of 4 heads
    public void RejectsInvalidOptions(string arch, string shape, GgmlType type, int? embedding, string param)
    {
        var options = new SynthesisOptions { Arch = arch, Shape = shape, WeightType = type, Embedding = embedding };
        var e = Assert.ThrowsAny<ArgumentException>(() => ModelSynthesizer.ComputeFileSize(options));
        Assert.Equal(param, e.ParamName);
    }

    private static IEnumerable<(string, long[])> ExpectedTensors(SynthesisShape s, bool subNorms = true)
    {
        yield return ("output_norm.weight", [s.Embedding]);
        for (int l = 0; l < s.Layers; l++)
        {
            yield return ($"blk.{l}.attn_norm.weight", [s.Embedding]);
            yield return ($"blk.{l}.attn_q.weight", [s.Embedding, s.Embedding]);
            yield return ($"blk.{l}.attn_k.weight", [s.Embedding, s.KvDim]);
            yield return ($"blk.{l}.attn_v.weight", [s.Embedding, s.KvDim]);
            if (subNorms) yield return ($"blk.{l}.attn_sub_norm.weight", [s.Embedding]);
            yield return ($"blk.{l}.attn_output.weight", [s.Embedding, s.Embedding]);
            yield return ($"blk.{l}.ffn_norm.weight", [s.Embedding]);
            yield return ($"blk.{l}.ffn_gate.weight", [s.Embedding, s.FeedForward]);
            yield return ($"blk.{l}.ffn_up.weight", [s.Embedding, s.FeedForward]);
            if (subNorms) yield return ($"blk.{l}.ffn_sub_norm.weight", [s.FeedForward]);
            yield return ($"blk.{l}.ffn_down.weight", [s.FeedForward, s.Embedding]);
        }
    }

    /// <summary>Exactly {-s, 0, +s} with s of order 1/sqrt(K), each value present, about a third zeros.</summary>
    private static void AssertTernary(string name, float[] values, int k)
    {
        float s = values.Max();
        Assert.True(s > 0.7f / MathF.Sqrt(k) && s < 1.3f / MathF.Sqrt(k), $"{name}: scale {s} for K = {k}");
        int zeros = 0, minus = 0;
        foreach (float v in values)
        {
            if (v == 0) zeros++;
            else if (v == -s) minus++;
            else Assert.True(v == s, $"{name}: value {v} is not in {{-{s}, 0, {s}}}");
        }
        Assert.InRange(zeros / (double)values.Length, 0.30, 0.37);
        Assert.InRange(minus / (double)values.Length, 0.30, 0.37);
    }

    private static void AssertValidBpe(SyntheticVocabulary vocab)
    {
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < vocab.Tokens.Length; id++) Assert.True(rank.TryAdd(vocab.Tokens[id], id), $"token '{vocab.Tokens[id]}' appears twice");
        for (int m = 0; m < vocab.Merges.Length; m++)
        {
            string[] parts = vocab.Merges[m].Split(' ');
            Assert.Equal(2, parts.Length);
            // Both halves exist before the merge's result, which is the next token id.
            Assert.True(rank[parts[0]] < 256 + m && rank[parts[1]] < 256, vocab.Merges[m]);
            Assert.Equal(256 + m, rank[parts[0] + parts[1]]);
        }
    }

    private string Synthesize(SynthesisOptions options, string name = "model.gguf")
    {
        string path = Path.Combine(_dir, name);
        ModelSynthesizer.Write(options, path);
        return path;
    }

    private static float[] Decode(GgufFile f, GgufTensorInfo t) =>
        Quantization.ReferenceQuantizerTests.Dequantize(t.Format!, f.GetTensorData(t).ToArray(), (int)t.Shape[0], (int)t.Rows);

    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
