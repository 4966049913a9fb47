using System.Runtime.Intrinsics.X86;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// Every SIMD kernel against the scalar reference (bit-identical), and the scalar reference against a plain float
/// computation from the reference dequantizers, over many shapes, seeds and extreme activations.
/// </summary>
public sealed unsafe class TernaryKernelTests
{
    public static TheoryData<TernaryLayout, int, int, int> Shapes()
    {
        var data = new TheoryData<TernaryLayout, int, int, int>();
        foreach (var layout in new[] { TernaryLayout.I2S, TernaryLayout.TQ2, TernaryLayout.TQ1 })
        {
            foreach (int k in new[] { 256, 512, 6912, 2560 })
            {
                foreach (int n in new[] { 1, 3, 4, 7, 13 })
                {
                    foreach (int tokens in new[] { 1, 2, 3, 4, 5, 9 })
                        if (k * n * tokens <= 6912 * 13 * 5) data.Add(layout, k, n, tokens);
                }
            }
        }
        data.Add(TernaryLayout.I2S, 128, 5, 1);
        data.Add(TernaryLayout.I2S, 384, 9, 6);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SimdMatchesScalarAndScalarMatchesFloatMath(TernaryLayout layout, int k, int n, int tokens)
    {
        for (int seed = 0; seed < 3; seed++)
        {
            using var fixture = new Fixture(layout, k, n, tokens, seed, ActivationKind.Random);
            fixture.AssertAllPathsAgree();
        }
    }

    [Theory]
    [InlineData(TernaryLayout.I2S, ActivationKind.AllMax)]
    [InlineData(TernaryLayout.I2S, ActivationKind.AllMin)]
    [InlineData(TernaryLayout.TQ2, ActivationKind.AllMax)]
    [InlineData(TernaryLayout.TQ2, ActivationKind.AllMin)]
    [InlineData(TernaryLayout.TQ1, ActivationKind.AllMax)]
    [InlineData(TernaryLayout.TQ1, ActivationKind.AllMin)]
    public void ExtremeActivationsDoNotOverflow(TernaryLayout layout, ActivationKind kind)
    {
        // All +1 weights with all +127 or all -128 codes are the int16 worst case the kernels must survive
        // (absmax quantization never yields -128 itself, so the codes are written directly).
        using var fixture = new Fixture(layout, 6912, 5, 5, seed: 11, kind, allPlusOne: true);
        fixture.AssertAllPathsAgree();
        if (layout != TernaryLayout.I2S) return; // TQ scales vary per block; the float-math oracle above covers them
        float q = kind == ActivationKind.AllMax ? 127f : -128f;
        Assert.Equal(q * 6912 * fixture.WeightScale * fixture.ActivationScale, fixture.RunScalar()[0], 1);
    }

    [Fact]
    public void I2SHostileCodeThreeIsHandledLikeTheDequantizer()
    {
        // Code 3 never appears in valid files; a hostile one must still give the same answer on every path.
        using var fixture = new Fixture(TernaryLayout.I2S, 512, 4, 3, seed: 5, ActivationKind.Random, fillByte: 0xFF);
        fixture.AssertAllPathsAgree();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(6912)]
    public void ActivationQuantizerMatchesScalarDefinition(int length)
    {
        var rng = new Random(length);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 20 - 10);
        x[rng.Next(length)] = 12.5f; // ties: 12.5 * 127 / 12.5 is exactly 127
        var q = new sbyte[length];
        float scale = ActivationQuantizer.Quantize(x, q);
        float m = 0;
        foreach (var v in x) m = Math.Max(m, Math.Abs(v));
        Assert.Equal(m / 127f, scale);
        for (int i = 0; i < length; i++)
        {
            float r = MathF.Round(x[i] * (127f / m), MidpointRounding.ToEven);
            Assert.Equal((sbyte)Math.Clamp(r, -128, 127), q[i]);
        }
    }

    [Fact]
    public void ActivationQuantizerRoundsHalfToEven()
    {
        // m = 127 makes the scale exactly 1, so x is its own quantized value before rounding.
        float[] x = [127f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f];
        var q = new sbyte[x.Length];
        ActivationQuantizer.Quantize(x, q);
        Assert.Equal(new sbyte[] { 127, 0, 2, 2, 0, -2, -2, 3 }, q);
    }

    public enum ActivationKind { Random, AllMax, AllMin }

    private sealed class Fixture : IDisposable
    {
        private readonly NativeBuffer<byte> _weights;
        private readonly QuantizedActivations _act;
        private readonly TernaryMatrix _matrix;
        private readonly int _k, _n, _tokens;
        private readonly float[] _decoded;

        public Fixture(TernaryLayout layout, int k, int n, int tokens, int seed, ActivationKind kind, bool allPlusOne = false, byte? fillByte = null)
        {
            _k = k; _n = n; _tokens = tokens;
            var rng = new Random(seed * 7919 + k + n * 31 + tokens);
            var format = layout switch { TernaryLayout.I2S => TensorFormats.I2_S, TernaryLayout.TQ2 => TensorFormats.TQ2_0, _ => TensorFormats.TQ1_0 };
            long bytes = format.TensorBytes(k, n)!.Value;
            _weights = new NativeBuffer<byte>(bytes);
            var span = new Span<byte>(_weights.Pointer, (int)bytes);
            WeightScale = 0.37f;
            Fill(layout, span, k, n, rng, allPlusOne, fillByte);

            _decoded = new float[k * n];
            for (int r = 0; r < n; r++) format.DequantizeRow(span, r, _decoded.AsSpan(r * k, k));
            _matrix = new TernaryMatrix("test", layout, _weights.Pointer, k, n, layout == TernaryLayout.I2S ? WeightScale : 1f) { OutputScale = 1.25f };

            _act = new QuantizedActivations(tokens, k);
            var x = new float[tokens * k];
            for (int i = 0; i < x.Length; i++)
                x[i] = kind switch { ActivationKind.AllMax => 1f, ActivationKind.AllMin => -1f, _ => (float)(rng.NextDouble() * 2 - 1) * (1 + i % 7) };
            fixed (float* xp = x) _act.Quantize(xp, tokens, k, k);
            if (kind == ActivationKind.AllMin) _act.FillForTesting(-128);
            ActivationScale = _act.Scale[0] * 1.25f;
        }

        public float WeightScale { get; }
        public float ActivationScale { get; }

        private void Fill(TernaryLayout layout, Span<byte> span, int k, int n, Random rng, bool allPlusOne, byte? fillByte)
        {
            if (layout == TernaryLayout.I2S)
            {
                var codes = span[..(k * n / 4)];
                if (fillByte is { } fb) codes.Fill(fb);
                else if (allPlusOne) codes.Fill(0b10_10_10_10);
                else for (int i = 0; i < codes.Length; i++) codes[i] = RandomCodeByte(rng);
                BitConverter.TryWriteBytes(span[(k * n / 4)..], WeightScale);
                return;
            }
            int blockBytes = layout == TernaryLayout.TQ2 ? 66 : 54;
            for (int b = 0; b < span.Length / blockBytes; b++)
            {
                var blk = span.Slice(b * blockBytes, blockBytes);
                var values = new float[256];
                for (int i = 0; i < 256; i++) values[i] = allPlusOne ? 1 : rng.Next(3) - 1;
                values[rng.Next(256)] = 1; // keep amax = 1 so d = 1 * block scale
                float d = (float)(Half)(0.1f + (float)rng.NextDouble());
                for (int i = 0; i < 256; i++) values[i] *= d;
                if (layout == TernaryLayout.TQ2) ReferenceQuantizer.TQ2_0Row(values, blk);
                else ReferenceQuantizer.TQ1_0Row(values, blk);
            }
        }

        private static byte RandomCodeByte(Random rng)
        {
            int b = 0;
            for (int j = 0; j < 4; j++) b = (b << 2) | rng.Next(3);
            return (byte)b;
        }

        public float[] RunScalar()
        {
            var y = new float[_tokens * _n];
            fixed (float* yp = y) TernaryMatMul.ComputeScalar(_matrix, _act, yp, _n, 0, _n);
            return y;
        }

        public void AssertAllPathsAgree()
        {
            var scalar = RunScalar();
            // Scalar against float math over the decoded weights and dequantized activations.
            for (int t = 0; t < _tokens; t++)
            {
                for (int r = 0; r < _n; r++)
                {
                    double expect = 0;
                    for (int i = 0; i < _k; i++) expect += _decoded[r * _k + i] * _act.Q[t * _k + i];
                    expect *= _act.Scale[t] * 1.25;
                    float got = scalar[t * _n + r];
                    Assert.True(Math.Abs(got - expect) <= 1e-4 * Math.Max(1, Math.Abs(expect)), $"t={t} r={r}: scalar {got}, float math {expect}");
                }
            }
            if (!Avx2.IsSupported) return;
            var simd = new float[_tokens * _n];
            fixed (float* yp = simd) TernaryMatMul.ComputeAvx2(_matrix, _act, yp, _n, 0, _n);
            Assert.Equal(scalar, simd);
            // Row sub-ranges (how the worker pool splits work) give the same numbers.
            var split = new float[_tokens * _n];
            fixed (float* yp = split)
            {
                int mid = _n / 2;
                TernaryMatMul.Compute(_matrix, _act, yp, _n, 0, mid);
                TernaryMatMul.Compute(_matrix, _act, yp, _n, mid, _n);
            }
            Assert.Equal(scalar, split);
        }

        public void Dispose()
        {
            _weights.Dispose();
            _act.Dispose();
        }
    }
}
