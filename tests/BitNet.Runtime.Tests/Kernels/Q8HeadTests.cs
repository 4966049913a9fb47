using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Threading;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>The optional 8-bit LM head: exact Q8_0 arithmetic, and its cost on a real model's logits.</summary>
public sealed unsafe class Q8HeadTests(ITestOutputHelper output)
{
    [Fact]
    public void RowDotsEqualTheQ8_0ArithmeticDoneByHand()
    {
        const int k = 256, n = 37;
        var rng = new Random(3);
        var w = new float[k * n];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);
        var x = new float[k];
        for (int i = 0; i < k; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
        fixed (float* wp = w)
        fixed (float* xp = x)
        {
            var source = new FloatMatrix("w", TensorFormats.F32, (byte*)wp, w.Length * 4L, k, n);
            using var q8 = new Q8RowMatrix(source);
            var y = new float[n];
            fixed (float* yp = y) q8.MatMul(KernelSet.Best, xp, 1, k, yp, n, 0, n, new float[k]);

            var xq = new sbyte[k]; var xd = new float[k / 32];
            Q8RowMatrix.Quantize(x, xq, xd);
            for (int r = 0; r < n; r++)
            {
                var wq = new sbyte[k]; var wd = new float[k / 32];
                Q8RowMatrix.Quantize(w.AsSpan(r * k, k), wq, wd);
                double expected = 0;
                for (int b = 0; b < k / 32; b++)
                {
                    int isum = 0;
                    for (int i = 0; i < 32; i++) isum += wq[b * 32 + i] * xq[b * 32 + i];
                    expected += isum * (double)(wd[b] * xd[b]);
                }
                Assert.Equal(expected, y[r], 3);
                double exact = 0;
                for (int i = 0; i < k; i++) exact += w[r * k + i] * x[i];
                Assert.True(Math.Abs(exact - y[r]) < 0.02 * Math.Sqrt(k), $"row {r}: q8 {y[r]} vs exact {exact}");
            }
        }
    }

    [Fact]
    public void Q8HeadOnTheBundledModelStaysCloseToTheNativeHead()
    {
        string path = TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf");
        using var native = BitNetModel.Load(path);
        using var q8 = BitNetModel.Load(path, new ModelLoadOptions { Head = HeadFormat.Q8_0 });
        using var pool = new WorkerPool(2);
        var tokens = ReferenceModelTests.Cases("stories3m")[3].AllTokens; // the 334-token story
        float[] a, b;
        using (var s = new ModelSession(native, pool)) a = s.Feed(tokens, allLogits: true);
        using (var s = new ModelSession(q8, pool)) b = s.Feed(tokens, allLogits: true);
        int vocab = native.Config.Vocab;
        var rows = Enumerable.Range(0, tokens.Length).Select(r => a.AsSpan(r * vocab, vocab).ToArray()).ToArray();
        var report = LogitComparison.Compare(rows, b, vocab);
        double nllNative = 0, nllQ8 = 0;
        for (int i = 0; i + 1 < tokens.Length; i++)
        {
            nllNative -= LogSoftmax(a.AsSpan(i * vocab, vocab), tokens[i + 1]);
            nllQ8 -= LogSoftmax(b.AsSpan(i * vocab, vocab), tokens[i + 1]);
        }
        double pplNative = Math.Exp(nllNative / (tokens.Length - 1)), pplQ8 = Math.Exp(nllQ8 / (tokens.Length - 1));
        output.WriteLine($"Q8_0 head vs native F32 head on stories3m: {report}; perplexity {pplNative:F4} -> {pplQ8:F4}");
        Assert.True(report.MeanKl < 1e-3, report.ToString());
        Assert.True(Math.Abs(pplQ8 - pplNative) / pplNative < 0.01, $"perplexity {pplNative} -> {pplQ8}");
    }

    [Theory]
    [InlineData("", HeadFormat.Native)]
    [InlineData("native", HeadFormat.Native)]
    [InlineData("F16", HeadFormat.Native)]
    [InlineData("q8_0", HeadFormat.Q8_0)]
    public void HeadNamesParse(string text, HeadFormat expected) => Assert.Equal(expected, ModelLoadOptions.ParseHead(text));

    [Fact]
    public void AnUnknownHeadNameIsRefusedWithTheChoices() =>
        Assert.Contains("native, q8_0", Assert.Throws<ArgumentException>(() => ModelLoadOptions.ParseHead("q4")).Message);

    private static double LogSoftmax(ReadOnlySpan<float> logits, int index)
    {
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in logits) sum += Math.Exp(v - max);
        return logits[index] - max - Math.Log(sum);
    }
}
