using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>The AVX2 row's attention primitives: grouped query heads over F16, F32 and Q8_0 keys and values, and the prefill value tile.</summary>
internal unsafe partial struct Avx2Isa
{
    // ---------------------------------------------------------------- attention over grouped query heads

    /// <summary>
    /// The elements of cached key and value vectors: F16 (widened exactly) or float. One generic loop over both, so a
    /// float copy of widened halves (prefill blocks) gives the F16 path's very numbers.
    /// </summary>
    internal interface IHeadElements
    {
        static abstract Vector256<float> Load8(void* p, int i);

        /// <summary>Elements 0..15 at p, as two Load8 give them (a row may widen them in one wider step).</summary>
        static abstract void Load16(void* p, out Vector256<float> lo, out Vector256<float> hi);

        /// <summary>Bytes per element.</summary>
        static abstract int Size { get; }

        static abstract float TailDot(void* p, int i, float* q, int n);
        static abstract void TailAxpy(float alpha, void* p, int i, float* y, int n);
    }

    private struct HalfElements : IHeadElements
    {
        public static Vector256<float> Load8(void* p, int i) => Widen((ushort*)p + i);
        public static void Load16(void* p, out Vector256<float> lo, out Vector256<float> hi)
        {
            lo = Load8(p, 0); hi = Load8(p, 8);
        }
        public static int Size => 2;
        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.HalfDot((ushort*)p + i, q, n, HalfWidening.Exact);
        public static void TailAxpy(float alpha, void* p, int i, float* y, int n) => ScalarIsa.AxpyHalf(alpha, (ushort*)p + i, y, n);
    }

    private struct FloatElements : IHeadElements
    {
        public static Vector256<float> Load8(void* p, int i) => Avx.LoadVector256((float*)p + i);
        public static void Load16(void* p, out Vector256<float> lo, out Vector256<float> hi)
        {
            lo = Load8(p, 0); hi = Load8(p, 8);
        }
        public static int Size => 4;
        public static float TailDot(void* p, int i, float* q, int n) => ScalarIsa.Dot((float*)p + i, q, n);
        public static void TailAxpy(float alpha, void* p, int i, float* y, int n) => ScalarIsa.Axpy(alpha, (float*)p + i, y, n);
    }

    /// <summary>Eight halves per step through <see cref="Widen"/>, the conversion HalfDotHeads and AxpyHalfHeads load with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WidenHalves(ushort* x, float* y, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Widen(x + i).Store(y + i);
        for (; i < n; i++) y[i] = (float)BitConverter.UInt16BitsToHalf(x[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) =>
        DotHeads<HalfElements>(q, qStride, heads, row, n, dots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots) =>
        DotHeads<FloatElements>(q, qStride, heads, row, n, dots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) =>
        AxpyHeads<HalfElements>(alpha, x, y, yStride, heads, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n) =>
        AxpyHeads<FloatElements>(alpha, x, y, yStride, heads, n);

    /// <summary>dots[h] = row . q_h for up to four heads: each group of the row loaded (widened) once for every head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotHeads<TE>(float* q, int qStride, int heads, void* row, int n, float* dots) where TE : struct, IHeadElements
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var w = TE.Load8(row, i);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(q + i), w, a0);
            if (heads > 1) a1 = Fma.MultiplyAdd(Avx.LoadVector256(q + qStride + i), w, a1);
            if (heads > 2) a2 = Fma.MultiplyAdd(Avx.LoadVector256(q + 2L * qStride + i), w, a2);
            if (heads > 3) a3 = Fma.MultiplyAdd(Avx.LoadVector256(q + 3L * qStride + i), w, a3);
        }
        dots[0] = Vector256.Sum(a0);
        if (heads > 1) dots[1] = Vector256.Sum(a1);
        if (heads > 2) dots[2] = Vector256.Sum(a2);
        if (heads > 3) dots[3] = Vector256.Sum(a3);
        if (i < n)
            for (int h = 0; h < heads; h++) dots[h] += TE.TailDot(row, i, q + (long)h * qStride + i, n - i);
    }

    public static bool AttentionPairs => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FloatDotHeads2(float* q, int qStride, int heads, float* row0, float* row1, int n, float* dots0, float* dots1) =>
        DotHeads2<FloatElements>(q, qStride, heads, row0, row1, n, dots0, dots1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads2(float* q, int qStride, int heads, ushort* row0, ushort* row1, int n, float* dots0, float* dots1)
    {
        PrefetchKeysAhead(row0, row1, 2 * n);
        DotHeads2<HalfElements>(q, qStride, heads, row0, row1, n, dots0, dots1);
    }

    /// <summary>The F16 cache rows eight positions on (row1 - row0 is the cache's stride, past the prefetcher's reach).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PrefetchKeysAhead(void* row0, void* row1, int bytes)
    {
        nint stride = (nint)((byte*)row1 - (byte*)row0);
        byte* ahead = (byte*)row0 + 8 * stride;
        for (int b = 0; b < bytes; b += 64)
        {
            Sse.Prefetch0(ahead + b);
            Sse.Prefetch0(ahead + stride + b);
        }
    }

    /// <summary>
    /// Two keys against up to four heads: per head and key the accumulator, FMAs and sum of <see cref="DotHeads{TE}"/>
    /// in its order (so the dots are its own bit for bit), the two keys' chains interleaved and each query vector
    /// loaded once for both. Sixteen elements per step through <see cref="IHeadElements.Load16"/> (the AVX-512 row widens
    /// them in one sequence), then eights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void DotHeads2<TE>(float* q, int qStride, int heads, void* row0, void* row1, int n, float* dots0, float* dots1)
        where TE : struct, IHeadElements
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            TE.Load16((byte*)row0 + (long)i * TE.Size, out var w, out var w8);
            TE.Load16((byte*)row1 + (long)i * TE.Size, out var v, out var v8);
            Step2(q + i, qStride, heads, w, v, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3);
            Step2(q + i + 8, qStride, heads, w8, v8, ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3);
        }
        for (; i + 8 <= n; i += 8)
            Step2(q + i, qStride, heads, TE.Load8(row0, i), TE.Load8(row1, i), ref a0, ref a1, ref a2, ref a3, ref b0, ref b1, ref b2, ref b3);
        dots0[0] = Vector256.Sum(a0); dots1[0] = Vector256.Sum(b0);
        if (heads > 1) { dots0[1] = Vector256.Sum(a1); dots1[1] = Vector256.Sum(b1); }
        if (heads > 2) { dots0[2] = Vector256.Sum(a2); dots1[2] = Vector256.Sum(b2); }
        if (heads > 3) { dots0[3] = Vector256.Sum(a3); dots1[3] = Vector256.Sum(b3); }
        if (i < n)
            for (int h = 0; h < heads; h++)
            {
                dots0[h] += TE.TailDot(row0, i, q + (long)h * qStride + i, n - i);
                dots1[h] += TE.TailDot(row1, i, q + (long)h * qStride + i, n - i);
            }
    }

    /// <summary>One group of 8 elements of two keys (w, v) against up to four heads' query vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step2(float* q, int qStride, int heads, Vector256<float> w, Vector256<float> v,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3,
        ref Vector256<float> b0, ref Vector256<float> b1, ref Vector256<float> b2, ref Vector256<float> b3)
    {
        var x = Avx.LoadVector256(q);
        a0 = Fma.MultiplyAdd(x, w, a0); b0 = Fma.MultiplyAdd(x, v, b0);
        if (heads > 1) { x = Avx.LoadVector256(q + qStride); a1 = Fma.MultiplyAdd(x, w, a1); b1 = Fma.MultiplyAdd(x, v, b1); }
        if (heads > 2) { x = Avx.LoadVector256(q + 2L * qStride); a2 = Fma.MultiplyAdd(x, w, a2); b2 = Fma.MultiplyAdd(x, v, b2); }
        if (heads > 3) { x = Avx.LoadVector256(q + 3L * qStride); a3 = Fma.MultiplyAdd(x, w, a3); b3 = Fma.MultiplyAdd(x, v, b3); }
    }

    public static void AttendValues(KvCacheType type, float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride)
    {
        if (type == KvCacheType.F16) AttendValues<HalfElements>(weights, wStride, heads, values, stride, n, hd, output, outStride);
        else AttendValues<FloatElements>(weights, wStride, heads, values, stride, n, hd, output, outStride);
    }

    /// <summary>
    /// 32 dimensions at a time, 4 heads x 4 vectors of accumulators in registers over all positions: per position 4
    /// widened value loads and the heads' weight broadcasts feed up to 16 FMAs (the per-position axpy loaded and stored
    /// every output vector once per position). Each output element takes the axpy's FMAs from zero in position order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AttendValues<TE>(float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride)
        where TE : struct, IHeadElements
    {
        int elementBytes = TE.Size;
        float* w0 = weights, w1 = weights + wStride, w2 = weights + 2L * wStride, w3 = weights + 3L * wStride;
        for (int j0 = 0; j0 < hd; j0 += 32)
        {
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            byte* v = values + (long)j0 * elementBytes;
            for (int p = 0; p < n; p++, v += stride)
            {
                // Eight positions ahead: the cache rows of one KV head are a stride apart, past the prefetcher's reach.
                Sse.Prefetch0(v + 8L * stride);
                TE.Load16(v, out var v0, out var v1);
                TE.Load16(v + 16 * elementBytes, out var v2, out var v3);
                var b = Vector256.Create(w0[p]);
                a00 = Fma.MultiplyAdd(b, v0, a00); a01 = Fma.MultiplyAdd(b, v1, a01); a02 = Fma.MultiplyAdd(b, v2, a02); a03 = Fma.MultiplyAdd(b, v3, a03);
                if (heads > 1)
                {
                    b = Vector256.Create(w1[p]);
                    a10 = Fma.MultiplyAdd(b, v0, a10); a11 = Fma.MultiplyAdd(b, v1, a11); a12 = Fma.MultiplyAdd(b, v2, a12); a13 = Fma.MultiplyAdd(b, v3, a13);
                }
                if (heads > 2)
                {
                    b = Vector256.Create(w2[p]);
                    a20 = Fma.MultiplyAdd(b, v0, a20); a21 = Fma.MultiplyAdd(b, v1, a21); a22 = Fma.MultiplyAdd(b, v2, a22); a23 = Fma.MultiplyAdd(b, v3, a23);
                }
                if (heads > 3)
                {
                    b = Vector256.Create(w3[p]);
                    a30 = Fma.MultiplyAdd(b, v0, a30); a31 = Fma.MultiplyAdd(b, v1, a31); a32 = Fma.MultiplyAdd(b, v2, a32); a33 = Fma.MultiplyAdd(b, v3, a33);
                }
            }
            float* o = output + j0;
            Avx.Store(o, a00); Avx.Store(o + 8, a01); Avx.Store(o + 16, a02); Avx.Store(o + 24, a03);
            if (heads > 1) { o += outStride; Avx.Store(o, a10); Avx.Store(o + 8, a11); Avx.Store(o + 16, a12); Avx.Store(o + 24, a13); }
            if (heads > 2) { o += outStride; Avx.Store(o, a20); Avx.Store(o + 8, a21); Avx.Store(o + 16, a22); Avx.Store(o + 24, a23); }
            if (heads > 3) { o += outStride; Avx.Store(o, a30); Avx.Store(o + 8, a31); Avx.Store(o + 16, a32); Avx.Store(o + 24, a33); }
        }
    }

    /// <summary>y_h += alpha[h] * x for up to four heads: each group of x loaded (widened) once for every head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyHeads<TE>(float* alpha, void* x, float* y, int yStride, int heads, int n) where TE : struct, IHeadElements
    {
        var v0 = Vector256.Create(alpha[0]);
        var v1 = Vector256.Create(heads > 1 ? alpha[1] : 0);
        var v2 = Vector256.Create(heads > 2 ? alpha[2] : 0);
        var v3 = Vector256.Create(heads > 3 ? alpha[3] : 0);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var w = TE.Load8(x, i);
            float* yi = y + i;
            Avx.Store(yi, Fma.MultiplyAdd(v0, w, Avx.LoadVector256(yi)));
            if (heads > 1) Avx.Store(yi + yStride, Fma.MultiplyAdd(v1, w, Avx.LoadVector256(yi + yStride)));
            if (heads > 2) Avx.Store(yi + 2L * yStride, Fma.MultiplyAdd(v2, w, Avx.LoadVector256(yi + 2L * yStride)));
            if (heads > 3) Avx.Store(yi + 3L * yStride, Fma.MultiplyAdd(v3, w, Avx.LoadVector256(yi + 3L * yStride)));
        }
        if (i < n)
            for (int h = 0; h < heads; h++) TE.TailAxpy(alpha[h], x, i, y + (long)h * yStride + i, n - i);
    }

    public static bool AttentionTiles => true;

    /// <summary>4 columns x 32 dimensions in 16 accumulators: per position, 4 value loads and 4 weight broadcasts feed 16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        for (int p = 0; p < n; p++)
        {
            float* v = values + (long)p * hd;
            float* w = weights + (long)p * 32;
            var v0 = Avx.LoadVector256(v); var v1 = Avx.LoadVector256(v + 8);
            var v2 = Avx.LoadVector256(v + 16); var v3 = Avx.LoadVector256(v + 24);
            var b = Vector256.Create(w[0]);
            a00 = Fma.MultiplyAdd(b, v0, a00); a01 = Fma.MultiplyAdd(b, v1, a01); a02 = Fma.MultiplyAdd(b, v2, a02); a03 = Fma.MultiplyAdd(b, v3, a03);
            b = Vector256.Create(w[1]);
            a10 = Fma.MultiplyAdd(b, v0, a10); a11 = Fma.MultiplyAdd(b, v1, a11); a12 = Fma.MultiplyAdd(b, v2, a12); a13 = Fma.MultiplyAdd(b, v3, a13);
            b = Vector256.Create(w[2]);
            a20 = Fma.MultiplyAdd(b, v0, a20); a21 = Fma.MultiplyAdd(b, v1, a21); a22 = Fma.MultiplyAdd(b, v2, a22); a23 = Fma.MultiplyAdd(b, v3, a23);
            b = Vector256.Create(w[3]);
            a30 = Fma.MultiplyAdd(b, v0, a30); a31 = Fma.MultiplyAdd(b, v1, a31); a32 = Fma.MultiplyAdd(b, v2, a32); a33 = Fma.MultiplyAdd(b, v3, a33);
        }
        float* o = output;
        Avx.Store(o, a00); Avx.Store(o + 8, a01); Avx.Store(o + 16, a02); Avx.Store(o + 24, a03);
        o += outStride;
        Avx.Store(o, a10); Avx.Store(o + 8, a11); Avx.Store(o + 16, a12); Avx.Store(o + 24, a13);
        o += outStride;
        Avx.Store(o, a20); Avx.Store(o + 8, a21); Avx.Store(o + 16, a22); Avx.Store(o + 24, a23);
        o += outStride;
        Avx.Store(o, a30); Avx.Store(o + 8, a31); Avx.Store(o + 16, a32); Avx.Store(o + 24, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots)
    {
        int full = n / Q8KvLayout.Block;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float* x = q + b * Q8KvLayout.Block;
            Vector256<float> p0 = default, p1 = default, p2 = default, p3 = default;
            for (int j = 0; j < Q8KvLayout.Block; j += 8)
            {
                var w = Codes8(c + j); // once for every head
                p0 = Fma.MultiplyAdd(Avx.LoadVector256(x + j), w, p0);
                if (heads > 1) p1 = Fma.MultiplyAdd(Avx.LoadVector256(x + qStride + j), w, p1);
                if (heads > 2) p2 = Fma.MultiplyAdd(Avx.LoadVector256(x + 2L * qStride + j), w, p2);
                if (heads > 3) p3 = Fma.MultiplyAdd(Avx.LoadVector256(x + 3L * qStride + j), w, p3);
            }
            var d = Vector256.Create(Q8KvLayout.Scale(blocks, b));
            a0 = Fma.MultiplyAdd(p0, d, a0);
            if (heads > 1) a1 = Fma.MultiplyAdd(p1, d, a1);
            if (heads > 2) a2 = Fma.MultiplyAdd(p2, d, a2);
            if (heads > 3) a3 = Fma.MultiplyAdd(p3, d, a3);
        }
        dots[0] = Vector256.Sum(a0);
        if (heads > 1) dots[1] = Vector256.Sum(a1);
        if (heads > 2) dots[2] = Vector256.Sum(a2);
        if (heads > 3) dots[3] = Vector256.Sum(a3);
        int done = full * Q8KvLayout.Block;
        if (done < n)
            for (int h = 0; h < heads; h++)
                dots[h] += ScalarIsa.Q8KvDot(q + (long)h * qStride + done, blocks + full * Q8KvLayout.BlockBytes, n - done);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n)
    {
        int full = n / Q8KvLayout.Block;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float scale = Q8KvLayout.Scale(blocks, b);
            var v0 = Vector256.Create(alpha[0] * scale);
            var v1 = Vector256.Create(heads > 1 ? alpha[1] * scale : 0);
            var v2 = Vector256.Create(heads > 2 ? alpha[2] * scale : 0);
            var v3 = Vector256.Create(heads > 3 ? alpha[3] * scale : 0);
            for (int j = 0; j < Q8KvLayout.Block; j += 8)
            {
                var w = Codes8(c + j);
                float* yj = y + b * Q8KvLayout.Block + j;
                Avx.Store(yj, Fma.MultiplyAdd(v0, w, Avx.LoadVector256(yj)));
                if (heads > 1) Avx.Store(yj + yStride, Fma.MultiplyAdd(v1, w, Avx.LoadVector256(yj + yStride)));
                if (heads > 2) Avx.Store(yj + 2L * yStride, Fma.MultiplyAdd(v2, w, Avx.LoadVector256(yj + 2L * yStride)));
                if (heads > 3) Avx.Store(yj + 3L * yStride, Fma.MultiplyAdd(v3, w, Avx.LoadVector256(yj + 3L * yStride)));
            }
        }
        int done = full * Q8KvLayout.Block;
        if (done < n)
            for (int h = 0; h < heads; h++)
                ScalarIsa.AxpyQ8Kv(alpha[h], blocks + full * Q8KvLayout.BlockBytes, y + (long)h * yStride + done, n - done);
    }
}
