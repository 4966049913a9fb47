using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Single-token TQ2_0 and TQ1_0 rows eight at a time (<see cref="IKernelIsa.TQ2Rows8"/>, <see cref="IKernelIsa.TQ1Rows8"/>).
/// <para>
/// Why: a block-scaled format needs each row's exact integer dot per 256-block before its scale applies, and row by
/// row that is a horizontal sum, a scalar half conversion, a subtract, a convert, a multiply and an add per block:
/// about half of TQ2_0 decode's instructions. Here each row's block dot stays a vector of partial sums until eight
/// rows' are reduced together (<see cref="Reduce8"/>: three rounds of hadd and one cross-lane add for all eight), and
/// the scale arithmetic runs in eight lanes, lane r being row r.
/// </para>
/// Per lane it is the per-row loop's arithmetic in its order (int subtract, convert, multiply by the block scale, add
/// to the sum that started at 0), so every output equals the row kernels' and the scalar reference's bit for bit.
/// </summary>
internal unsafe partial struct Avx2Isa
{
    /// <summary>One row's dot over one block, as 8 int32 lanes whose sum is the dot.</summary>
    internal interface IBlockPartial
    {
        static abstract Vector256<int> Partial(byte* block, sbyte* activations);
    }

    /// <summary>
    /// acc[r] = sum over blocks b, in order, of d_rb * (dot_rb - u_b) for the rows at row + r * rowBytes (r &lt; 8), where
    /// d_rb is the half at byte <paramref name="scaleAt"/> of row r's block b, dot_rb its <typeparamref name="TP"/> sum
    /// against the activations at act + b * actBytes and u_b the token's activation sum over the block (two 128-sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BlockRows8<TP>(byte* row, nint rowBytes, int blockBytes, int scaleAt, int actBytes, int blocks, sbyte* act,
        int* u, float* acc) where TP : struct, IBlockPartial
    {
        var sum = Vector256<float>.Zero;
        nint r2 = 2 * rowBytes, r4 = 4 * rowBytes;
        byte* ahead = row + 8 * rowBytes;
        int linesPerBlock = (8 * blockBytes + 63) / 64;
        for (int b = 0; b < blocks; b++, row += blockBytes, act += actBytes)
        {
            byte* r0 = row, r1 = row + rowBytes;
            // The next eight rows (contiguous with these) in even steps, one block's share of them per block.
            for (int i = 0; i < linesPerBlock; i++) Sse.Prefetch0(ahead + i * 64);
            ahead += 8 * blockBytes;
            var dots = Reduce8(TP.Partial(r0, act), TP.Partial(r1, act), TP.Partial(r0 + r2, act), TP.Partial(r1 + r2, act),
                TP.Partial(r0 + r4, act), TP.Partial(r1 + r4, act), TP.Partial(r0 + r2 + r4, act), TP.Partial(r1 + r2 + r4, act));
            byte* s0 = r0 + scaleAt, s1 = r1 + scaleAt;
            var d = Vector256.Create(Scale(s0), Scale(s1), Scale(s0 + r2), Scale(s1 + r2),
                Scale(s0 + r4), Scale(s1 + r4), Scale(s0 + r2 + r4), Scale(s1 + r2 + r4));
            var ints = Avx2.Subtract(dots, Vector256.Create(u[2 * b] + u[2 * b + 1]));
            sum = Avx.Add(sum, Avx.Multiply(d, Avx.ConvertToVector256Single(ints)));
        }
        Avx.Store(acc, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(byte* p) => TernaryKernels.HalfToSingle(Unsafe.ReadUnaligned<ushort>(p));

    /// <summary>A TQ2_0 block's 64 code bytes against 256 activations in the layout's order (both halves' int16 sums added before one widening: at most 6144 a lane).</summary>
    internal struct TQ2Maddubs : IBlockPartial
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Partial(byte* block, sbyte* q)
        {
            var mask = Vector256.Create((byte)3);
            var lo = Avx.LoadVector256(block);
            var hi = Avx.LoadVector256(block + 32);
            var s = Avx2.Add(Dot128x16(Avx2.And(lo, mask), Codes(lo, 2, mask), Codes(lo, 4, mask), Codes(lo, 6, mask), q),
                Dot128x16(Avx2.And(hi, mask), Codes(hi, 2, mask), Codes(hi, 4, mask), Codes(hi, 6, mask), q + 128));
            return Avx2.MultiplyAddAdjacent(s, Vector256.Create((short)1));
        }
    }

    /// <summary>A TQ1_0 block against its digit lanes (<see cref="TQ1LanesPartial{TD}"/>).</summary>
    internal struct TQ1LanesRows<TD> : IBlockPartial where TD : struct, IByteDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Partial(byte* block, sbyte* lanes) => TQ1LanesPartial<TD>(block, lanes);
    }

    public static bool TQRows8 => true;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TQ2Rows8(byte* row, nint rowBytes, int blocks, sbyte* q, int* u, float* acc) =>
        BlockRows8<TQ2Maddubs>(row, rowBytes, 66, 64, 256, blocks, q, u, acc);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TQ1Rows8(byte* row, nint rowBytes, int blocks, sbyte* lanes, int* u, float* acc) =>
        BlockRows8<TQ1LanesRows<MaddubsDot>>(row, rowBytes, 54, 52, TernaryKernels.TQ1LaneBytes, blocks, lanes, u, acc);
}
