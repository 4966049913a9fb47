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
}
