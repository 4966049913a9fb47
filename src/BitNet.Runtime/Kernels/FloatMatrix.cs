using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// A non-ternary weight matrix (the LM head / embedding table: F32, F16, BF16, Q8_0, Q6_K) viewed in place.
/// Rows are decoded into a float scratch row and dotted with TensorPrimitives; F32 rows are used directly.
/// </summary>
public sealed unsafe class FloatMatrix : IRowMatrix
{
    public FloatMatrix(string name, TensorFormat format, byte* data, long byteSize, int k, int n)
    {
        if (format.IsTernary) throw new ArgumentException($"tensor '{name}' is ternary; use TernaryMatrix");
        if (k % format.BlockSize != 0)
            throw new InvalidDataException($"tensor '{name}': {k} columns do not fit {format.Name} blocks of {format.BlockSize}");
        Name = name;
        Format = format;
        Data = data;
        ByteSize = byteSize;
        K = k;
        N = n;
        RowBytes = format.RowBytes(k);
        _scan = new Lazy<(bool, HalfExceptions?)>(() => format.Type != GgmlType.F16 ? (true, null) : HalfExceptions.Scan((ushort*)data, k, n));
    }

    // Scanned on first use, not at load (`bitnet info` should not read 657 MB), by whichever thread gets there first.
    private readonly Lazy<(bool Finite, HalfExceptions? Exceptions)> _scan;

    /// <summary>
    /// Whether every element is finite; for F16 it lets the kernels widen halves in four instructions instead of ten
    /// (the exact widening of inf/NaN is kept for rows that hold them, e.g. a corrupt embedding row).
    /// </summary>
    public bool AllFinite => _scan.Value.Finite;

    /// <summary>The zero and subnormal halves of a finite F16 matrix where they are rare (null otherwise): see <see cref="HalfWidening.Rebias"/>.</summary>
    public HalfExceptions? Exceptions => _scan.Value.Exceptions;

    public string Name { get; }
    public TensorFormat Format { get; }
    public byte* Data { get; }
    public long ByteSize { get; }

    /// <summary>Columns (elements per row).</summary>
    public int K { get; }

    /// <summary>Rows.</summary>
    public int N { get; }

    public long RowBytes { get; }

    public string FormatName => Format.Name;

    public long BytesPerPass => RowBytes * N;

    /// <summary>Decodes row <paramref name="row"/> into <paramref name="dst"/> (length K).</summary>
    public void DecodeRow(int row, Span<float> dst)
    {
        var bytes = new ReadOnlySpan<byte>(Data + row * RowBytes, (int)RowBytes);
        switch (Format.Type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst);
                break;
            case GgmlType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), dst);
                break;
            default:
                Format.DequantizeRow(bytes, 0, dst[..K]);
                break;
        }
    }

    /// <summary>
    /// y[t * yStride + r] = dot(row r, x[t * xStride ..]) for rows [r0, r1) and every token. F16 rows go through the
    /// kernel set's fused convert + FMA; other formats decode a row once into <paramref name="scratch"/> (length K) and
    /// reuse it for all tokens.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMul(KernelSet kernels, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        if (Format.Type == GgmlType.F16)
        {
            var (finite, exceptions) = _scan.Value;
            kernels.HalfRows((ushort*)Data, K, x, tokens, xStride, y, yStride, r0, r1, finite, exceptions);
            return;
        }
        for (int r = r0; r < r1; r++)
        {
            ReadOnlySpan<float> row;
            if (Format.Type == GgmlType.F32)
            {
                row = new ReadOnlySpan<float>(Data + r * RowBytes, K);
            }
            else
            {
                DecodeRow(r, scratch);
                row = scratch[..K];
            }
            for (int t = 0; t < tokens; t++)
                y[(long)t * yStride + r] = TensorPrimitives.Dot(row, new ReadOnlySpan<float>(x + (long)t * xStride, K));
        }
    }
}
