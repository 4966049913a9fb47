using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Dot products of F16 rows with a float vector, fused (convert in registers, multiply-add, no scratch row): the LM
/// head of 2B4T is 657 MB of F16 read once per token, so this loop must run at memory bandwidth. .NET has no F16C
/// intrinsics, so halves are widened with integer operations:
/// <code>
/// bits(f) = sign &lt;&lt; 16 | (float)((h &amp; 0x7FFF) &lt;&lt; 13) * 2^112      normals and subnormals (no DAZ in .NET)
///           exponent 31 (inf/nan) -> exponent 255
/// </code>
/// The scalar path converts with (float)Half and is the oracle.
/// </summary>
public static unsafe class HalfDot
{
    public static readonly bool UseAvx2 = Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// One row against up to four activation vectors (batched decode, several logits rows): each group of eight halves
    /// is widened once and used for every token. y[t] = dot(row, x + t * xStride) for t &lt; tokens (1..4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y)
    {
        if (!UseAvx2 || k % 8 != 0 || tokens is < 2 or > 4)
        {
            for (int t = 0; t < tokens; t++) y[t] = Dot(row, x + (long)t * xStride, k);
            return;
        }
        float* x0 = x, x1 = x + xStride, x2 = x + 2L * xStride, x3 = x + 3L * xStride;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int j = 0; j < k; j += 8)
        {
            var h = Widen(row + j);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
            if (tokens > 2) a2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + j), a2);
            if (tokens > 3) a3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + j), a3);
        }
        y[0] = Vector256.Sum(a0);
        y[1] = Vector256.Sum(a1);
        if (tokens > 2) y[2] = Vector256.Sum(a2);
        if (tokens > 3) y[3] = Vector256.Sum(a3);
    }

    /// <summary>One row against eight activation vectors: y[t] = dot(row, x + t * xStride), widening each group of halves once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTokens8(ushort* row, float* x, int xStride, int k, float* y)
    {
        if (!UseAvx2 || k % 8 != 0)
        {
            for (int t = 0; t < 8; t++) y[t] = Dot(row, x + (long)t * xStride, k);
            return;
        }
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int j = 0; j < k; j += 8)
        {
            var h = Widen(row + j);
            float* xj = x + j;
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + xStride), a1);
            a2 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 2L * xStride), a2);
            a3 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 3L * xStride), a3);
            a4 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 4L * xStride), a4);
            a5 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 5L * xStride), a5);
            a6 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 6L * xStride), a6);
            a7 = Fma.MultiplyAdd(h, Avx.LoadVector256(xj + 7L * xStride), a7);
        }
        y[0] = Vector256.Sum(a0); y[1] = Vector256.Sum(a1); y[2] = Vector256.Sum(a2); y[3] = Vector256.Sum(a3);
        y[4] = Vector256.Sum(a4); y[5] = Vector256.Sum(a5); y[6] = Vector256.Sum(a6); y[7] = Vector256.Sum(a7);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ushort* row, float* x, int k)
    {
        if (!UseAvx2) return DotScalar(row, x, k);
        var acc = Vector256<float>.Zero;
        int j = 0;
        for (; j + 8 <= k; j += 8) acc = Fma.MultiplyAdd(Widen(row + j), Avx.LoadVector256(x + j), acc);
        float sum = Vector256.Sum(acc);
        for (; j < k; j++) sum += (float)BitConverter.UInt16BitsToHalf(row[j]) * x[j];
        return sum;
    }

    public static float DotScalar(ushort* row, float* x, int k)
    {
        float sum = 0;
        for (int j = 0; j < k; j++) sum += (float)BitConverter.UInt16BitsToHalf(row[j]) * x[j];
        return sum;
    }

    /// <summary>Eight halves to eight floats, exactly (see the class comment).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(ushort* p)
    {
        var h = Avx2.ConvertToVector256Int32(p);                                   // zero-extended u16 -> i32
        var magnitude = Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x7FFF)), 13);
        var f = Avx.Multiply(magnitude.AsSingle(), Vector256.Create(5.192297e33f)); // 2^112
        var infNan = Avx2.CompareGreaterThan(magnitude, Vector256.Create(0x0F7FFFFF)); // half exponent 31
        var bits = Avx2.Or(f.AsInt32(), Avx2.And(infNan, Vector256.Create(0x7F800000)));
        var sign = Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x8000)), 16);
        return Avx2.Or(bits, sign).AsSingle();
    }
}
