using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Causal softmax attention of one query head over one sequence's cached keys and values:
/// <c>out = softmax(q . K[0..n) / sqrt(hd)) . V[0..n)</c>. Head vectors are short (64-128 floats), so the per-position
/// dot and axpy are the instruction set's inlined vector loops rather than library calls, whose fixed cost would
/// dominate; the softmax over n scores is TensorPrimitives.
/// </summary>
internal static unsafe class AttentionKernel
{
    /// <param name="q">Query head [hd].</param>
    /// <param name="keys">First key of this KV head; position p starts at keys + p * stride.</param>
    /// <param name="values">First value of this KV head, same stride.</param>
    /// <param name="stride">Floats between positions.</param>
    /// <param name="n">Positions to attend to.</param>
    /// <param name="hd">Head dimension.</param>
    /// <param name="scores">Scratch of at least n floats.</param>
    /// <param name="output">Output head [hd].</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend<TIsa>(float* q, float* keys, float* values, int stride, int n, int hd, Span<float> scores, float* output)
        where TIsa : struct, IKernelIsa
    {
        float scale = 1f / MathF.Sqrt(hd);
        var s = scores[..n];
        for (int p = 0; p < n; p++) s[p] = TIsa.Dot(q, keys + (long)p * stride, hd) * scale;
        float max = TensorPrimitives.Max(s);
        TensorPrimitives.Subtract(s, max, s);
        TensorPrimitives.Exp(s, s);
        TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);

        new Span<float>(output, hd).Clear();
        for (int p = 0; p < n; p++) TIsa.Axpy(s[p], values + (long)p * stride, output, hd);
    }
}
