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

    /// <summary>y[r] = dot(rows[r], x) for 4 consecutive rows of <paramref name="k"/> halves (row stride k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4(ushort* rows, float* x, int k, float* y)
    {
        if (!UseAvx2 || k % 8 != 0)
        {
            for (int r = 0; r < 4; r++) y[r] = DotScalar(rows + (long)r * k, x, k);
            return;
        }
        ushort* r0 = rows, r1 = rows + k, r2 = rows + 2L * k, r3 = rows + 3L * k;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int j = 0; j < k; j += 8)
        {
            var xv = Avx.LoadVector256(x + j);
            a0 = Fma.MultiplyAdd(Widen(r0 + j), xv, a0);
            a1 = Fma.MultiplyAdd(Widen(r1 + j), xv, a1);
            a2 = Fma.MultiplyAdd(Widen(r2 + j), xv, a2);
            a3 = Fma.MultiplyAdd(Widen(r3 + j), xv, a3);
        }
        y[0] = Vector256.Sum(a0);
        y[1] = Vector256.Sum(a1);
        y[2] = Vector256.Sum(a2);
        y[3] = Vector256.Sum(a3);
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
