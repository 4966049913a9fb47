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
/// Causal softmax attention of one or more query heads that share one KV head (grouped-query attention) over one
/// sequence's cached keys and values (F16, F32 or Q8_0, read in place): <c>out_h = softmax(q_h . K[0..n) / sqrt(hd)) .
/// V[0..n)</c>. Up to four query heads go through the cache together, so each cached key and value is widened once for
/// all of them rather than once per head (at a long context widening, not reading, is what attention costs). Head
/// vectors are short (64-256 floats), so the per-position dots and axpys are the instruction set's inlined loops rather
/// than library calls, whose fixed cost would dominate; the softmax over n scores is TensorPrimitives.
/// </summary>
internal static unsafe partial class AttentionKernel
{
    /// <summary>Query heads that share one pass over the cache.</summary>
    public const int MaxHeadsPerPass = 4;

    /// <param name="type">Element type of the cached keys and values.</param>
    /// <param name="q">Query heads [heads, hd], one after another.</param>
    /// <param name="heads">Query heads, all attending to this KV head.</param>
    /// <param name="keys">First key of this KV head; position p starts at byte p * stride.</param>
    /// <param name="values">First value of this KV head, same stride.</param>
    /// <param name="stride">Bytes between positions.</param>
    /// <param name="n">Positions to attend to.</param>
    /// <param name="hd">Head dimension.</param>
    /// <param name="scores">Scratch of at least min(heads, 4) * n floats.</param>
    /// <param name="output">Output heads [heads, hd].</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Attend<TIsa>(KvCacheType type, float* q, int heads, byte* keys, byte* values, int stride, int n, int hd,
        Span<float> scores, float* output)
        where TIsa : struct, IKernelIsa
    {
        if (scores.Length < Math.Min(heads, MaxHeadsPerPass) * n) throw new ArgumentException("scores is too short", nameof(scores));
        float* pass = stackalloc float[MaxHeadsPerPass]; // one position's weights for the heads of a pass
        fixed (float* sp = scores)
        {
            for (int h0 = 0; h0 < heads; h0 += MaxHeadsPerPass)
            {
                int g = Math.Min(MaxHeadsPerPass, heads - h0);
                float* qg = q + (long)h0 * hd;
                float* og = output + (long)h0 * hd;
                Scores<TIsa>(type, qg, g, keys, stride, n, 0, n, hd, sp);
                for (int i = 0; i < g; i++) Softmax(new Span<float>(sp + (long)i * n, n));

                if (ValuesInRegisters<TIsa>(type, hd))
                {
                    // The weighted sum with its accumulators in registers over all positions (the same FMAs in order).
                    TIsa.AttendValues(type, sp, n, g, values, stride, n, hd, og, hd);
                    continue;
                }
                new Span<float>(og, g * hd).Clear();
                for (int p = 0; p < n; p++)
                {
                    for (int i = 0; i < g; i++) pass[i] = sp[(long)i * n + p];
                    byte* v = values + (long)p * stride;
                    if (type == KvCacheType.F16) TIsa.AxpyHalfHeads(pass, (ushort*)v, og, hd, g, hd);
                    else if (type == KvCacheType.Q8_0) TIsa.AxpyQ8KvHeads(pass, v, og, hd, g, hd);
                    else TIsa.AxpyFloatHeads(pass, (float*)v, og, hd, g, hd);
                }
            }
        }
    }

    /// <summary>
    /// scores[i * n + p] = (q_i . key_p) / sqrt(hd) for the g &lt;= <see cref="MaxHeadsPerPass"/> heads of q and positions
    /// [p0, p1): each score the same whichever range or pairing computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Scores<TIsa>(KvCacheType type, float* q, int g, byte* keys, int stride, int n, int p0, int p1, int hd, float* scores)
        where TIsa : struct, IKernelIsa
    {
        float scale = 1f / MathF.Sqrt(hd);
        float* pass = stackalloc float[2 * MaxHeadsPerPass]; // one or two positions' dots
        int p = p0;
        if (TIsa.AttentionPairs && type != KvCacheType.Q8_0)
            // Two positions per call: their dot chains overlap (each dot the one-position form's).
            for (; p + 2 <= p1; p += 2)
            {
                byte* k = keys + (long)p * stride;
                if (type == KvCacheType.F16) TIsa.HalfDotHeads2(q, hd, g, (ushort*)k, (ushort*)(k + stride), hd, pass, pass + MaxHeadsPerPass);
                else TIsa.FloatDotHeads2(q, hd, g, (float*)k, (float*)(k + stride), hd, pass, pass + MaxHeadsPerPass);
                for (int i = 0; i < g; i++)
                {
                    scores[(long)i * n + p] = pass[i] * scale;
                    scores[(long)i * n + p + 1] = pass[MaxHeadsPerPass + i] * scale;
                }
            }
        for (; p < p1; p++)
        {
            byte* k = keys + (long)p * stride;
            if (type == KvCacheType.F16) TIsa.HalfDotHeads(q, hd, g, (ushort*)k, hd, pass);
            else if (type == KvCacheType.Q8_0) TIsa.Q8KvDotHeads(q, hd, g, k, hd, pass);
            else TIsa.FloatDotHeads(q, hd, g, (float*)k, hd, pass);
            for (int i = 0; i < g; i++) scores[(long)i * n + p] = pass[i] * scale;
        }
    }

    /// <summary>Scores to softmax weights in place (one definition, so a token's weights never depend on its batch).</summary>
    private static void Softmax(Span<float> s)
    {
        float max = TensorPrimitives.Max(s);
        TensorPrimitives.Subtract(s, max, s);
        TensorPrimitives.Exp(s, s);
        TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
    }
}
