using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Decode attention over an F16 cache with the exact half widening done 16 halves per 512-bit instruction sequence (the
/// widening, 9 instructions per vector, was most of a long context's attention work): the widened halves are split into
/// the 256-bit vectors the AVX2 code multiplies, so every dot and sum is <see cref="Avx2Isa"/>'s bit for bit.
/// </summary>
internal unsafe partial struct Avx512Isa
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

    /// <summary><see cref="Avx2Isa.HalfDotHeads2"/> (the same accumulators, FMAs and sums) with 16-half widening.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads2(float* q, int qStride, int heads, ushort* row0, ushort* row1, int n, float* dots0, float* dots1)
    {
        if (n % 16 != 0)
        {
            Avx2Isa.HalfDotHeads2(q, qStride, heads, row0, row1, n, dots0, dots1);
            return;
        }
        nint stride = (nint)((byte*)row1 - (byte*)row0);
        byte* ahead = (byte*)row0 + 8 * stride;
        for (int b = 0; b < 2 * n; b += 64)
        {
            Sse.Prefetch0(ahead + b);
            Sse.Prefetch0(ahead + stride + b);
        }
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int i = 0; i < n; i += 16)
        {
            Widen16(row0 + i, out var w, out var w8);
            Widen16(row1 + i, out var v, out var v8);
            Step(q + i, qStride, heads, w, v, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3);
            Step(q + i + 8, qStride, heads, w8, v8, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3);
        }
        dots0[0] = Vector256.Sum(a0); dots1[0] = Vector256.Sum(b0);
        if (heads > 1) { dots0[1] = Vector256.Sum(a1); dots1[1] = Vector256.Sum(b1); }
        if (heads > 2) { dots0[2] = Vector256.Sum(a2); dots1[2] = Vector256.Sum(b2); }
        if (heads > 3) { dots0[3] = Vector256.Sum(a3); dots1[3] = Vector256.Sum(b3); }
    }

    /// <summary>One group of 8 elements of the two keys against the heads: Avx2Isa's DotHeads2 step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(float* q, int qStride, int heads, Vector256<float> w, Vector256<float> v,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3,
        ref Vector256<float> b0, ref Vector256<float> b1, ref Vector256<float> b2, ref Vector256<float> b3)
    {
        var x = Avx.LoadVector256(q);
        a0 = Fma.MultiplyAdd(x, w, a0); b0 = Fma.MultiplyAdd(x, v, b0);
        if (heads > 1) { x = Avx.LoadVector256(q + qStride); a1 = Fma.MultiplyAdd(x, w, a1); b1 = Fma.MultiplyAdd(x, v, b1); }
        if (heads > 2) { x = Avx.LoadVector256(q + 2L * qStride); a2 = Fma.MultiplyAdd(x, w, a2); b2 = Fma.MultiplyAdd(x, v, b2); }
        if (heads > 3) { x = Avx.LoadVector256(q + 3L * qStride); a3 = Fma.MultiplyAdd(x, w, a3); b3 = Fma.MultiplyAdd(x, v, b3); }
    }

    /// <summary><see cref="Avx2Isa.AttendValues"/> itself, its F16 values widened 16 at a time.</summary>
    public static void AttendValues(KvCacheType type, float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride)
    {
        if (type == KvCacheType.F16) Avx2Isa.AttendValues<Half16Elements>(weights, wStride, heads, values, stride, n, hd, output, outStride);
        else AvxVnniIsa.AttendValues(type, weights, wStride, heads, values, stride, n, hd, output, outStride);
    }

    /// <summary>F16 elements whose 32-element loads widen in two 16-half steps (<see cref="Widen16"/>).</summary>
    private struct Half16Elements : Avx2Isa.IHeadElements
    {
        public static Vector256<float> Load8(void* p, int i) => Avx2Isa.Widen((ushort*)p + i);
        public static void Load32(void* p, out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3)
        {
            Widen16((ushort*)p, out v0, out v1);
            Widen16((ushort*)p + 16, out v2, out v3);
        }
        public static int Size => 2;
        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.HalfDot((ushort*)p + i, q, n, HalfWidening.Exact);
        public static void TailAxpy(float alpha, void* p, int i, float* y, int n) => ScalarIsa.AxpyHalf(alpha, (ushort*)p + i, y, n);
    }
}
