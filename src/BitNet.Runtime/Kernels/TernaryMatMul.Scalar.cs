using System.Runtime.CompilerServices;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Kernels;

public static unsafe partial class TernaryMatMul
{
    /// <summary>Scalar reference: decode each block's codes with the reference decoders, integer dot, one float multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeScalar(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        Span<byte> codes = stackalloc byte[256];
        for (int n = rowStart; n < rowEnd; n++)
        {
            for (int t = 0; t < x.Tokens; t++)
            {
                sbyte* q = x.Q + (long)t * x.K;
                int* sums = x.BlockSums + (long)t * x.SumsPerToken;
                float dot = RowDotScalar(w, n, q, sums, codes);
                y[(long)t * yStride + n] = Finish(w, dot, x.Scale[t]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float RowDotScalar(TernaryMatrix w, int n, sbyte* q, int* sums, Span<byte> codes)
    {
        byte* row = w.Row(n);
        int blocks = w.K / w.BlockWeights;
        if (w.Layout == TernaryLayout.I2S)
        {
            int isum = 0;
            for (int b = 0; b < blocks; b++)
            {
                ReferenceDequantizer.I2_SCodes(new ReadOnlySpan<byte>(row + b * 32, 32), codes);
                for (int i = 0; i < 128; i++) isum += codes[i] * q[b * 128 + i];
                isum -= sums[b];
            }
            return isum * w.TensorScale;
        }

        float acc = 0;
        for (int b = 0; b < blocks; b++)
        {
            var blk = new ReadOnlySpan<byte>(row + (long)b * w.BlockBytes, w.BlockBytes);
            float d;
            if (w.Layout == TernaryLayout.TQ2)
            {
                ReferenceDequantizer.TQ2_0Codes(blk, codes);
                d = TensorFormats.ReadHalf(blk, 64);
            }
            else
            {
                ReferenceDequantizer.TQ1_0Codes(blk, codes);
                d = TensorFormats.ReadHalf(blk, 52);
            }
            int isum = 0;
            for (int i = 0; i < 256; i++) isum += codes[i] * q[b * 256 + i];
            isum -= sums[2 * b] + sums[2 * b + 1];
            acc += d * isum;
        }
        return acc;
    }
}
