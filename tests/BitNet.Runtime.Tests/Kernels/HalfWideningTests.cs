using System.Runtime.Intrinsics;
using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>The exact half widenings of the attention kernels, over every one of the 65,536 bit patterns.</summary>
public sealed unsafe class HalfWideningTests
{
    [Fact]
    public void TheAvx2AndAvx512ExactWideningsGiveEveryHalfsFloat()
    {
        if (!Avx2Isa.IsSupported) return; // the x64 rows; arm64 and scalar widen through Half
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++) halves[i] = (ushort)i;
        var wide = new float[16];
        fixed (ushort* h = halves)
        fixed (float* w = wide)
            for (int i = 0; i < halves.Length; i += 16)
            {
                Check(Avx2Isa.Widen(h + i), i, "AVX2");
                Check(Avx2Isa.Widen(h + i + 8), i + 8, "AVX2");
                if (!Avx512Isa<Avx2Isa>.IsSupported) continue;
                Avx512Isa<Avx2Isa>.Widen16(h + i, out var lo, out var hi);
                Check(lo, i, "AVX-512");
                Check(hi, i + 8, "AVX-512");
            }

        static void Check(Vector256<float> v, int first, string row)
        {
            for (int j = 0; j < 8; j++)
            {
                float expected = (float)BitConverter.UInt16BitsToHalf((ushort)(first + j)), got = v[j];
                bool same = float.IsNaN(expected) ? float.IsNaN(got) : BitConverter.SingleToInt32Bits(got) == BitConverter.SingleToInt32Bits(expected);
                Assert.True(same, $"{row}: half 0x{first + j:X4} widened to {got}, expected {expected}");
            }
        }
    }
}
