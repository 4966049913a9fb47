using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace BitNet.Runtime.Kernels;

/// <summary>The AdvSimd row's attention primitives: grouped query heads over F16, F32 and Q8_0 keys and values, and the prefill value tile.</summary>
internal unsafe partial struct AdvSimdIsa
{
    // ---------------------------------------------------------------- attention over grouped query heads

    public static bool AttentionTiles => true;

    /// <summary>
    /// <see cref="IKernelIsa.ValueTile"/> in two 16-dimension halves (16 accumulators each): the products added as
    /// <see cref="AxpyFloatHeads"/> adds them (fused, position by position), so a block equals its tokens bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride)
    {
        for (int half = 0; half < 32; half += 16)
        {
            Vector128<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector128<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            for (int p = 0; p < n; p++)
            {
                float* v = values + (long)p * hd + half;
                float* w = weights + (long)p * 32;
                var v0 = AdvSimd.LoadVector128(v); var v1 = AdvSimd.LoadVector128(v + 4);
                var v2 = AdvSimd.LoadVector128(v + 8); var v3 = AdvSimd.LoadVector128(v + 12);
                var b = Vector128.Create(w[0]);
                a00 = AdvSimd.FusedMultiplyAdd(a00, b, v0); a01 = AdvSimd.FusedMultiplyAdd(a01, b, v1);
                a02 = AdvSimd.FusedMultiplyAdd(a02, b, v2); a03 = AdvSimd.FusedMultiplyAdd(a03, b, v3);
                b = Vector128.Create(w[1]);
                a10 = AdvSimd.FusedMultiplyAdd(a10, b, v0); a11 = AdvSimd.FusedMultiplyAdd(a11, b, v1);
                a12 = AdvSimd.FusedMultiplyAdd(a12, b, v2); a13 = AdvSimd.FusedMultiplyAdd(a13, b, v3);
                b = Vector128.Create(w[2]);
                a20 = AdvSimd.FusedMultiplyAdd(a20, b, v0); a21 = AdvSimd.FusedMultiplyAdd(a21, b, v1);
                a22 = AdvSimd.FusedMultiplyAdd(a22, b, v2); a23 = AdvSimd.FusedMultiplyAdd(a23, b, v3);
                b = Vector128.Create(w[3]);
                a30 = AdvSimd.FusedMultiplyAdd(a30, b, v0); a31 = AdvSimd.FusedMultiplyAdd(a31, b, v1);
                a32 = AdvSimd.FusedMultiplyAdd(a32, b, v2); a33 = AdvSimd.FusedMultiplyAdd(a33, b, v3);
            }
            float* o = output + half;
            AdvSimd.Store(o, a00); AdvSimd.Store(o + 4, a01); AdvSimd.Store(o + 8, a02); AdvSimd.Store(o + 12, a03);
            o += outStride;
            AdvSimd.Store(o, a10); AdvSimd.Store(o + 4, a11); AdvSimd.Store(o + 8, a12); AdvSimd.Store(o + 12, a13);
            o += outStride;
            AdvSimd.Store(o, a20); AdvSimd.Store(o + 4, a21); AdvSimd.Store(o + 8, a22); AdvSimd.Store(o + 12, a23);
            o += outStride;
            AdvSimd.Store(o, a30); AdvSimd.Store(o + 4, a31); AdvSimd.Store(o + 8, a32); AdvSimd.Store(o + 12, a33);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n)
    {
        for (int h = 0; h < heads; h++) Axpy(alpha[h], x, y + (long)h * yStride, n);
    }

    /// <summary>
    /// The elements of cached key vectors: F16 (widened exactly) or float. One generic loop over both, so a float copy of
    /// widened halves (prefill blocks) gives the F16 path's very numbers.
    /// </summary>
    private interface IHeadElements
    {
        static abstract void Load8(void* p, int i, out Vector128<float> lo, out Vector128<float> hi);
        static abstract float TailDot(void* p, int i, float* q, int n);
    }

    private struct HalfElements : IHeadElements
    {
        public static void Load8(void* p, int i, out Vector128<float> lo, out Vector128<float> hi) => Exact.Widen8((ushort*)p + i, out lo, out hi);
        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.HalfDot((ushort*)p + i, q, n, HalfWidening.Exact);
    }

    private struct FloatElements : IHeadElements
    {
        public static void Load8(void* p, int i, out Vector128<float> lo, out Vector128<float> hi)
        {
            lo = AdvSimd.LoadVector128((float*)p + i);
            hi = AdvSimd.LoadVector128((float*)p + i + 4);
        }

        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.Dot((float*)p + i, q, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) =>
        DotHeads<HalfElements>(q, qStride, heads, row, n, dots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots) =>
        DotHeads<FloatElements>(q, qStride, heads, row, n, dots);

    /// <summary>dots[h] = row . q_h for up to four heads: each group of the row loaded (widened) once for every head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotHeads<TE>(float* q, int qStride, int heads, void* row, int n, float* dots) where TE : struct, IHeadElements
    {
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            TE.Load8(row, i, out var lo, out var hi); // once for every head
            a0 = AdvSimd.FusedMultiplyAdd(AdvSimd.FusedMultiplyAdd(a0, AdvSimd.LoadVector128(q + i), lo), AdvSimd.LoadVector128(q + i + 4), hi);
            if (heads > 1)
            {
                float* x = q + qStride + i;
                a1 = AdvSimd.FusedMultiplyAdd(AdvSimd.FusedMultiplyAdd(a1, AdvSimd.LoadVector128(x), lo), AdvSimd.LoadVector128(x + 4), hi);
            }
            if (heads > 2)
            {
                float* x = q + 2L * qStride + i;
                a2 = AdvSimd.FusedMultiplyAdd(AdvSimd.FusedMultiplyAdd(a2, AdvSimd.LoadVector128(x), lo), AdvSimd.LoadVector128(x + 4), hi);
            }
            if (heads > 3)
            {
                float* x = q + 3L * qStride + i;
                a3 = AdvSimd.FusedMultiplyAdd(AdvSimd.FusedMultiplyAdd(a3, AdvSimd.LoadVector128(x), lo), AdvSimd.LoadVector128(x + 4), hi);
            }
        }
        dots[0] = Vector128.Sum(a0);
        if (heads > 1) dots[1] = Vector128.Sum(a1);
        if (heads > 2) dots[2] = Vector128.Sum(a2);
        if (heads > 3) dots[3] = Vector128.Sum(a3);
        if (i < n)
            for (int h = 0; h < heads; h++) dots[h] += TE.TailDot(row, i, q + (long)h * qStride + i, n - i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Exact.Widen8(x + i, out var lo, out var hi);
            for (int h = 0; h < heads; h++)
            {
                var a = Vector128.Create(alpha[h]);
                float* yi = y + (long)h * yStride + i;
                AdvSimd.Store(yi, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yi), a, lo));
                AdvSimd.Store(yi + 4, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yi + 4), a, hi));
            }
        }
        if (i < n)
            for (int h = 0; h < heads; h++) ScalarIsa.AxpyHalf(alpha[h], x + i, y + (long)h * yStride + i, n - i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots)
    {
        int full = n / Q8KvLayout.Block;
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float* x = q + b * Q8KvLayout.Block;
            Vector128<float> p0 = default, p1 = default, p2 = default, p3 = default;
            for (int j = 0; j < Q8KvLayout.Block; j += 16)
            {
                Codes16(c + j, out var v0, out var v1, out var v2, out var v3); // once for every head
                p0 = Dot16(p0, x + j, v0, v1, v2, v3);
                if (heads > 1) p1 = Dot16(p1, x + qStride + j, v0, v1, v2, v3);
                if (heads > 2) p2 = Dot16(p2, x + 2L * qStride + j, v0, v1, v2, v3);
                if (heads > 3) p3 = Dot16(p3, x + 3L * qStride + j, v0, v1, v2, v3);
            }
            var d = Vector128.Create(Q8KvLayout.Scale(blocks, b));
            a0 = AdvSimd.FusedMultiplyAdd(a0, p0, d);
            if (heads > 1) a1 = AdvSimd.FusedMultiplyAdd(a1, p1, d);
            if (heads > 2) a2 = AdvSimd.FusedMultiplyAdd(a2, p2, d);
            if (heads > 3) a3 = AdvSimd.FusedMultiplyAdd(a3, p3, d);
        }
        dots[0] = Vector128.Sum(a0);
        if (heads > 1) dots[1] = Vector128.Sum(a1);
        if (heads > 2) dots[2] = Vector128.Sum(a2);
        if (heads > 3) dots[3] = Vector128.Sum(a3);
        int done = full * Q8KvLayout.Block;
        if (done < n)
            for (int h = 0; h < heads; h++)
                dots[h] += ScalarIsa.Q8KvDot(q + (long)h * qStride + done, blocks + full * Q8KvLayout.BlockBytes, n - done);
    }

    /// <summary>acc + x[0..16) * (v0, v1, v2, v3), lane-wise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Dot16(Vector128<float> acc, float* x, Vector128<float> v0, Vector128<float> v1, Vector128<float> v2, Vector128<float> v3)
    {
        acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.LoadVector128(x), v0);
        acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.LoadVector128(x + 4), v1);
        acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.LoadVector128(x + 8), v2);
        return AdvSimd.FusedMultiplyAdd(acc, AdvSimd.LoadVector128(x + 12), v3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n)
    {
        int full = n / Q8KvLayout.Block;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float scale = Q8KvLayout.Scale(blocks, b);
            for (int j = 0; j < Q8KvLayout.Block; j += 16)
            {
                Codes16(c + j, out var v0, out var v1, out var v2, out var v3);
                for (int h = 0; h < heads; h++)
                {
                    var a = Vector128.Create(alpha[h] * scale);
                    float* yj = y + (long)h * yStride + b * Q8KvLayout.Block + j;
                    AdvSimd.Store(yj, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yj), a, v0));
                    AdvSimd.Store(yj + 4, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yj + 4), a, v1));
                    AdvSimd.Store(yj + 8, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yj + 8), a, v2));
                    AdvSimd.Store(yj + 12, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yj + 12), a, v3));
                }
            }
        }
        int done = full * Q8KvLayout.Block;
        if (done < n)
            for (int h = 0; h < heads; h++)
                ScalarIsa.AxpyQ8Kv(alpha[h], blocks + full * Q8KvLayout.BlockBytes, y + (long)h * yStride + done, n - done);
    }
}
