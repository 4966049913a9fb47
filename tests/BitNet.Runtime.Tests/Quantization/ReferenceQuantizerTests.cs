using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Tests.Quantization;

public class ReferenceQuantizerTests
{
    public static TheoryData<GgmlType, int> TernaryFormatsAndWidths()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in new[] { GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S })
            foreach (int k in new[] { 256, 512, 768, 2560 })
                data.Add(type, k);
        data.Add(GgmlType.I2_S, 128);
        data.Add(GgmlType.I2_S, 384);
        return data;
    }

    [Theory]
    [MemberData(nameof(TernaryFormatsAndWidths))]
    public void TernaryValuesRoundTripExactly(GgmlType type, int k)
    {
        var random = new Random(k * 31 + (int)type);
        const int rows = 3;
        // The scale must be f16-exact: TQ formats store d as f16 (I2_S as f32, which holds any f16).
        float scale = (float)(Half)(0.01f + random.NextSingle());
        var values = new float[k * rows];
        for (int i = 0; i < values.Length; i++) values[i] = (random.Next(3) - 1) * scale;
        // One block entirely +s and the last one entirely zero (d = 0 in ggml's TQ rule) exercise the edges.
        values.AsSpan(0, 128).Fill(scale);
        values.AsSpan(values.Length - 256, 256).Clear();
        if (type != GgmlType.I2_S) values[^1] = -scale; // a TQ block's d is its own amax: keep one nonzero in the last block

        var bytes = ReferenceQuantizer.Quantize(type, values, k);
        var format = TensorFormats.Get(type);
        Assert.Equal(format.TensorBytes(k, rows), bytes.Length);
        var decoded = Dequantize(format, bytes, k, rows);
        Assert.Equal(values, decoded);
    }

    [Fact]
    public void AllZeroTernaryBlocksDecodeToZero()
    {
        var zeros = new float[256];
        foreach (var type in new[] { GgmlType.TQ1_0, GgmlType.TQ2_0 })
            Assert.All(Dequantize(TensorFormats.Get(type), ReferenceQuantizer.Quantize(type, zeros, 256), 256, 1), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void TQ1_0PacksEveryBase3GroupValue()
    {
        // Across 243 blocks, qs byte m of block b holds the base-3 digits of (b + m) % 243 and qh byte j those of
        // (b + j) % 81: every fixed-point byte value the format can hold is written and read back.
        var codes = new byte[256];
        var decoded = new byte[256];
        var block = new byte[54];
        for (int b = 0; b < 243; b++)
        {
            for (int m = 0; m < 32; m++) SetDigits(codes, m, 32, 5, (b + m) % 243);
            for (int m = 0; m < 16; m++) SetDigits(codes, 160 + m, 16, 5, (b + m) % 243);
            for (int j = 0; j < 4; j++) SetDigits(codes, 240 + j, 4, 4, (b + j) % 81);
            ReferenceQuantizer.TQ1_0Block(codes, (Half)1, block);
            ReferenceDequantizer.TQ1_0Codes(block, decoded);
            Assert.Equal(codes, decoded);
        }

        static void SetDigits(byte[] codes, int first, int stride, int count, int value)
        {
            for (int n = count - 1; n >= 0; n--, value /= 3) codes[first + n * stride] = (byte)(value % 3); // first element most significant
        }
    }

    [Fact]
    public void I2SLayoutPutsTheFirstGroupInTheHighBits()
    {
        var codes = new byte[128];
        Array.Fill(codes, (byte)1); // all zeros (code 1 = 0b01): bytes 0b01010101
        codes[0] = 2;   // w[0]  = +1 -> bits 7:6 of byte 0
        codes[33] = 0;  // w[33] = -1 -> bits 5:4 of byte 1
        codes[127] = 2; // w[127] = +1 -> bits 1:0 of byte 31
        var packed = new byte[32];
        ReferenceQuantizer.I2_SPack(codes, packed);
        Assert.Equal(0b10_01_01_01, packed[0]);
        Assert.Equal(0b01_00_01_01, packed[1]);
        Assert.Equal(0b01_01_01_10, packed[31]);
        Assert.All(packed.AsSpan(2, 29).ToArray(), b => Assert.Equal(0x55, b));

        var tensor = new byte[32 + 32];
        var values = Array.ConvertAll(codes, c => (c - 1) * 0.5f);
        ReferenceQuantizer.I2_S(values, 0.5f, tensor);
        Assert.Equal(packed, tensor[..32]);
        Assert.Equal(0.5f, BitConverter.ToSingle(tensor, 32));
        Assert.All(tensor[36..], b => Assert.Equal(0, b)); // padding after the scale
    }

    [Fact]
    public void TQ2_0LayoutPutsTheFirstGroupInTheLowBits()
    {
        var codes = new byte[256];
        Array.Fill(codes, (byte)1);
        codes[0] = 2;   // element 0 -> qs[0] bits 1:0
        codes[96] = 0;  // element 96 = 0 + 32*3 -> qs[0] bits 7:6
        codes[128] = 2; // second half: element 128 -> qs[32] bits 1:0
        var block = new byte[66];
        ReferenceQuantizer.TQ2_0Block(codes, (Half)0.25, block);
        Assert.Equal(0b00_01_01_10, block[0]);
        Assert.Equal(0b01_01_01_10, block[32]);
        Assert.Equal((Half)0.25, BitConverter.ToHalf(block, 64));
    }

    [Fact]
    public void F16AndF32RoundTripF16RepresentableValues()
    {
        var random = new Random(5);
        var values = new float[4096];
        for (int i = 0; i < values.Length; i++)
        {
            int bits = random.Next(0, 0x10000);
            if ((bits & 0x7C00) == 0x7C00) bits &= 0x83FF; // no inf/NaN patterns: clear the exponent
            values[i] = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
        }
        values[0] = 65504f; values[1] = -0f; values[2] = (float)Half.Epsilon; values[3] = float.PositiveInfinity;
        foreach (var type in new[] { GgmlType.F16, GgmlType.F32 })
        {
            var decoded = Dequantize(TensorFormats.Get(type), ReferenceQuantizer.Quantize(type, values, 64), 64, values.Length / 64);
            Assert.Equal(Array.ConvertAll(values, BitConverter.SingleToInt32Bits), Array.ConvertAll(decoded, BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void F16RoundsToNearestEven()
    {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1); 1 + 3*2^-11 goes up.
        float[] values = [1f + MathF.Pow(2, -11), 1f + 3 * MathF.Pow(2, -11), 70000f];
        var decoded = Dequantize(TensorFormats.F16, ReferenceQuantizer.Quantize(GgmlType.F16, values, 3), 3, 1);
        Assert.Equal([1f, 1f + 2 * MathF.Pow(2, -10), float.PositiveInfinity], decoded);
    }

    [Fact]
    public void BF16RoundsToNearestEvenAndRoundTrips()
    {
        Assert.Equal(0x3F80, ReferenceQuantizer.ToBF16(1f + MathF.Pow(2, -8)));          // tie -> even (1.0)
        Assert.Equal(0x3F82, ReferenceQuantizer.ToBF16(1f + 3 * MathF.Pow(2, -8)));      // tie -> even (upwards)
        Assert.Equal(0x3F81, ReferenceQuantizer.ToBF16(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20))); // above the tie
        Assert.Equal(0x7F80, ReferenceQuantizer.ToBF16(float.MaxValue));               // overflows to +inf, as RNE does
        Assert.True(float.IsNaN(BitConverter.Int32BitsToSingle(ReferenceQuantizer.ToBF16(float.NaN) << 16)));
        var random = new Random(6);
        var values = new float[1024];
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(random.Next() & unchecked((int)0xFFFF0000)) * (i % 2 == 0 ? 1 : -1);
        var decoded = Dequantize(TensorFormats.BF16, ReferenceQuantizer.Quantize(GgmlType.BF16, values, 32), 32, 32);
        Assert.Equal(values, decoded);
    }

    [Fact]
    public void Q8_0StaysWithinHalfAStep()
    {
        var random = new Random(8);
        const int k = 1024;
        var values = new float[k * 4];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * (1 + i % 7) * 3;
        var decoded = Dequantize(TensorFormats.Q8_0, ReferenceQuantizer.Quantize(GgmlType.Q8_0, values, k), k, 4);
        for (int b = 0; b < values.Length / 32; b++)
        {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.Max(amax, Math.Abs(values[b * 32 + i]));
            float d = amax / 127;
            // Rounding costs d/2; storing d as f16 (relative error 2^-11) costs at most 127 * d * 2^-11 more.
            float bound = d * (0.5f + 127f / 2048f) * 1.0001f;
            for (int i = 0; i < 32; i++)
                Assert.True(Math.Abs(values[b * 32 + i] - decoded[b * 32 + i]) <= bound, $"block {b} element {i}");
        }
        // Integers in [-127, 127] with amax 127 are exact (d = 1).
        var ints = new float[32];
        for (int i = 0; i < 32; i++) ints[i] = i * 8 - 127;
        ints[31] = 127;
        Assert.Equal(ints, Dequantize(TensorFormats.Q8_0, ReferenceQuantizer.Quantize(GgmlType.Q8_0, ints, 32), 32, 1));
    }

    [Fact]
    public void TernarizeAbsMeanUsesTheMeanMagnitude()
    {
        // Binary fractions keep every quotient exact: mean |w| = 2 / 8 = 0.25.
        float[] w = [0.5f, -0.125f, 0.0625f, -0.5625f, 0f, 0.25f, 0.375f, -0.125f];
        var (codes, scale) = ReferenceQuantizer.TernarizeAbsMean(w);
        Assert.Equal(0.25f, scale);
        // w/s = 2, -0.5, 0.25, -2.25, 0, 1, 1.5, -0.5 -> round half even, clamp to [-1, 1].
        Assert.Equal(new sbyte[] { 1, 0, 0, -1, 0, 1, 1, 0 }, codes);
        var (zeroCodes, zeroScale) = ReferenceQuantizer.TernarizeAbsMean(new float[4]);
        Assert.Equal(1e-5f, zeroScale); // clamped: never a division by zero
        Assert.All(zeroCodes, c => Assert.Equal(0, c));
    }

    [Fact]
    public void TernarizedWeightsEncodeExactlyInEveryTernaryFormat()
    {
        var random = new Random(9);
        var latent = new float[512 * 2];
        for (int i = 0; i < latent.Length; i++) latent[i] = (float)(random.NextDouble() - 0.5);
        var (codes, scale) = ReferenceQuantizer.TernarizeAbsMean(latent);
        float s = (float)(Half)scale;
        var values = Array.ConvertAll(codes, t => t * s);
        foreach (var type in new[] { GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S })
            Assert.Equal(values, Dequantize(TensorFormats.Get(type), ReferenceQuantizer.Quantize(type, values, 512), 512, 2));
    }

    [Fact]
    public void RejectsBadShapesAndBuffers()
    {
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.Quantize(GgmlType.TQ2_0, new float[128], 128));
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.Quantize(GgmlType.F32, new float[10], 3));
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.TQ2_0Row(new float[256], new byte[65]));
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.Q8_0Row(new float[33], new byte[68]));
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.I2_SPack(new byte[128], new byte[31]));
        var badCodes = new byte[256];
        badCodes[7] = 3;
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.TQ1_0Block(badCodes, Half.One, new byte[54]));
        Assert.Throws<ArgumentException>(() => ReferenceQuantizer.I2_SPack(badCodes, new byte[64]));
        Assert.Throws<NotSupportedException>(() => ReferenceQuantizer.Quantize(GgmlType.Q6_K, new float[256], 256));
    }

    internal static float[] Dequantize(TensorFormat format, byte[] bytes, int k, int rows)
    {
        var result = new float[k * rows];
        for (int r = 0; r < rows; r++) format.DequantizeRow(bytes, r, result.AsSpan(r * k, k));
        return result;
    }
}
