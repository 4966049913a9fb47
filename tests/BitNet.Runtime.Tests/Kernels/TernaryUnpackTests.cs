using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The SIMD code unpackers of the ternary tiles against the scalar definitions, over every byte value in every position
/// of a block (a hostile file can hold any byte, and TQ1_0's arithmetic digit extraction must equal its table for all).
/// </summary>
public sealed unsafe class TernaryUnpackTests
{
    private static byte[] AllBytesIn(int blockBytes, int blocks, int shift)
    {
        var data = new byte[blockBytes * blocks];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7 + shift);
        return data;
    }

    [Fact]
    public void Avx2UnpackersEqualTheScalarDefinitionsForEveryByte()
    {
        if (!Avx2Isa.IsSupported) return; // the x64 rows; arm64 keeps the scalar definitions, which these are
        for (int shift = 0; shift < 256; shift += 37)
        {
            Check(AllBytesIn(32, 16, shift), 16 * 128, (p, c) => Avx2Isa.I2SUnpack(p, 16, c), (p, c) => TernaryTiles.ReferenceI2SUnpack(p, 16, c));
            Check(AllBytesIn(66, 8, shift), 8 * 256, (p, c) => Avx2Isa.TQ2Unpack(p, 8, c), (p, c) => TernaryTiles.ReferenceTQ2Unpack(p, 8, c));
            Check(AllBytesIn(54, 8, shift), 8 * 256, (p, c) => Avx2Isa.TQ1Unpack(p, 8, c), (p, c) =>
            {
                for (int b = 0; b < 8; b++) TernaryKernels.TQ1Codes(p + b * 54, c + b * 256);
            });
        }
    }

    [Fact]
    public void Tq1DotsEqualTheScalarDotForEveryByteAndExtremeActivations()
    {
        if (!Avx2Isa.IsSupported) return;
        var blocks = AllBytesIn(54, 8, 5);
        var q = new sbyte[256];
        var rng = new Random(11);
        foreach (int fill in new[] { 0, 127, -128 })
        {
            for (int i = 0; i < 256; i++) q[i] = fill == 0 ? (sbyte)rng.Next(-128, 128) : (sbyte)fill;
            fixed (byte* bp = blocks) fixed (sbyte* qp = q)
            {
                for (int b = 0; b < 8; b++)
                {
                    byte* blk = bp + b * 54;
                    var codes = new byte[256];
                    fixed (byte* cp = codes) TernaryKernels.TQ1Codes(blk, cp);
                    int want = 0;
                    for (int i = 0; i < 256; i++) want += codes[i] * q[i];
                    // The digit-lane layout: the definition over it equals the natural-order dot, and so does every row.
                    using var lanes = new NativeBuffer<sbyte>(TernaryKernels.TQ1LaneBytes);
                    TernaryKernels.TQ1DigitLanes(qp, 1, lanes.Pointer);
                    Assert.Equal(want, TernaryKernels.ReferenceTQ1LanesDot(blk, lanes.Pointer));
                    Assert.Equal(want, Avx2Isa.TQ1LanesDot(blk, lanes.Pointer));
                    if (AvxVnniIsa.IsSupported) Assert.Equal(want, AvxVnniIsa.TQ1LanesDot(blk, lanes.Pointer));
                    if (Avx512Isa<Avx2Isa>.IsSupported) Assert.Equal(want, Avx512Isa<Avx2Isa>.TQ1LanesDot(blk, lanes.Pointer));
                }
            }
        }
    }

    [Fact]
    public void Tq1LaneDotsEqualTheDefinitionForEveryByteValueInEveryPosition()
    {
        // Each of the 256 byte values in all 54 positions (the scale's two included, which must meet zeros), against
        // random and extreme activations: every row's digit arithmetic equals the table.
        var rng = new Random(3);
        using var blk = new NativeBuffer<byte>(54);
        using var q = new NativeBuffer<sbyte>(256);
        using var lanes = new NativeBuffer<sbyte>(TernaryKernels.TQ1LaneBytes);
        foreach (int fill in new[] { 0, 127, -128 })
        {
            for (int i = 0; i < 256; i++) q.Pointer[i] = fill == 0 ? (sbyte)rng.Next(-128, 128) : (sbyte)fill;
            TernaryKernels.TQ1DigitLanes(q.Pointer, 1, lanes.Pointer);
            for (int v = 0; v < 256; v++)
            {
                new Span<byte>(blk.Pointer, 54).Fill((byte)v);
                var codes = new byte[256];
                fixed (byte* cp = codes) TernaryKernels.TQ1Codes(blk.Pointer, cp);
                int want = 0;
                for (int i = 0; i < 256; i++) want += codes[i] * q.Pointer[i];
                Assert.Equal(want, TernaryKernels.ReferenceTQ1LanesDot(blk.Pointer, lanes.Pointer));
                if (Avx2Isa.IsSupported) Assert.Equal(want, Avx2Isa.TQ1LanesDot(blk.Pointer, lanes.Pointer));
                if (AvxVnniIsa.IsSupported) Assert.Equal(want, AvxVnniIsa.TQ1LanesDot(blk.Pointer, lanes.Pointer));
                if (Avx512Isa<Avx2Isa>.IsSupported) Assert.Equal(want, Avx512Isa<Avx2Isa>.TQ1LanesDot(blk.Pointer, lanes.Pointer));
                if (AdvSimdIsa.IsSupported) Assert.Equal(want, AdvSimdIsa.TQ1LanesDot(blk.Pointer, lanes.Pointer));
                if (AdvSimdDpIsa.IsSupported) Assert.Equal(want, AdvSimdDpIsa.TQ1LanesDot(blk.Pointer, lanes.Pointer));
            }
        }
    }

    [Fact]
    public void Tq1DigitsAreTheReferenceDecodersForEveryByte()
    {
        // Every byte value in each of the 52 code positions of a block: the scalar table equals ReferenceDequantizer.
        var blk = new byte[54];
        var mine = new byte[256];
        var theirs = new byte[256];
        for (int v = 0; v < 256; v++)
        {
            Array.Fill(blk, (byte)v);
            fixed (byte* p = blk) fixed (byte* c = mine) TernaryKernels.TQ1Codes(p, c);
            Runtime.Quantization.ReferenceDequantizer.TQ1_0Codes(blk, theirs);
            Assert.Equal(theirs, mine);
        }
    }

    [Fact]
    public void TheInlineBlockScaleConversionEqualsHalfForAllBitPatterns()
    {
        for (int h = 0; h < 65536; h++)
        {
            float want = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            float got = TernaryKernels.HalfToSingle((ushort)h);
            if (float.IsNaN(want)) Assert.True(float.IsNaN(got), $"half 0x{h:X4}");
            else Assert.True(BitConverter.SingleToUInt32Bits(want) == BitConverter.SingleToUInt32Bits(got), $"half 0x{h:X4}: {got} vs {want}");
        }
    }

    private delegate void Unpack(byte* row, byte* codes);

    private static void Check(byte[] data, int codes, Unpack simd, Unpack reference)
    {
        var got = new byte[codes];
        var want = new byte[codes];
        fixed (byte* p = data) fixed (byte* g = got) fixed (byte* w = want)
        {
            simd(p, g);
            reference(p, w);
        }
        Assert.Equal(want, got);
    }
}
