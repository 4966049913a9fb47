using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BitNet.Runtime.Quantization;

/// <summary>
/// Scalar encoders, the inverse of <see cref="ReferenceDequantizer"/>: one per format, mirroring ggml's
/// <c>quantize_row_*_ref</c> (and bitnet.cpp's <c>quantize_i2_s</c> for I2_S). Row encoders take one row of
/// <c>ne0</c> floats and fill <see cref="TensorFormat.RowBytes"/> bytes. The code packers take ternary codes
/// <c>t + 1</c> in {0, 1, 2}, the same convention as <see cref="ReferenceDequantizer.I2_SCodes"/>.
/// They are oracles and tools (synthesis, conversion), not hot paths: keep them obvious.
/// </summary>
public static class ReferenceQuantizer
{
    public static void F32Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.F32);
        MemoryMarshal.AsBytes(src).CopyTo(dst);
    }

    /// <summary>IEEE half, round to nearest even (the conversion .NET's <see cref="Half"/> cast performs).</summary>
    public static void F16Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.F16);
        for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
    }

    public static void BF16Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.BF16);
        for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], ToBF16(src[i]));
    }

    /// <summary>bfloat16 bits of <paramref name="x"/>, rounded to nearest even; NaN stays a (quiet) NaN (ggml's fp32_to_bf16).</summary>
    public static ushort ToBF16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (ushort)((bits >> 16) | 64);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>Q8_0 per 32-block: d = amax/127 (stored as f16), q = round(x/d) half away from zero (ggml semantics).</summary>
    public static void Q8_0Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.Q8_0);
        for (int b = 0; b < src.Length / 32; b++)
        {
            var x = src.Slice(b * 32, 32);
            var blk = dst.Slice(b * 34, 34);
            float d = AbsMax(x) / 127f;
            float id = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(blk, (Half)d);
            for (int i = 0; i < 32; i++) blk[2 + i] = (byte)(sbyte)RoundAway(x[i] * id);
        }
    }

    /// <summary>TQ2_0 per 256-block: d = amax (f16), codes = round(x/d) + 1 (ggml's quantize_row_tq2_0_ref).</summary>
    public static void TQ2_0Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.TQ2_0);
        Span<byte> codes = stackalloc byte[256];
        for (int b = 0; b < src.Length / 256; b++)
        {
            float d = TernaryCodesOfBlock(src.Slice(b * 256, 256), codes);
            TQ2_0Block(codes, (Half)d, dst.Slice(b * 66, 66));
        }
    }

    /// <summary>TQ1_0 per 256-block: d = amax (f16), codes = round(x/d) + 1 (ggml's quantize_row_tq1_0_ref).</summary>
    public static void TQ1_0Row(ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckRow(src, dst, TensorFormats.TQ1_0);
        Span<byte> codes = stackalloc byte[256];
        for (int b = 0; b < src.Length / 256; b++)
        {
            float d = TernaryCodesOfBlock(src.Slice(b * 256, 256), codes);
            TQ1_0Block(codes, (Half)d, dst.Slice(b * 54, 54));
        }
    }

    /// <summary>
    /// Packs 256 codes (t+1 in 0..2) into one 66-byte TQ2_0 block. For half j in {0, 32}, byte qs[j+m] holds
    /// elements j*4 + m + 32n at bits 2n: the first group of 32 sits in the low bits.
    /// </summary>
    public static void TQ2_0Block(ReadOnlySpan<byte> codes, Half d, Span<byte> block)
    {
        CheckCodes(codes, 256);
        CheckLength(block, 66, "TQ2_0 block");
        for (int j = 0; j < 64; j += 32)
            for (int m = 0; m < 32; m++)
            {
                int q = 0;
                for (int n = 0; n < 4; n++) q |= codes[j * 4 + m + 32 * n] << (2 * n);
                block[j + m] = (byte)q;
            }
        BinaryPrimitives.WriteHalfLittleEndian(block[64..], d);
    }

    /// <summary>
    /// Packs 256 codes (t+1 in 0..2) into one 54-byte TQ1_0 block: five trits per qs byte (stride 32 for the first 160
    /// values, 16 for the next 80), four per qh byte (stride 4, shifted up one trit), each group a base-3 number with
    /// the first element most significant, stored as the fixed-point fraction ceil(q * 256 / 243).
    /// </summary>
    public static void TQ1_0Block(ReadOnlySpan<byte> codes, Half d, Span<byte> block)
    {
        CheckCodes(codes, 256);
        CheckLength(block, 54, "TQ1_0 block");
        for (int m = 0; m < 32; m++) block[m] = TritByte(codes, m, 32, 5, 1);
        for (int m = 0; m < 16; m++) block[32 + m] = TritByte(codes, 160 + m, 16, 5, 1);
        for (int j = 0; j < 4; j++) block[48 + j] = TritByte(codes, 240 + j, 4, 4, 3);
        BinaryPrimitives.WriteHalfLittleEndian(block[52..], d);
    }

    // ceil(q * 256 / 243) puts the base-3 fraction q/243 in a byte, so that multiplying by 3^n brings digit n to the top.
    private static byte TritByte(ReadOnlySpan<byte> codes, int first, int stride, int count, int shift)
    {
        int q = 0;
        for (int n = 0; n < count; n++) q = q * 3 + codes[first + n * stride];
        q *= shift;
        return (byte)((q * 256 + 242) / 243);
    }

    /// <summary>
    /// Packs codes (t+1 in 0..2, flat row-major, length a multiple of 128) in bitnet.cpp's I2_S x86 layout:
    /// byte i of each 32-byte block holds w[i] in bits 7:6, w[32+i] in 5:4, w[64+i] in 3:2, w[96+i] in 1:0.
    /// Fills <c>codes.Length / 4</c> bytes; the scale goes after all codes (<see cref="I2_STail"/>).
    /// </summary>
    public static void I2_SPack(ReadOnlySpan<byte> codes, Span<byte> dst)
    {
        if (codes.Length % 128 != 0)
            throw new ArgumentException($"I2_S packs blocks of 128 codes; got {codes.Length}", nameof(codes));
        CheckLength(dst, codes.Length / 4, "I2_S code bytes");
        for (int b = 0; b < codes.Length / 128; b++)
        {
            var c = codes.Slice(b * 128, 128);
            var o = dst.Slice(b * 32, 32);
            for (int i = 0; i < 32; i++)
            {
                if (c[i] > 2 | c[32 + i] > 2 | c[64 + i] > 2 | c[96 + i] > 2) throw new ArgumentException("ternary codes must be 0..2", nameof(codes));
                o[i] = (byte)((c[i] << 6) | (c[32 + i] << 4) | (c[64 + i] << 2) | c[96 + i]);
            }
        }
    }

    /// <summary>The 32 bytes after an I2_S tensor's codes: the f32 per-tensor scale, then 28 zero bytes of padding.</summary>
    public static void I2_STail(float scale, Span<byte> tail)
    {
        CheckLength(tail, 32, "I2_S tail");
        tail.Clear();
        BinaryPrimitives.WriteSingleLittleEndian(tail, scale);
    }

    /// <summary>
    /// A whole I2_S tensor (<c>values.Length / 4 + 32</c> bytes) from ternary values t*<paramref name="scale"/>:
    /// t = clamp(round(x / scale), -1, 1). Exact for ternary input; bitnet.cpp's quantizer uses scale = max|x|.
    /// </summary>
    public static void I2_S(ReadOnlySpan<float> values, float scale, Span<byte> dst)
    {
        if (values.Length % 128 != 0)
            throw new ArgumentException($"I2_S needs a multiple of 128 values; got {values.Length}", nameof(values));
        CheckLength(dst, values.Length / 4 + 32, "I2_S tensor");
        var codes = new byte[values.Length];
        float inv = scale != 0 ? 1f / scale : 0f;
        for (int i = 0; i < values.Length; i++) codes[i] = (byte)(Math.Clamp(RoundAway(values[i] * inv), -1, 1) + 1);
        I2_SPack(codes, dst[..(values.Length / 4)]);
        I2_STail(scale, dst[(values.Length / 4)..]);
    }

    /// <summary>
    /// Absmean ternarization of latent weights (BitNet b1.58): s = mean|W| (at least 1e-5, as the reference training
    /// code clamps it), t = clamp(round_half_even(W / s), -1, 1). Returns t in {-1, 0, +1} and s.
    /// </summary>
    public static (sbyte[] codes, float scale) TernarizeAbsMean(ReadOnlySpan<float> weights)
    {
        double sum = 0;
        foreach (float w in weights) sum += Math.Abs(w);
        float scale = weights.Length == 0 ? 1e-5f : Math.Max((float)(sum / weights.Length), 1e-5f);
        var codes = new sbyte[weights.Length];
        for (int i = 0; i < weights.Length; i++) codes[i] = (sbyte)Math.Clamp(MathF.Round(weights[i] / scale), -1f, 1f);
        return (codes, scale);
    }

    /// <summary>
    /// Encodes a whole tensor of <paramref name="ne0"/>-wide rows into <paramref name="type"/>'s bytes (the exact
    /// <see cref="TensorFormat.TensorBytes"/> size). I2_S takes the scale from max|x|, as bitnet.cpp does.
    /// </summary>
    public static byte[] Quantize(GgmlType type, ReadOnlySpan<float> values, long ne0)
    {
        var format = TensorFormats.Get(type);
        if (ne0 <= 0 || values.Length % ne0 != 0)
            throw new ArgumentException($"{values.Length} values do not form rows of {ne0}", nameof(ne0));
        long rows = values.Length / ne0;
        long size = format.TensorBytes(ne0, rows)
            ?? throw new ArgumentException($"ne0 = {ne0} is not a multiple of the {format.Name} block size {format.BlockSize}", nameof(ne0));
        var dst = new byte[size];
        if (type == GgmlType.I2_S)
        {
            I2_S(values, AbsMax(values), dst);
            return dst;
        }
        RowEncoder encode = type switch
        {
            GgmlType.F32 => F32Row,
            GgmlType.F16 => F16Row,
            GgmlType.BF16 => BF16Row,
            GgmlType.Q8_0 => Q8_0Row,
            GgmlType.TQ1_0 => TQ1_0Row,
            GgmlType.TQ2_0 => TQ2_0Row,
            _ => throw new NotSupportedException($"no reference quantizer for {format.Name}"),
        };
        int rowBytes = (int)format.RowBytes(ne0);
        for (int r = 0; r < rows; r++)
            encode(values.Slice(r * (int)ne0, (int)ne0), dst.AsSpan(r * rowBytes, rowBytes));
        return dst;
    }

    private delegate void RowEncoder(ReadOnlySpan<float> src, Span<byte> dst);

    // ggml's ternary block rule: d = amax of the block, code = lroundf(x / d) + 1, which is always 0..2 since |x| <= d.
    private static float TernaryCodesOfBlock(ReadOnlySpan<float> x, Span<byte> codes)
    {
        float d = AbsMax(x);
        float id = d != 0 ? 1f / d : 0f;
        for (int i = 0; i < x.Length; i++) codes[i] = (byte)(Math.Clamp(RoundAway(x[i] * id), -1, 1) + 1);
        return d;
    }

    // C's lroundf/roundf: halves away from zero (NaN maps to 0 rather than to an undefined integer).
    private static int RoundAway(float v) => float.IsNaN(v) ? 0 : (int)Math.Clamp(MathF.Round(v, MidpointRounding.AwayFromZero), -128f, 127f);

    private static float AbsMax(ReadOnlySpan<float> x)
    {
        float m = 0;
        foreach (float v in x) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    private static void CheckRow(ReadOnlySpan<float> src, Span<byte> dst, TensorFormat format)
    {
        if (src.Length % format.BlockSize != 0)
            throw new ArgumentException($"{format.Name} rows are multiples of {format.BlockSize} values; got {src.Length}", nameof(src));
        CheckLength(dst, format.RowBytes(src.Length), $"{format.Name} row");
    }

    private static void CheckCodes(ReadOnlySpan<byte> codes, int n)
    {
        if (codes.Length != n) throw new ArgumentException($"expected {n} codes, got {codes.Length}", nameof(codes));
        foreach (byte c in codes)
            if (c > 2) throw new ArgumentException($"ternary code {c} is not 0..2", nameof(codes));
    }

    private static void CheckLength(Span<byte> dst, long expected, string what)
    {
        if (dst.Length != expected)
            throw new ArgumentException($"{what} needs exactly {expected} bytes; the destination has {dst.Length}", nameof(dst));
    }
}
