using BitNet.Cli.Commands;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet bench -d`: decode after a long context, fitted to the model's context.</summary>
public sealed class BenchDepthTests
{
    [Fact]
    public void TheDepthIsClampedSoThatItAndTheGeneratedTokensFitTheContext()
    {
        Assert.Equal((400, null), BenchLengths.FitDepth(400, 64, 512));
        Assert.Equal((446, null), BenchLengths.FitDepth(446, 64, 512));
        var (d, note) = BenchLengths.FitDepth(4000, 64, 512);
        Assert.Equal(446, d);
        Assert.Contains("-d 4000 -> 446", note);
        Assert.Equal(0, BenchLengths.FitDepth(10, 600, 512).Depth);
    }

    [Theory]
    [InlineData(KvCacheType.F16)]
    [InlineData(KvCacheType.Q8_0)]
    public void DecodeRunsFromADeepContextAndRefusesOneThatDoesNotFit(KvCacheType kv)
    {
        using var model = BitNetModel.Load(CliHost.StoriesModel);
        using var pool = new WorkerPool(1);
        var bench = new EngineBenchmark(model, pool, kv);
        var deep = bench.Decode(batch: 2, tokens: 4, repetitions: 1, depth: 480);
        Assert.True(deep.MedianTokS > 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => bench.Decode(1, 4, 1, depth: model.Config.Context - 5));
    }

    [Fact]
    public void ThePrefillProfileCoversOnlyTheMeasuredPasses()
    {
        // The stages are timed inside each pass, so their sum cannot exceed the measured pass; with the warm-up pass
        // in the profile (as before) it came to several times that (0.18 s against a 0.04 s pass on this model).
        using var model = BitNetModel.Load(CliHost.StoriesModel);
        using var pool = new WorkerPool(1);
        var profile = new ForwardProfile();
        var prefill = new EngineBenchmark(model, pool).Prefill(tokens: 64, repetitions: 1, profile);
        double passSeconds = 64 / prefill.MedianTokS;
        Assert.True(profile.Total.TotalSeconds > 0);
        Assert.True(profile.Total.TotalSeconds <= passSeconds, $"profile {profile.Total.TotalSeconds:F4} s, pass {passSeconds:F4} s");
    }
}
