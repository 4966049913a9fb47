using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Tests.Gguf;

namespace BitNet.Runtime.Tests.Quantization;

/// <summary>
/// The shipped reference models hold the same weights in F32 (t*s as floats) and in TQ1_0 / TQ2_0 / I2_S written by
/// llama.cpp and bitnet.cpp. Decoding each ternary tensor must give the F32 file's values exactly (which proves the
/// dequantizers and the layouts), and re-encoding the F32 values must give the files' bytes exactly (which proves
/// the quantizers against the real tools' output).
/// One caveat found here: the TQ formats store each block's scale as f16, and stories3m's per-tensor scales are not
/// f16-exact (e.g. 2.1178865 in F32 / I2_S, 2.1171875 in TQ), so a TQ tensor decodes to the F32 value rounded to f16,
/// which is t * f16(s). The tiny-random scales are f16-exact, so there the rounding is the identity.
/// </summary>
public class ReferenceFileCrossCheckTests
{
    public static TheoryData<string, string> QuantizedFiles() => new()
    {
        { "reference/stories3m/stories3m-f32.gguf", "reference/stories3m/stories3m-tq1_0.gguf" },
        { "reference/stories3m/stories3m-f32.gguf", "reference/stories3m/stories3m-tq2_0.gguf" },
        { "reference/stories3m/stories3m-f32.gguf", "reference/stories3m/stories3m-i2_s.gguf" },
        { "reference/tiny-random/tiny-b158-f32.gguf", "reference/tiny-random/tiny-b158-tq1_0.gguf" },
        { "reference/tiny-random/tiny-b158-f32.gguf", "reference/tiny-random/tiny-b158-tq2_0.gguf" },
        { "reference/tiny-random/tiny-b158-f32.gguf", "reference/tiny-random/tiny-b158-i2_s.gguf" },
        { "reference/tiny-random/tiny-bitnet-f32.gguf", "reference/tiny-random/tiny-bitnet-tq1_0.gguf" },
        { "reference/tiny-random/tiny-bitnet-f32.gguf", "reference/tiny-random/tiny-bitnet-tq2_0.gguf" },
    };

    [Theory]
    [MemberData(nameof(QuantizedFiles))]
    public void TernaryTensorsDecodeToTheF32FilesValues(string f32Path, string quantizedPath)
    {
        using var f32 = GgufFile.Open(SharedTestFiles.Path(f32Path));
        using var q = GgufFile.Open(SharedTestFiles.Path(quantizedPath));
        int checkedTensors = 0;
        foreach (var t in q.Tensors)
        {
            if (t.Format is not { IsTernary: true } format) continue;
            var reference = f32.GetTensor(t.Name);
            Assert.Equal(reference.Shape, t.Shape);
            Assert.Equal(GgmlType.F32, reference.Format!.Type);
            int k = (int)t.Shape[0], rows = (int)t.Rows;
            var expected = ReferenceQuantizerTests.Dequantize(reference.Format, f32.GetTensorData(reference).ToArray(), k, rows);
            if (format.Type != GgmlType.I2_S) expected = Array.ConvertAll(expected, v => (float)(Half)v); // TQ: d is f16
            var actual = ReferenceQuantizerTests.Dequantize(format, q.GetTensorData(t).ToArray(), k, rows);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{t.Name}: {format.Name} decodes differently from the F32 file");
            checkedTensors++;
        }
        Assert.Equal(7 * (int)q.Metadata.GetInt($"{q.Architecture}.block_count"), checkedTensors);
    }

    [Fact]
    public void TinyRandomScalesAreF16ExactSoEveryEncodingDecodesIdentically()
    {
        using var f32 = GgufFile.Open(SharedTestFiles.Path("reference/tiny-random/tiny-b158-f32.gguf"));
        foreach (var t in f32.Tensors)
        {
            var values = ReferenceQuantizerTests.Dequantize(t.Format!, f32.GetTensorData(t).ToArray(), (int)t.Shape[0], (int)t.Rows);
            Assert.All(values, v => Assert.Equal(v, (float)(Half)v));
        }
    }

    [Theory]
    [MemberData(nameof(QuantizedFiles))]
    public void ReencodingTheF32ValuesReproducesTheFilesBytes(string f32Path, string quantizedPath)
    {
        using var f32 = GgufFile.Open(SharedTestFiles.Path(f32Path));
        using var q = GgufFile.Open(SharedTestFiles.Path(quantizedPath));
        foreach (var t in q.Tensors)
        {
            if (t.Format is not { IsTernary: true } format) continue;
            var reference = f32.GetTensor(t.Name);
            var values = ReferenceQuantizerTests.Dequantize(reference.Format!, f32.GetTensorData(reference).ToArray(), (int)t.Shape[0], (int)t.Rows);
            var encoded = ReferenceQuantizer.Quantize(format.Type, values, t.Shape[0]);
            Assert.True(q.GetTensorData(t).SequenceEqual(encoded), $"{t.Name}: re-encoded {format.Name} bytes differ from the file");
        }
    }
}
