using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The Q8_0 KV cache layout: each head vector of one position is cut into 32-value blocks, each stored as 32 int8
/// codes followed by its float32 scale (36 bytes; ggml's Q8_0 uses an F16 scale, but a float32 one costs 2 bytes per
/// block and saves a half widening per block on CPUs where .NET has no F16C). A head dimension that is not a multiple
/// of 32 ends in a short block padded with zero codes, so every head starts on a block of its own and attention reads
/// one head without touching its neighbours. Value = code * scale; scale = max|x| / 127 of the block.
/// </summary>
public static unsafe class Q8KvLayout
{
    /// <summary>Values per block.</summary>
    public const int Block = 32;

    /// <summary>Bytes per block: the codes, then the float32 scale.</summary>
    public const int BlockBytes = Block + sizeof(float);

    /// <summary>Blocks of one head vector of <paramref name="headDim"/> values.</summary>
    public static int BlocksPerHead(int headDim) => (headDim + Block - 1) / Block;

    /// <summary>Bytes of one head vector of <paramref name="headDim"/> values.</summary>
    public static int HeadBytes(int headDim) => BlocksPerHead(headDim) * BlockBytes;

    /// <summary>The scale of block <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(byte* blocks, int b) => Unsafe.ReadUnaligned<float>(blocks + b * BlockBytes + Block);

    /// <summary>
    /// Quantizes one head vector x[0..n) into <see cref="BlocksPerHead"/>(n) blocks at <paramref name="dst"/>: per block
    /// the scale max|x| / 127 and codes round_half_even(x / scale) (all zero for an all-zero block). Allocation-free:
    /// it runs once per stored position, layer and KV head.
    /// </summary>
    public static void Quantize(float* x, int n, byte* dst)
    {
        for (int start = 0; start < n; start += Block)
        {
            int count = Math.Min(Block, n - start);
            float max = 0;
            for (int i = 0; i < count; i++) max = Math.Max(max, MathF.Abs(x[start + i]));
            float scale = max / 127f;
            float inverse = scale > 0 ? 1f / scale : 0f;
            var codes = (sbyte*)dst;
            for (int i = 0; i < count; i++)
                codes[i] = (sbyte)Math.Clamp(MathF.Round(x[start + i] * inverse, MidpointRounding.ToEven), -127f, 127f);
            for (int i = count; i < Block; i++) codes[i] = 0;
            Unsafe.WriteUnaligned(dst + Block, scale);
            dst += BlockBytes;
        }
    }

    /// <summary>The stored values of one head vector (tests and the self-test compare attention against them).</summary>
    public static void Dequantize(byte* blocks, int n, float* x)
    {
        for (int i = 0; i < n; i++) x[i] = ((sbyte*)blocks)[i / Block * BlockBytes + i % Block] * Scale(blocks, i / Block);
    }
}
