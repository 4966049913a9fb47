using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Causal softmax attention of one query head over one sequence's cached keys and values:
/// <c>out = softmax(q . K[0..n) / sqrt(hd)) . V[0..n)</c>. Head vectors are short (64-128 floats), so the per-position
/// dot and axpy are inlined vector loops rather than library calls, whose fixed cost would dominate.
/// </summary>
public static unsafe class AttentionKernel
{
    /// <param name="q">Query head [hd].</param>
    /// <param name="keys">First key of this KV head; position p starts at keys + p * stride.</param>
    /// <param name="values">First value of this KV head, same stride.</param>
    /// <param name="scores">Scratch of at least n floats.</param>
    /// <param name="output">Output head [hd].</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend(float* q, float* keys, float* values, int stride, int n, int hd, Span<float> scores, float* output)
    {
        float scale = 1f / MathF.Sqrt(hd);
        var s = scores[..n];
        for (int p = 0; p < n; p++) s[p] = Dot(q, keys + (long)p * stride, hd) * scale;
        float max = TensorPrimitives.Max(s);
        TensorPrimitives.Subtract(s, max, s);
        TensorPrimitives.Exp(s, s);
        TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);

        new Span<float>(output, hd).Clear();
        for (int p = 0; p < n; p++) Axpy(s[p], values + (long)p * stride, output, hd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float alpha, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(alpha);
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.FusedMultiplyAdd(va, Vector256.Load(x + i), Vector256.Load(y + i)), y + i);
        }
        for (; i < n; i++) y[i] += alpha * x[i];
    }
}
