using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The F16 head's eight-token tile must give each token the same partial sums as two four-token tiles, to the bit, in
/// every widening: the batched head then does not depend on how a batch is split into tiles.
/// </summary>
public sealed unsafe class HalfTileTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Avx2EightTokenTileEqualsTwoFourTokenTilesBitForBit(int mode)
    {
        var widening = (HalfWidening)mode;  // exact, finite, rebiased (the enum is internal)
        if (!Avx2Isa.IsSupported) return; // the x64 row; other rows take the interface's two-tile default
        const int k = 600;                // columns [j0, j1) below: whole 32-column groups and a tail of 8, 16 or 24
        var rng = new Random(3 + (int)widening);
        var rows = new ushort[2 * k];
        for (int i = 0; i < rows.Length; i++)
        {
            // Every sign, magnitudes across the exponent range; zeros and subnormals too (the rebiasing widening gets
            // those wrong the same way in both tiles; HalfExceptions corrects them outside). No inf/NaN except Exact.
            int e = rng.Next(widening == HalfWidening.Exact ? 32 : 31);
            rows[i] = (ushort)(rng.Next(2) << 15 | e << 10 | rng.Next(1024));
        }
        var x = new float[8 * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        foreach (var (j0, j1) in new[] { (0, 512), (8, 520), (32, 96), (0, 600), (64, 80), (0, 24) })
        {
            var one = new float[128];
            var two = new float[128];
            fixed (ushort* a = rows) fixed (float* xp = x) fixed (float* p1 = one) fixed (float* p2 = two)
            {
                ushort* b = a + k;
                Avx2Isa.HalfTile2x8(a, b, xp, k, j0, j1, p1, a, b, widening);
                Avx2Isa.HalfTile2x4(a, b, xp, xp + k, xp + 2 * k, xp + 3 * k, j0, j1, p2, a, b, widening);
                float* x4 = xp + 4 * k;
                Avx2Isa.HalfTile2x4(a, b, x4, x4 + k, x4 + 2 * k, x4 + 3 * k, j0, j1, p2 + 32, a, b, widening);
            }
            for (int i = 0; i < 128; i++)
                Assert.True(BitConverter.SingleToInt32Bits(one[i]) == BitConverter.SingleToInt32Bits(two[i]) || (float.IsNaN(one[i]) && float.IsNaN(two[i])),
                    $"{widening} columns [{j0}, {j1}) row {i / 64} token {i % 64 / 8} lane {i % 8}: {one[i]} against {two[i]}");
        }
    }
}
