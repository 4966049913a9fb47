using System.Diagnostics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// y[t, n] = ternary row n of W times the int8 activations of token t, for a range of output rows.
/// One entry point, the instruction set chosen once: AVX2 where present, otherwise the scalar reference
/// (which is also the oracle every SIMD path is tested against).
/// </summary>
public static unsafe partial class TernaryMatMul
{
    /// <summary>The kernel family in use, fixed at startup (set DOTNET_EnableAVX2=0 to force scalar).</summary>
    public static string InstructionSet { get; } = Avx2.IsSupported ? "AVX2" : "scalar";

    private static readonly bool UseAvx2 = Avx2.IsSupported;

    /// <summary>
    /// Computes rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) for every token of <paramref name="x"/>
    /// into <c>y[t * yStride + n]</c>.
    /// </summary>
    public static void Compute(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        Debug.Assert(x.K == w.K, "activation width matches the matrix");
        Debug.Assert(rowStart >= 0 && rowEnd <= w.N && rowStart <= rowEnd);
        if (UseAvx2) ComputeAvx2(w, x, y, yStride, rowStart, rowEnd);
        else ComputeScalar(w, x, y, yStride, rowStart, rowEnd);
    }

    /// <summary>The final multiply, shared by every path so that they agree bit for bit.</summary>
    private static float Finish(TernaryMatrix w, float rowDot, float activationScale) =>
        rowDot * activationScale * w.OutputScale;
}
