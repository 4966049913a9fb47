using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Model;
using BitNet.Runtime.Tests.Reference;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>
/// The tiny-random model as Hugging Face directories (../shared/reference/tiny-hf) against tiny-random's cases: packed
/// U8 + weight_scale repacked at load, latent BF16 ternarized at load, sharded, and the weight_scale trap.
/// </summary>
public sealed class HuggingFaceReferenceTests(ITestOutputHelper output) : IDisposable
{
    private readonly HfFixtures _fixtures = new();

    private static IReadOnlyList<ReferenceCase> Cases => ReferenceModelTests.Cases("tiny-random");

    private void AssertPasses(string dir)
    {
        var results = ReferenceCheck.Run(dir, Cases);
        Assert.Equal(Cases.Count, results.Count);
        foreach (var r in results)
        {
            output.WriteLine(r.ToString());
            Assert.True(r.Passes, r.ToString());
        }
    }

    [Theory]
    [InlineData("packed")]
    [InlineData("bf16")]
    public void DirectoryReproducesTinyRandomCases(string layout) =>
        AssertPasses(TestPaths.SharedFile("reference", "tiny-hf", layout));

    [Fact]
    public void ShardedDirectoryWithIndexReproducesTheCases() =>
        AssertPasses(_fixtures.Variant("sharded", HfFixtures.Packed, shards: 3));

    [Fact]
    public void BitLinearClassDividesByTheStoredScale()
    {
        // The same weights as the old BitLinear class stores them: 1/s, and linear_class says so.
        AssertPasses(_fixtures.Variant("bitlinear", HfFixtures.Packed,
            c => c["quantization_config"]!["linear_class"] = "bitlinear", HfFixtures.InvertScales));
    }

    [Fact]
    public void ReadingTheScaleTheWrongWayFailsTheCases()
    {
        // Inverted scales read as autobitlinear (and original scales read as bitlinear) must be caught by the cases.
        foreach (var dir in new[]
        {
            _fixtures.Variant("wrong-a", HfFixtures.Packed, rewrite: HfFixtures.InvertScales),
            _fixtures.Variant("wrong-b", HfFixtures.Packed, c => c["quantization_config"]!["linear_class"] = "bitlinear"),
        })
        {
            var results = ReferenceCheck.Run(dir, Cases);
            Assert.All(results, r => Assert.False(r.Logits.Passes, r.ToString()));
        }
    }

    [Fact]
    public void PackedWeightsWithoutLinearClassAreRefusedNotGuessed()
    {
        string dir = _fixtures.Variant("no-class", HfFixtures.Packed, c => c["quantization_config"]!.AsObject().Remove("linear_class"));
        var e = Assert.Throws<InvalidDataException>(() => BitNetModel.Load(dir));
        Assert.Contains("linear_class", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void HfDirectoryLoadsTheSameWeightsAsTheGguf()
    {
        using var gguf = BitNetModel.Load(TestPaths.SharedFile("reference", "tiny-random", "tiny-b158-f32.gguf"));
        var progress = new List<string>();
        using var hf = BitNetModel.Load(HfFixtures.Packed, new ModelLoadOptions { Progress = new SyncProgress(progress.Add) });
        Assert.Equal(gguf.Config with { }, hf.Config with { });
        Assert.True(hf.Weights.TiedHead);
        Assert.NotEmpty(progress);
        Assert.Contains("28/28", progress[^1]);
        for (int l = 0; l < gguf.Config.Layers; l++)
        {
            var a = gguf.Weights.Layers[l].Matrices.ToArray();
            var b = hf.Weights.Layers[l].Matrices.ToArray();
            for (int m = 0; m < a.Length; m++)
            {
                Assert.Equal(a[m].TensorScale, b[m].TensorScale);
                unsafe
                {
                    Assert.True(new ReadOnlySpan<byte>(a[m].Data, (int)a[m].TotalBytes).SequenceEqual(new ReadOnlySpan<byte>(b[m].Data, (int)b[m].TotalBytes)),
                        $"layer {l} {a[m].Name}: codes differ");
                }
            }
        }
    }

    public void Dispose() => _fixtures.Dispose();

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests need the report on the calling thread.</summary>
    private sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
