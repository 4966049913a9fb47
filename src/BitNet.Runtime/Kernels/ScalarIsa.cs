using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The scalar reference: plain loops that read the byte layouts exactly as docs/bitnet-runtime.md §4 defines them.
/// It runs on every CPU and is the oracle every SIMD variant is tested against (`bitnet selftest`, the kernel tests).
/// <code>
/// I2_S block (32 bytes = 128 weights), byte i:  [7:6] w[i]  [5:4] w[32+i]  [3:2] w[64+i]  [1:0] w[96+i]
/// TQ2_0 half (32 of 64 code bytes), byte m:     [1:0] w[m]  [3:2] w[32+m]  [5:4] w[64+m]  [7:6] w[96+m]
/// </code>
/// </summary>
internal unsafe struct ScalarIsa : IKernelIsa
{
    public static string Name => "scalar";

    public static bool IsSupported => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        int sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            byte* w = row + b * 32;
            sbyte* x = q + b * 128;
            for (int i = 0; i < 32; i++)
            {
                int v = w[i];
                sum += (v >> 6) * x[i] + ((v >> 4) & 3) * x[32 + i] + ((v >> 2) & 3) * x[64 + i] + (v & 3) * x[96 + i];
            }
        }
        return sum;
    }

    public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        for (int t = 0; t < 4; t++) sums[t] = I2SDot(row, q + (long)t * k, blocks);
    }

    public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        for (int t = 0; t < 2; t++) sums[t] = I2SDot(row, q + (long)t * k, blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int TQ2Dot(byte* block, sbyte* q)
    {
        int sum = 0;
        for (int half = 0; half < 2; half++)
        {
            byte* c = block + half * 32;
            sbyte* x = q + half * 128;
            for (int m = 0; m < 32; m++)
            {
                int v = c[m];
                sum += (v & 3) * x[m] + ((v >> 2) & 3) * x[32 + m] + ((v >> 4) & 3) * x[64 + m] + (v >> 6) * x[96 + m];
            }
        }
        return sum;
    }

    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums)
    {
        sums[0] = TQ2Dot(block, q0);
        sums[1] = TQ2Dot(block, q1);
    }

    public static int CodesDot256(byte* codes, sbyte* q)
    {
        int sum = 0;
        for (int i = 0; i < 256; i++) sum += codes[i] * q[i];
        return sum;
    }

    public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening)
    {
        float sum = 0;
        if (widening == HalfWidening.Rebias)
            for (int j = 0; j < k; j++) sum += HalfExceptions.Rebiased(row[j]) * x[j];
        else
            for (int j = 0; j < k; j++) sum += (float)BitConverter.UInt16BitsToHalf(row[j]) * x[j];
        return sum;
    }

    public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening)
    {
        for (int t = 0; t < tokens; t++) y[t] = HalfDot(row, x + (long)t * xStride, k, widening);
    }

    /// <summary>
    /// Block-interleaved, biased codes (<see cref="Q8RowMatrix"/>): block j of a group is bytes g * 32 + j * 4 + i, each
    /// weight <c>code ^ 0x80</c>. The bias sums are not needed here.
    /// </summary>
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks)
    {
        float sum = 0;
        int grouped = blocks / Q8RowMatrix.Group * Q8RowMatrix.Group;
        for (int b = 0; b < blocks; b++)
        {
            int isum = 0;
            if (b < grouped)
            {
                long start = (long)(b - b % Q8RowMatrix.Group) * Q8RowMatrix.Block;
                int j = b % Q8RowMatrix.Group;
                for (int g = 0; g < 8; g++)
                    for (int i = 0; i < 4; i++) isum += Weight(w[start + g * 32 + j * 4 + i]) * xq[start + g * 32 + j * 4 + i];
            }
            else
            {
                for (int i = 0; i < Q8RowMatrix.Block; i++) isum += Weight(w[b * Q8RowMatrix.Block + i]) * xq[b * Q8RowMatrix.Block + i];
            }
            sum += isum * (wd[b] * xd[b]);
        }
        return sum;
    }

    private static int Weight(sbyte stored) => (sbyte)(stored ^ unchecked((sbyte)0x80));

    public static void QuantizeRow(float* x, sbyte* q, int k, float s)
    {
        for (int i = 0; i < k; i++) q[i] = Round(x[i], s);
    }

    /// <summary>One activation: clamp(round_half_even(x * s), -128, 127); the SIMD variants use it for their tails.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static sbyte Round(float x, float s) => (sbyte)Math.Clamp(MathF.Round(x * s, MidpointRounding.ToEven), -128f, 127f);

    public static float Dot(float* a, float* b, int n)
    {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    public static void Axpy(float alpha, float* x, float* y, int n)
    {
        for (int i = 0; i < n; i++) y[i] += alpha * x[i];
    }

    public static void AxpyHalf(float alpha, ushort* x, float* y, int n)
    {
        for (int i = 0; i < n; i++) y[i] += alpha * (float)BitConverter.UInt16BitsToHalf(x[i]);
    }

    public static float Q8KvDot(float* x, byte* blocks, int n)
    {
        float sum = 0;
        for (int start = 0, b = 0; start < n; start += Q8KvLayout.Block, b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            int count = Math.Min(Q8KvLayout.Block, n - start);
            float part = 0;
            for (int i = 0; i < count; i++) part += x[start + i] * c[i];
            sum += part * Q8KvLayout.Scale(blocks, b);
        }
        return sum;
    }

    public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n)
    {
        for (int start = 0, b = 0; start < n; start += Q8KvLayout.Block, b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            int count = Math.Min(Q8KvLayout.Block, n - start);
            float a = alpha * Q8KvLayout.Scale(blocks, b);
            for (int i = 0; i < count; i++) y[start + i] += a * c[i];
        }
    }

    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots)
    {
        for (int h = 0; h < heads; h++) dots[h] = HalfDot(row, q + (long)h * qStride, n, HalfWidening.Exact);
    }

    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n)
    {
        for (int h = 0; h < heads; h++) AxpyHalf(alpha[h], x, y + (long)h * yStride, n);
    }

    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots)
    {
        for (int h = 0; h < heads; h++) dots[h] = Q8KvDot(q + (long)h * qStride, blocks, n);
    }

    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n)
    {
        for (int h = 0; h < heads; h++) AxpyQ8Kv(alpha[h], blocks, y + (long)h * yStride, n);
    }
}
