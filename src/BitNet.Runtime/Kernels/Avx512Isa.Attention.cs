using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Decode attention over an F16 cache with the exact half widening done 16 halves per 512-bit instruction sequence (the
/// widening, 9 instructions per vector, was most of a long context's attention work): the widened halves are split into
/// the 256-bit vectors the AVX2 code multiplies, so every dot and sum is <see cref="Avx2Isa"/>'s bit for bit.
/// </summary>
internal unsafe partial struct Avx512Isa<TBase>
{
    /// <summary><see cref="Avx2Isa.Widen"/>'s operations on 16 halves: lo holds halves 0-7, hi 8-15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Widen16(ushort* p, out Vector256<float> lo, out Vector256<float> hi)
    {
        var h = Avx512F.ConvertToVector512Int32(Avx.LoadVector256(p));     // zero-extended u16 -> i32
        var magnitude = Avx512F.ShiftLeftLogical(Avx512F.And(h, Vector512.Create(0x7FFF)), 13);
        var f = Avx512F.Multiply(magnitude.AsSingle(), Vector512.Create(5.192297e33f)); // 2^112
        var infNan = Avx512F.CompareGreaterThan(magnitude, Vector512.Create(0x0F7FFFFF)); // half exponent 31
        var bits = Avx512F.Or(f.AsInt32(), Avx512F.And(infNan, Vector512.Create(0x7F800000)));
        var sign = Avx512F.ShiftLeftLogical(Avx512F.And(h, Vector512.Create(0x8000)), 16);
        var r = Avx512F.Or(bits, sign).AsSingle();
        lo = r.GetLower();
        hi = r.GetUpper();
    }

    public static bool AttentionPairs => true;

    /// <summary><see cref="Avx2Isa.HalfDotHeads2"/> itself (the same accumulators, FMAs and sums) over 16-half widening.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads2(float* q, int qStride, int heads, ushort* row0, ushort* row1, int n, float* dots0, float* dots1)
    {
        Avx2Isa.PrefetchKeysAhead(row0, row1, 2 * n);
        Avx2Isa.DotHeads2<Half16Elements>(q, qStride, heads, row0, row1, n, dots0, dots1);
    }

    /// <summary><see cref="Avx2Isa.AttendValues"/> itself, its F16 values widened 16 at a time.</summary>
    public static void AttendValues(KvCacheType type, float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride)
    {
        if (type == KvCacheType.F16) Avx2Isa.AttendValues<Half16Elements>(weights, wStride, heads, values, stride, n, hd, output, outStride);
        else TBase.AttendValues(type, weights, wStride, heads, values, stride, n, hd, output, outStride);
    }

    /// <summary>F16 elements whose 16-element loads widen in one 512-bit sequence (<see cref="Widen16"/>).</summary>
    private struct Half16Elements : Avx2Isa.IHeadElements
    {
        public static Vector256<float> Load8(void* p, int i) => Avx2Isa.Widen((ushort*)p + i);
        public static void Load16(void* p, out Vector256<float> lo, out Vector256<float> hi) => Widen16((ushort*)p, out lo, out hi);
        public static int Size => 2;
        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.HalfDot((ushort*)p + i, q, n, HalfWidening.Exact);
        public static void TailAxpy(float alpha, void* p, int i, float* y, int n) => ScalarIsa.AxpyHalf(alpha, (ushort*)p + i, y, n);
    }
}
