using BitNet.Runtime.Gguf;
using BitNet.Runtime.Model;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Synthesis;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Tests.Model;

/// <summary>
/// The `llama` graph with ternary projections (Falcon3 / Falcon-E / Llama3-1.58): read as data (no SubLN, SiLU, NORM
/// rope, untied head), runnable from synthesized files, and refused when its weights are not ternary.
/// (Numerics against an exact implementation: ReferenceModelTests on ../shared/reference/tiny-llama.)
/// </summary>
public sealed class LlamaArchitectureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bitnet-llama-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Synthesize(string arch, GgmlType type)
    {
        string path = Path.Combine(_dir, $"{arch}-{type}.gguf");
        ModelSynthesizer.Write(new SynthesisOptions { Arch = arch, WeightType = type, Seed = 5 }, path);
        return path;
    }

    [Theory]
    [InlineData(GgmlType.I2_S)]
    [InlineData(GgmlType.TQ2_0)]
    [InlineData(GgmlType.F32)]
    public void ASynthesizedLlamaModelLoadsAsDataAndRuns(GgmlType type)
    {
        using var model = BitNetModel.Load(Synthesize("llama", type));
        var c = model.Config;
        Assert.Equal("llama", c.Architecture);
        Assert.False(c.SubLayerNorms);
        Assert.Equal(RopeStyle.Norm, c.Rope);
        Assert.Equal(FfnActivation.Silu, c.Activation);
        Assert.False(model.Weights.TiedHead);
        Assert.All(model.Weights.Layers, l => Assert.Null(l.AttnSubNorm));

        using var pool = new WorkerPool(2);
        using var session = new ModelSession(model, pool, maxChunk: 8);
        var logits = session.Feed([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], allLogits: true);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        // Chunked and one-token-at-a-time feeding agree: the rope and cache positions line up.
        session.Reset();
        float[] last = [];
        for (int t = 1; t <= 10; t++) last = session.Feed([t]);
        var batched = logits.AsSpan(9 * c.Vocab, c.Vocab);
        for (int i = 0; i < c.Vocab; i++) Assert.Equal(batched[i], last[i], 3);
    }

    [Fact]
    public void TheBitnetGraphKeepsItsSubNormsAndNeoxRope()
    {
        using var model = BitNetModel.Load(Synthesize("bitnet-b1.58", GgmlType.I2_S));
        Assert.True(model.Config.SubLayerNorms);
        Assert.Equal(RopeStyle.Neox, model.Config.Rope);
        Assert.All(model.Weights.Layers, l => Assert.NotNull(l.AttnSubNorm));
    }

    [Fact]
    public void ALlamaFileWithOrdinaryFloatWeightsIsRefused()
    {
        string path = Synthesize("llama", GgmlType.F32);
        PatchFirstFloat(path, "blk.0.attn_q.weight", 0.123f);
        var e = Assert.Throws<InvalidDataException>(() => BitNetModel.Load(path));
        Assert.Contains("blk.0.attn_q.weight", e.Message);
        Assert.Contains("not ternary", e.Message);
    }

    [Fact]
    public void BitnetLatentFloatWeightsAreStillTernarizedAtLoad()
    {
        string path = Synthesize("bitnet-b1.58", GgmlType.F32);
        PatchFirstFloat(path, "blk.0.attn_q.weight", 0.123f);
        using var model = BitNetModel.Load(path); // absmean, as BitNet b1.58 does
        Assert.Equal("bitnet-b1.58", model.Config.Architecture);
    }

    private static void PatchFirstFloat(string path, string tensor, float value)
    {
        long offset;
        using (var f = GgufFile.Open(path))
        {
            var t = f.GetTensor(tensor);
            Assert.Equal(GgmlType.F32, t.Format!.Type);
            offset = f.DataOffset + t.Offset;
        }
        using var s = File.OpenWrite(path);
        s.Position = offset;
        s.Write(BitConverter.GetBytes(value));
    }
}
