namespace BitNet.Runtime.Quantization;

/// <summary>
/// ggml tensor type ids as they appear in GGUF tensor infos. Ids 36..39 mean different things in
/// upstream ggml and in bitnet.cpp's fork: inside a bitnet* file, 36 is I2_S (see <see cref="TensorFormats"/>).
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    /// <summary>bitnet.cpp's 2-bit ternary layout (same id as upstream's slot 36 in bitnet* files).</summary>
    I2_S = 36,
}
