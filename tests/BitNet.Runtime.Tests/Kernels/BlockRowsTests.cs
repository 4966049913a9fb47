using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>The eight-row single-token TQ2_0 / TQ1_0 loops of every x86 row against their row-by-row definition, bit for bit.</summary>
public unsafe class BlockRowsTests
{
    private delegate void Rows8(byte* row, nint rowBytes, int blocks, sbyte* act, int* u, float* acc);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(10, 0)]
    [InlineData(27, 0)]
    [InlineData(27, 13)] // rows further apart than their bytes
    public void EightRowDotsEqualTheRowByRowDefinition(int blocks, int gap)
    {
        var variants = new List<(string, Rows8, Rows8)>();
        if (Avx2Isa.IsSupported) variants.Add(("AVX2", Avx2Isa.TQ2Rows8, Avx2Isa.TQ1Rows8));
        if (AvxVnniIsa.IsSupported) variants.Add(("AVX-VNNI", AvxVnniIsa.TQ2Rows8, AvxVnniIsa.TQ1Rows8));
        if (Avx512Isa<AvxVnniIsa>.IsSupported) variants.Add(("AVX-512", Avx512Isa<AvxVnniIsa>.TQ2Rows8, Avx512Isa<AvxVnniIsa>.TQ1Rows8));
        if (Avx512Isa<Avx2Isa>.IsSupported) variants.Add(("AVX-512BW", Avx512Isa<Avx2Isa>.TQ2Rows8, Avx512Isa<Avx2Isa>.TQ1Rows8));
        var rng = new Random(blocks * 31 + gap);
        int k = blocks * 256;
        using var q = new NativeBuffer<sbyte>(k);
        using var lanes = new NativeBuffer<sbyte>((long)blocks * TernaryKernels.TQ1LaneBytes);
        using var u = new NativeBuffer<int>(2L * blocks);
        var want = new float[8];
        var got = new float[8];
        foreach (var layout in new[] { TernaryLayout.TQ2, TernaryLayout.TQ1 })
        {
            int blockBytes = layout == TernaryLayout.TQ2 ? 66 : 54, scaleAt = blockBytes - 2;
            nint rowBytes = blocks * blockBytes + gap;
            using var rows = new NativeBuffer<byte>(8L * rowBytes);
            foreach (int fill in new[] { 0, 127, -128 })
            {
                // Any byte in any code position (TQ2_0's unused code 3, TQ1_0's bytes past 242), scales of both signs
                // and all magnitudes (subnormal to 65504), activations random or at either extreme.
                for (long i = 0; i < 8L * rowBytes; i++) rows.Pointer[i] = (byte)rng.Next(256);
                for (int r = 0; r < 8; r++)
                    for (int b = 0; b < blocks; b++)
                    {
                        var d = (Half)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-24, 16)));
                        *(ushort*)(rows.Pointer + r * rowBytes + b * blockBytes + scaleAt) = BitConverter.HalfToUInt16Bits(d);
                    }
                for (int i = 0; i < k; i++) q.Pointer[i] = fill == 0 ? (sbyte)rng.Next(-128, 128) : (sbyte)fill;
                for (int i = 0; i < 2 * blocks; i++) u.Pointer[i] = rng.Next(-16384, 16384);
                sbyte* act = q.Pointer;
                if (layout == TernaryLayout.TQ1)
                {
                    TernaryKernels.TQ1DigitLanes(q.Pointer, blocks, lanes.Pointer);
                    act = lanes.Pointer;
                }
                fixed (float* wp = want) TernaryKernels.ReferenceBlockRows8(layout, rows.Pointer, rowBytes, blocks, act, u.Pointer, wp);
                foreach (var (name, tq2, tq1) in variants)
                {
                    fixed (float* gp = got) (layout == TernaryLayout.TQ2 ? tq2 : tq1)(rows.Pointer, rowBytes, blocks, act, u.Pointer, gp);
                    for (int r = 0; r < 8; r++)
                        Assert.True(BitConverter.SingleToUInt32Bits(want[r]) == BitConverter.SingleToUInt32Bits(got[r]),
                            $"{name} {layout} blocks={blocks} fill={fill} row {r}: {got[r]} vs {want[r]}");
                }
            }
        }
    }
}
