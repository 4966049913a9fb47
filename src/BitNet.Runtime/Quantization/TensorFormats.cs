using System.Buffers.Binary;

namespace BitNet.Runtime.Quantization;

/// <summary>How the bytes of one tensor type are laid out and decoded.</summary>
/// <param name="Type">ggml type id.</param>
/// <param name="Name">Display name (as llama.cpp prints it).</param>
/// <param name="BlockSize">Weights per block along ne[0].</param>
/// <param name="BlockBytes">Bytes per block.</param>
/// <param name="IsTernary">Weights are codes in {-1,0,+1} times a scale: consumed by the ternary kernels.</param>
/// <param name="DequantizeRow">Scalar reference decoder for one row: the test oracle.</param>
public sealed record TensorFormat(
    GgmlType Type,
    string Name,
    int BlockSize,
    int BlockBytes,
    bool IsTernary,
    TensorFormat.RowDecoder DequantizeRow)
{
    /// <summary>Decodes <paramref name="dst"/>.Length values of row <paramref name="row"/> from a whole tensor's bytes.</summary>
    public delegate void RowDecoder(ReadOnlySpan<byte> tensor, long row, Span<float> dst);

    /// <summary>
    /// Bytes of a tensor of <paramref name="ne0"/> x <paramref name="rows"/> elements, or null when the shape does not fit
    /// the block size. I2_S is the exception to blocks x bytes: codes for all rows, then one f32 scale padded to 32 bytes.
    /// </summary>
    public long? TensorBytes(long ne0, long rows)
    {
        if (ne0 <= 0 || rows <= 0 || ne0 % BlockSize != 0) return null;
        if (Type == GgmlType.I2_S) return checked(ne0 * rows / 4 + 32);
        return checked(ne0 / BlockSize * BlockBytes * rows);
    }

    /// <summary>Bytes of one row (I2_S: codes only; the scale sits after the last row).</summary>
    public long RowBytes(long ne0) => ne0 / BlockSize * BlockBytes;
}

/// <summary>
/// The one table of tensor formats this runtime reads.
/// <code>
/// type   block bytes  decode
/// F32        1     4  float
/// F16        1     2  half
/// BF16       1     2  upper 16 bits of a float
/// Q8_0      32    34  half d; int8 q[32]                      x = d*q
/// Q6_K     256   210  u8 ql[128]; u8 qh[64]; i8 sc[16]; half d  x = d*sc[j/16]*(q6-32)
/// TQ1_0    256    54  u8 qs[48]; u8 qh[4]; half d (base-3)    x = d*(trit-1)
/// TQ2_0    256    66  u8 qs[64]; half d (2-bit, low bits first) x = d*(q-1)
/// I2_S     128    32  2-bit codes, high bits first; one f32 scale per tensor after all codes
/// </code>
/// </summary>
public static class TensorFormats
{
    public static readonly TensorFormat F32 = new(GgmlType.F32, "F32", 1, 4, false, ReferenceDequantizer.F32Row);
    public static readonly TensorFormat F16 = new(GgmlType.F16, "F16", 1, 2, false, ReferenceDequantizer.F16Row);
    public static readonly TensorFormat BF16 = new(GgmlType.BF16, "BF16", 1, 2, false, ReferenceDequantizer.BF16Row);
    public static readonly TensorFormat Q8_0 = new(GgmlType.Q8_0, "Q8_0", 32, 34, false, ReferenceDequantizer.Q8_0Row);
    public static readonly TensorFormat Q6_K = new(GgmlType.Q6_K, "Q6_K", 256, 210, false, ReferenceDequantizer.Q6_KRow);
    public static readonly TensorFormat TQ1_0 = new(GgmlType.TQ1_0, "TQ1_0", 256, 54, true, ReferenceDequantizer.TQ1_0Row);
    public static readonly TensorFormat TQ2_0 = new(GgmlType.TQ2_0, "TQ2_0", 256, 66, true, ReferenceDequantizer.TQ2_0Row);
    public static readonly TensorFormat I2_S = new(GgmlType.I2_S, "I2_S", 128, 32, true, ReferenceDequantizer.I2_SRow);

    private static readonly TensorFormat[] All = [F32, F16, BF16, Q8_0, Q6_K, TQ1_0, TQ2_0, I2_S];

    /// <summary>All supported formats.</summary>
    public static IReadOnlyList<TensorFormat> Supported => All;

    /// <summary>
    /// The format of a type id, or null when this runtime cannot read it. <paramref name="bitnetFile"/> says whether
    /// the file may come from bitnet.cpp (architecture bitnet* or llama): only then is id 36 I2_S.
    /// </summary>
    public static TensorFormat? Find(uint typeId, bool bitnetFile)
    {
        if (typeId == (uint)GgmlType.I2_S && !bitnetFile) return null;
        foreach (var f in All)
            if ((uint)f.Type == typeId) return f;
        return null;
    }

    public static TensorFormat Get(GgmlType type) => Find((uint)type, bitnetFile: true)
        ?? throw new NotSupportedException($"tensor type {type} is not supported");

    internal static float ReadHalf(ReadOnlySpan<byte> b, int offset) =>
        (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b[offset..]));
}
