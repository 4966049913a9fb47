using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BitNet.Runtime.Quantization;

/// <summary>
/// Scalar decoders, one per format, written to mirror the byte layouts in docs/bitnet-runtime.md §4 and ggml's
/// <c>dequantize_row_*</c>. They are the oracles every fast kernel is tested against; keep them obvious.
/// </summary>
public static class ReferenceDequantizer
{
    public static void F32Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        var src = MemoryMarshal.Cast<byte, float>(t.Slice(checked((int)(row * dst.Length * 4)), dst.Length * 4));
        src.CopyTo(dst);
    }

    public static void F16Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        var src = MemoryMarshal.Cast<byte, Half>(t.Slice(checked((int)(row * dst.Length * 2)), dst.Length * 2));
        for (int i = 0; i < dst.Length; i++) dst[i] = (float)src[i];
    }

    public static void BF16Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        var src = MemoryMarshal.Cast<byte, ushort>(t.Slice(checked((int)(row * dst.Length * 2)), dst.Length * 2));
        for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
    }

    public static void Q8_0Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        int blocks = dst.Length / 32;
        var src = t.Slice(checked((int)(row * blocks * 34)), blocks * 34);
        for (int b = 0; b < blocks; b++)
        {
            var blk = src.Slice(b * 34, 34);
            float d = TensorFormats.ReadHalf(blk, 0);
            for (int i = 0; i < 32; i++) dst[b * 32 + i] = d * (sbyte)blk[2 + i];
        }
    }

    public static void Q6_KRow(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        int blocks = dst.Length / 256;
        var src = t.Slice(checked((int)(row * blocks * 210)), blocks * 210);
        for (int b = 0; b < blocks; b++)
        {
            var blk = src.Slice(b * 210, 210);
            float d = TensorFormats.ReadHalf(blk, 208);
            var y = dst.Slice(b * 256, 256);
            for (int half = 0; half < 2; half++)
            {
                var ql = blk.Slice(half * 64, 64);
                var qh = blk.Slice(128 + half * 32, 32);
                var sc = blk.Slice(192 + half * 8, 8);
                var yy = y.Slice(half * 128, 128);
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    yy[l] = d * (sbyte)sc[s] * q1;
                    yy[l + 32] = d * (sbyte)sc[s + 2] * q2;
                    yy[l + 64] = d * (sbyte)sc[s + 4] * q3;
                    yy[l + 96] = d * (sbyte)sc[s + 6] * q4;
                }
            }
        }
    }

    /// <summary>TQ1_0 trits as codes 0..2 (value = code - 1) for one 256-block.</summary>
    public static void TQ1_0Codes(ReadOnlySpan<byte> blk, Span<byte> codes)
    {
        ReadOnlySpan<byte> pow3 = [1, 3, 9, 27, 81, 243];
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 32; m++)
                codes[n * 32 + m] = Trit(blk[m], pow3[n]);
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 16; m++)
                codes[160 + n * 16 + m] = Trit(blk[32 + m], pow3[n]);
        for (int n = 0; n < 4; n++)
            for (int j = 0; j < 4; j++)
                codes[240 + n * 4 + j] = Trit(blk[48 + j], pow3[n]);
    }

    // A byte stores a base-3 number as the fixed-point fraction ceil(q*256/243); multiplying by 3^n moves
    // digit n to the top, and (b*3)>>8 reads it.
    private static byte Trit(byte b, byte pow) => (byte)(((byte)(b * pow) * 3) >> 8);

    public static void TQ1_0Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        int blocks = dst.Length / 256;
        var src = t.Slice(checked((int)(row * blocks * 54)), blocks * 54);
        Span<byte> codes = stackalloc byte[256];
        for (int b = 0; b < blocks; b++)
        {
            var blk = src.Slice(b * 54, 54);
            float d = TensorFormats.ReadHalf(blk, 52);
            TQ1_0Codes(blk, codes);
            for (int i = 0; i < 256; i++) dst[b * 256 + i] = (codes[i] - 1) * d;
        }
    }

    /// <summary>TQ2_0 codes 0..3 (value = code - 1) for one 256-block.</summary>
    public static void TQ2_0Codes(ReadOnlySpan<byte> blk, Span<byte> codes)
    {
        for (int j = 0; j < 64; j += 32)
            for (int l = 0; l < 4; l++)
                for (int m = 0; m < 32; m++)
                    codes[j * 4 + l * 32 + m] = (byte)((blk[j + m] >> (2 * l)) & 3);
    }

    public static void TQ2_0Row(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        int blocks = dst.Length / 256;
        var src = t.Slice(checked((int)(row * blocks * 66)), blocks * 66);
        Span<byte> codes = stackalloc byte[256];
        for (int b = 0; b < blocks; b++)
        {
            var blk = src.Slice(b * 66, 66);
            float d = TensorFormats.ReadHalf(blk, 64);
            TQ2_0Codes(blk, codes);
            for (int i = 0; i < 256; i++) dst[b * 256 + i] = (codes[i] - 1) * d;
        }
    }

    /// <summary>I2_S codes 0..3 (value = code - 1) for one 128-block of 32 bytes.</summary>
    public static void I2_SCodes(ReadOnlySpan<byte> blk, Span<byte> codes)
    {
        for (int i = 0; i < 32; i++)
        {
            codes[i] = (byte)((blk[i] >> 6) & 3);
            codes[32 + i] = (byte)((blk[i] >> 4) & 3);
            codes[64 + i] = (byte)((blk[i] >> 2) & 3);
            codes[96 + i] = (byte)(blk[i] & 3);
        }
    }

    /// <summary>The per-tensor scale of an I2_S tensor: the f32 after all codes.</summary>
    public static float I2_SScale(ReadOnlySpan<byte> t, long ne0, long rows) =>
        BinaryPrimitives.ReadSingleLittleEndian(t[checked((int)(ne0 * rows / 4))..]);

    public static void I2_SRow(ReadOnlySpan<byte> t, long row, Span<float> dst)
    {
        // The scale sits after all rows' codes; its offset needs the row count, which a row decoder does not get,
        // so it is located from the tensor length: codes + 32 bytes (4 of scale, 28 of padding).
        long codeBytes = t.Length - 32;
        float s = BinaryPrimitives.ReadSingleLittleEndian(t[(int)codeBytes..]);
        int blocks = dst.Length / 128;
        var src = t.Slice(checked((int)(row * blocks * 32)), blocks * 32);
        Span<byte> codes = stackalloc byte[128];
        for (int b = 0; b < blocks; b++)
        {
            I2_SCodes(src.Slice(b * 32, 32), codes);
            for (int i = 0; i < 128; i++) dst[b * 128 + i] = (codes[i] - 1) * s;
        }
    }
}
