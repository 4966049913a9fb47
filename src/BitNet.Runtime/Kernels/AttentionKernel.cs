using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>How cached keys and values are stored.</summary>
public enum KvCacheType
{
    /// <summary>IEEE half (the default): half the memory of float32, well within the reference tolerance.</summary>
    F16,
    /// <summary>float32: exact, twice the memory.</summary>
    F32,
    /// <summary>
    /// int8 codes with one float32 scale per 32 values (<see cref="Q8KvLayout"/>): 0.56 of F16's memory for a head
    /// dimension of 128, read in place by the attention kernel.
    /// </summary>
    Q8_0,
}

/// <summary>
/// Causal softmax attention of one query head over one sequence's cached keys and values (F16, F32 or Q8_0, read in place):
/// <c>out = softmax(q . K[0..n) / sqrt(hd)) . V[0..n)</c>. Head vectors are short (64-128 floats), so the per-position
/// dot and axpy are the instruction set's inlined vector loops rather than library calls, whose fixed cost would
/// dominate; the softmax over n scores is TensorPrimitives.
/// </summary>
internal static unsafe class AttentionKernel
{
    /// <param name="type">Element type of the cached keys and values.</param>
    /// <param name="q">Query head [hd].</param>
    /// <param name="keys">First key of this KV head; position p starts at element p * stride.</param>
    /// <param name="values">First value of this KV head, same stride.</param>
    /// <param name="stride">Bytes between positions.</param>
    /// <param name="n">Positions to attend to.</param>
    /// <param name="hd">Head dimension.</param>
    /// <param name="scores">Scratch of at least n floats.</param>
    /// <param name="output">Output head [hd].</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend<TIsa>(KvCacheType type, float* q, byte* keys, byte* values, int stride, int n, int hd, Span<float> scores, float* output)
        where TIsa : struct, IKernelIsa
    {
        float scale = 1f / MathF.Sqrt(hd);
        var s = scores[..n];
        if (type == KvCacheType.F16)
            for (int p = 0; p < n; p++) s[p] = TIsa.HalfDot((ushort*)(keys + (long)p * stride), q, hd, finite: false) * scale;
        else if (type == KvCacheType.Q8_0)
            for (int p = 0; p < n; p++) s[p] = TIsa.Q8KvDot(q, keys + (long)p * stride, hd) * scale;
        else
            for (int p = 0; p < n; p++) s[p] = TIsa.Dot(q, (float*)(keys + (long)p * stride), hd) * scale;
        float max = TensorPrimitives.Max(s);
        TensorPrimitives.Subtract(s, max, s);
        TensorPrimitives.Exp(s, s);
        TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);

        new Span<float>(output, hd).Clear();
        if (type == KvCacheType.F16)
            for (int p = 0; p < n; p++) TIsa.AxpyHalf(s[p], (ushort*)(values + (long)p * stride), output, hd);
        else if (type == KvCacheType.Q8_0)
            for (int p = 0; p < n; p++) TIsa.AxpyQ8Kv(s[p], values + (long)p * stride, output, hd);
        else
            for (int p = 0; p < n; p++) TIsa.Axpy(s[p], (float*)(values + (long)p * stride), output, hd);
    }
}
