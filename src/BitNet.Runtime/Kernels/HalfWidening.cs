using System.Numerics;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>How an F16 kernel turns halves into floats; every instruction set maps each bit pattern the same way.</summary>
internal enum HalfWidening : byte
{
    /// <summary>Exact for every bit pattern (inf and NaN included).</summary>
    Exact,

    /// <summary>Exact for every finite half, by bits * 2^112; only for rows known to hold no inf/NaN.</summary>
    Finite,

    /// <summary>
    /// Exact for normal halves, by an integer add of 112 to the exponent: no float multiply, so a subnormal half never
    /// reaches the FPU (Intel cores take a microcode assist of ~100 cycles for each subnormal multiply input: 0.12% of
    /// a 2B4T head's halves cost 20-25% of the head's time). Zeros and subnormals come out wrong (see
    /// <see cref="HalfExceptions"/>, which corrects them).
    /// </summary>
    Rebias,
}

/// <summary>
/// The zero and subnormal halves of an F16 matrix, row by row, with what <see cref="HalfWidening.Rebias"/> gets wrong
/// about each: a kernel that widens by rebiasing adds <c>Delta[e] * x[Column[e]]</c> for each entry of a row and so
/// computes the exact dot. Built only for finite matrices where such halves are rare.
/// </summary>
public sealed class HalfExceptions
{
    private HalfExceptions(int[] rowStart, int[] column, float[] delta)
    {
        RowStart = rowStart;
        Column = column;
        Delta = delta;
    }

    /// <summary>Entries of row r are [RowStart[r], RowStart[r + 1]).</summary>
    internal int[] RowStart { get; }

    internal int[] Column { get; }

    /// <summary>Exact value minus the rebiased value.</summary>
    internal float[] Delta { get; }

    public int Count => Column.Length;

    /// <summary>Above this share of a matrix's halves, the corrections would cost more than the assists they avoid.</summary>
    public const int MaxShareDenominator = 64;

    /// <summary>The value <see cref="HalfWidening.Rebias"/> gives a half (the scalar definition every kernel matches).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Rebiased(ushort h) =>
        BitConverter.UInt32BitsToSingle(((uint)(short)h << 13 & 0x8FFFE000u) + 0x38000000u);

    /// <summary>
    /// Scans a matrix of n rows of k halves: whether every half is finite, and (when it is and at most one in
    /// <see cref="MaxShareDenominator"/> is zero or subnormal, or <paramref name="maxCount"/>) the exceptions; null
    /// exceptions otherwise.
    /// </summary>
    internal static unsafe (bool Finite, HalfExceptions? Exceptions) Scan(ushort* p, int k, int n, long maxCount = -1)
    {
        long limit = maxCount >= 0 ? maxCount : (long)k * n / MaxShareDenominator;
        var exponent = new Vector<ushort>(0x7C00);
        int lanes = Vector<ushort>.Count;
        var rowStart = new int[n + 1];
        var column = new List<int>();
        var delta = new List<float>();
        for (int r = 0; r < n; r++)
        {
            ushort* row = p + (long)r * k;
            int j = 0;
            for (; j + lanes <= k; j += lanes)
            {
                var e = Unsafe.ReadUnaligned<Vector<ushort>>(row + j) & exponent;
                if (Vector.EqualsAny(e, exponent)) return (false, null);
                if (!Vector.EqualsAny(e, Vector<ushort>.Zero) || column.Count > limit) continue;
                for (int i = j; i < j + lanes; i++) Add(row[i], i);
            }
            for (; j < k; j++)
            {
                if ((row[j] & 0x7C00) == 0x7C00) return (false, null);
                if (column.Count <= limit) Add(row[j], j);
            }
            rowStart[r + 1] = column.Count;
        }
        return (true, column.Count > limit ? null : new HalfExceptions(rowStart, column.ToArray(), delta.ToArray()));

        void Add(ushort h, int j)
        {
            if ((h & 0x7C00) != 0) return;
            column.Add(j);
            delta.Add((float)BitConverter.UInt16BitsToHalf(h) - Rebiased(h));
        }
    }

    /// <summary>y[t * yStride + r] += the corrections of row r against token t, rows [r0, r1).</summary>
    internal unsafe void Correct(float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1)
    {
        for (int r = r0; r < r1; r++)
        {
            int e0 = RowStart[r], e1 = RowStart[r + 1];
            if (e0 == e1) continue;
            for (int t = 0; t < tokens; t++)
            {
                float* xt = x + (long)t * xStride;
                float sum = 0;
                for (int e = e0; e < e1; e++) sum += Delta[e] * xt[Column[e]];
                y[(long)t * yStride + r] += sum;
            }
        }
    }
}
