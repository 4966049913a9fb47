namespace BitNet.Runtime.Kernels;

/// <summary>A float-output matrix read row by row (the LM head): F16/F32/... in place, or a requantized copy.</summary>
public unsafe interface IRowMatrix
{
    string Name { get; }

    /// <summary>Columns (elements per row).</summary>
    int K { get; }

    /// <summary>Rows.</summary>
    int N { get; }

    /// <summary>Bytes read for one full pass over the rows (the decode bandwidth cost).</summary>
    long BytesPerPass { get; }

    /// <summary>Display name of the storage format.</summary>
    string FormatName { get; }

    /// <summary>y[t * yStride + r] = row r . x[t] for rows [r0, r1) with the given kernels; <paramref name="scratch"/> holds K floats.</summary>
    void MatMul(KernelSet kernels, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch);

    /// <summary>
    /// The work on x that every row range of one product shares (the 8-bit head quantizes it), done once by a caller
    /// that splits the rows among threads; null for formats that read the floats as they are. <paramref name="reuse"/>,
    /// a previous result, is filled again when it fits, so the caller allocates once.
    /// </summary>
    RowActivations? Prepare(float* x, int tokens, int xStride, RowActivations? reuse) => null;

    /// <summary>
    /// <see cref="MatMul(KernelSet, float*, int, int, float*, int, int, int, Span{float})"/> over the activations
    /// <see cref="Prepare"/> made from the same x (null: the floats).
    /// </summary>
    void MatMul(KernelSet kernels, RowActivations? prepared, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch) =>
        MatMul(kernels, x, tokens, xStride, y, yStride, r0, r1, scratch);
}

/// <summary>A row matrix's form of one product's activations (<see cref="IRowMatrix.Prepare"/>).</summary>
public abstract class RowActivations
{
    private protected RowActivations() { }
}
