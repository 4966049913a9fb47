using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Model;
using BitNet.Runtime.Safetensors;
using BitNet.Runtime.Tests.Reference;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>
/// The real 2B4T repositories store the embedding (and an untied head) as BF16: such a directory loads, reads the
/// matrix in place as BF16, and still reproduces tiny-random's cases; `bitnet convert` writes it as F16.
/// </summary>
public sealed class HuggingFaceBf16HeadTests(ITestOutputHelper output) : IDisposable
{
    private const string EmbeddingName = "model.embed_tokens.weight";
    private readonly HfFixtures _fixtures = new();

    private static SafetensorsWriter.Entry? EmbeddingAsBf16(SafetensorsWriter.Entry e) =>
        e.Name == EmbeddingName ? e with { Dtype = "BF16", Data = HfFixtures.ToBf16(e.Data) } : e;

    [Fact]
    public void ATiedBf16EmbeddingLoadsAndPassesTheCases()
    {
        string dir = _fixtures.Variant("bf16-tied", HfFixtures.Packed, rewrite: EmbeddingAsBf16);
        using (var model = BitNetModel.Load(dir))
        {
            Assert.True(model.Weights.TiedHead);
            Assert.Equal("BF16", model.Weights.Head.FormatName);
        }
        AssertPasses(dir);
    }

    [Fact]
    public void AnUntiedBf16HeadLoadsAndPassesTheCases()
    {
        string dir = _fixtures.Variant("bf16-untied", HfFixtures.Packed,
            c => c["tie_word_embeddings"] = false,
            rewrite: EmbeddingAsBf16,
            add: e => e.Name == EmbeddingName ? e with { Name = "lm_head.weight", Dtype = "BF16", Data = HfFixtures.ToBf16(e.Data) } : null);
        using (var model = BitNetModel.Load(dir))
        {
            Assert.False(model.Weights.TiedHead);
            Assert.Equal("BF16", model.Weights.Head.FormatName);
            Assert.Equal("BF16", model.Weights.Embedding.FormatName);
        }
        AssertPasses(dir);

        // Converted to GGUF the BF16 matrices become F16 (bitnet.cpp has no BF16 head kernel) and still pass.
        string gguf = Path.Combine(_fixtures.Root, "bf16-untied.gguf");
        using (var source = Weights.HuggingFaceDirectory.Open(dir))
            Weights.GgufConverter.Convert(source, gguf);
        using (var converted = BitNetModel.Load(gguf))
        {
            Assert.False(converted.Weights.TiedHead);
            Assert.Equal("F16", converted.Weights.Head.FormatName);
        }
        AssertPasses(gguf);
    }

    [Fact]
    public void AHeadWithTheWrongShapeIsRefusedWithItsName()
    {
        string dir = _fixtures.Variant("bf16-bad-head", HfFixtures.Packed,
            c => c["tie_word_embeddings"] = false,
            add: e => e.Name == EmbeddingName
                ? e with { Name = "lm_head.weight", Dtype = "BF16", Shape = [e.Shape[0] - 1, e.Shape[1]], Data = HfFixtures.ToBf16(e.Data)[..(int)((e.Shape[0] - 1) * e.Shape[1] * 2)] }
                : null);
        var error = Assert.ThrowsAny<Exception>(() => BitNetModel.Load(dir));
        Assert.Contains("output.weight", error.Message);
    }

    private void AssertPasses(string path)
    {
        var cases = ReferenceModelTests.Cases("tiny-random");
        foreach (var r in ReferenceCheck.Run(path, cases))
        {
            output.WriteLine(r.ToString());
            Assert.True(r.Passes, r.ToString());
        }
    }

    public void Dispose() => _fixtures.Dispose();
}
