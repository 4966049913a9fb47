using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// One row of the kernel-variant table: every kernel family on the decode path (ternary GEMV/GEMM per layout, F16 and
/// Q8_0 head rows, the int8 activation quantizer, attention) for one instruction set. A model binds one set at load
/// (<see cref="Model.ModelLoadOptions.Kernels"/>); the rest of the engine calls through it and never tests CPU features itself.
/// </summary>
/// <remarks>
/// The table, best first: AVX-512, AVX-VNNI, AVX-512BW and AVX2 (x64), AdvSimd+Dp and AdvSimd (arm64), scalar (everywhere; the
/// reference every other row is tested against). AVX-512 differs from AVX-VNNI in the ternary dots (prefill's tiles,
/// decode's GEMV and batched decode's rows) and in decode attention's F16 widening, 16 halves at a time with the same
/// products and sums (<see cref="Avx512Isa{TBase}"/>); AVX-512BW is the same 512-bit code over the AVX2 row, for AVX-512
/// CPUs without AVX-VNNI (Zen 4, Ice Lake).
/// </remarks>
public abstract unsafe class KernelSet
{
    /// <summary>The environment variable that forces a variant (same names as <see cref="Select"/>).</summary>
    public const string EnvironmentVariable = "BITNET_KERNELS";

    private protected KernelSet() { }

    /// <summary>The label: "AVX-512", "AVX-VNNI", "AVX-512BW", "AVX2", "AdvSimd+Dp", "AdvSimd" or "scalar".</summary>
    public abstract string Name { get; }

    /// <summary>Whether this CPU and the runtime's ISA switches (DOTNET_EnableAVX2=0, ...) allow it.</summary>
    public abstract bool IsSupported { get; }

    /// <summary>Whether I2_S batches want <see cref="QuantizedActivations.EnableTables"/> (<see cref="TernaryLut"/>).</summary>
    public abstract bool LutTiles { get; }

    /// <summary>y[t * yStride + n] = ternary row n of W times the int8 activations of token t, rows [rowStart, rowEnd).</summary>
    public abstract void TernaryMatMul(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd);

    /// <summary>
    /// y[t * yStride + r] = F16 row r (K halves at rows + r * k) . x[t * xStride ..], rows [r0, r1). Set
    /// <paramref name="finite"/> only when no row holds an inf or NaN half: it allows a cheaper widening. With the
    /// matrix's <paramref name="exceptions"/> (<see cref="HalfExceptions.Scan"/>), halves are widened by rebiasing
    /// their exponent and the zeros and subnormals corrected afterwards.
    /// </summary>
    public abstract void HalfRows(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1,
        bool finite = false, HalfExceptions? exceptions = null);

    /// <summary>
    /// y[t * yStride + r] = Q8_0 row r . quantized x[t], rows [r0, r1); codes [N, k] as <see cref="Q8RowMatrix"/> stores
    /// them, scales [N, k/32]; activations interleaved the same way, with their scales xd and bias sums xs [tokens, k/32].
    /// </summary>
    public abstract void Q8Rows(sbyte* codes, float* scales, int k, sbyte* xq, float* xd, int* xs, int tokens, float* y, int yStride, int r0, int r1);

    /// <summary>Per-token absmax int8 quantization of one row; returns the dequantization scale m/127.</summary>
    public abstract float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q);

    /// <summary><see cref="QuantizeRow(ReadOnlySpan{float}, Span{sbyte})"/> when the caller already has max |x_i| (NaN if any x_i is NaN).</summary>
    public abstract float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q, float absMax);

    /// <summary>
    /// Causal softmax attention of <paramref name="heads"/> query heads (consecutive in q and output) that share one KV
    /// head, over n cached positions: <c>output_h = softmax(q_h . K[0..n) / sqrt(hd)) . V[0..n)</c>; position p's key
    /// starts at byte p * stride of <paramref name="keys"/> and is stored as <paramref name="type"/> (Q8_0:
    /// <see cref="Q8KvLayout"/> blocks). <paramref name="scores"/> holds at least min(heads, 4) * n floats.
    /// </summary>
    public abstract void Attend(KvCacheType type, float* q, int heads, byte* keys, byte* values, int stride, int n, int hd, Span<float> scores, float* output);

    /// <summary>Whether a decoded token's attention can go in the split stages (<see cref="AttendScores"/>, <see cref="AttendValueSlice"/>).</summary>
    public abstract bool SplitAttention(KvCacheType type, int hd);

    /// <summary>
    /// <see cref="Attend"/>'s scaled scores of positions [p0, p1) for its heads, into scores[h * n + p]; with
    /// <see cref="AttendSoftmax"/> per head and <see cref="AttendValueSlice"/> per 32 dimensions, Attend's output exactly.
    /// </summary>
    public abstract void AttendScores(KvCacheType type, float* q, int heads, byte* keys, int stride, int n, int p0, int p1, int hd, float* scores);

    /// <summary>One head's scores [n] to softmax weights in place, as <see cref="Attend"/> makes them.</summary>
    public void AttendSoftmax(float* scores, int n) => AttentionKernel.SplitSoftmax(scores, n);

    /// <summary>Output dimensions [j0, j0 + 32) of every head from its weights [heads, n], as <see cref="Attend"/> sums them.</summary>
    public abstract void AttendValueSlice(KvCacheType type, float* weights, int heads, byte* values, int stride, int n, int hd, int j0, float* output);

    /// <summary>Whether prefill attention should go by blocks of query tokens (<see cref="AttendBlock"/>) on this variant.</summary>
    public abstract bool AttentionTiles { get; }

    /// <summary>
    /// Attention of a block of consecutive query tokens of one sequence (token i attends to positions [0, n0 + i)),
    /// each with <paramref name="heads"/> query heads sharing one KV head: the same outputs as <see cref="Attend"/> per
    /// token, to the last bit. tokens * heads &lt;= 32, hd a multiple of 32, an F16 or F32 cache.
    /// </summary>
    public abstract void AttendBlock(KvCacheType type, float* q, int qStride, int tokens, int heads, byte* keys, byte* values, int stride,
        int n0, int hd, float* output, int outStride);

    public override string ToString() => Name;

    // ---------------------------------------------------------------- the table

    /// <summary>The scalar reference (also the test oracle).</summary>
    public static KernelSet Scalar { get; } = new Variant<ScalarIsa>();

    /// <summary>Every variant compiled in, best first; not all run on this CPU.</summary>
    public static IReadOnlyList<KernelSet> All { get; } =
        [new Variant<Avx512Isa<AvxVnniIsa>>(), new Variant<AvxVnniIsa>(), new Variant<Avx512Isa<Avx2Isa>>(), new Variant<Avx2Isa>(), new Variant<AdvSimdDpIsa>(), new Variant<AdvSimdIsa>(), Scalar];

    /// <summary>The variants this CPU runs, best first (scalar is always last).</summary>
    public static IReadOnlyList<KernelSet> Supported { get; } = All.Where(k => k.IsSupported).ToArray();

    /// <summary>The fastest variant this CPU runs.</summary>
    public static KernelSet Best => Supported[0];

    /// <summary>The variant used when nothing else is configured: <c>BITNET_KERNELS</c> if set, otherwise <see cref="Best"/>.</summary>
    public static KernelSet Default => Select(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// A variant by name (case-insensitive; "auto", null or empty = <see cref="Best"/>). Throws an
    /// <see cref="ArgumentException"/> naming the choices when it is unknown or this CPU cannot run it.
    /// </summary>
    public static KernelSet Select(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)) return Best;
        string key = Normalize(name);
        var match = All.FirstOrDefault(k => Normalize(k.Name) == key || (key == "advsimddp" && k.Name == "AdvSimd+Dp"));
        if (match is null)
            throw new ArgumentException($"kernels '{name}' is not one of auto, {string.Join(", ", All.Select(k => k.Name))}");
        if (!match.IsSupported)
            throw new ArgumentException($"kernels '{match.Name}' cannot run on this CPU; it runs {string.Join(", ", Supported.Select(k => k.Name))}");
        return match;
    }

    /// <summary>A table row over any primitives (tests build deliberately broken ones to prove the self-test fails).</summary>
    internal static KernelSet Create<TIsa>() where TIsa : struct, IKernelIsa => new Variant<TIsa>();

    private static string Normalize(string s) => s.Trim().ToLowerInvariant().Replace("+", "").Replace("-", "").Replace("_", "");

    /// <summary>A table row: each family's driver instantiated for one instruction set.</summary>
    private sealed class Variant<TIsa> : KernelSet where TIsa : struct, IKernelIsa
    {
        public override string Name => TIsa.Name;

        public override bool IsSupported => TIsa.IsSupported;

        public override bool LutTiles => TIsa.LutTiles;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void TernaryMatMul(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd) =>
            TernaryKernels.Compute<TIsa>(w, x, y, yStride, rowStart, rowEnd);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void HalfRows(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1,
            bool finite, HalfExceptions? exceptions) =>
            RowKernels.Half<TIsa>(rows, k, x, tokens, xStride, y, yStride, r0, r1, finite, exceptions);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Q8Rows(sbyte* codes, float* scales, int k, sbyte* xq, float* xd, int* xs, int tokens, float* y, int yStride, int r0, int r1) =>
            RowKernels.Q8<TIsa>(codes, scales, k, xq, xd, xs, tokens, y, yStride, r0, r1);

        public override float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q) => ActivationQuantizer.Quantize<TIsa>(x, q);

        public override float QuantizeRow(ReadOnlySpan<float> x, Span<sbyte> q, float absMax) => ActivationQuantizer.Quantize<TIsa>(x, q, absMax);

        public override bool AttentionTiles => TIsa.AttentionTiles;

        public override bool SplitAttention(KvCacheType type, int hd) => AttentionKernel.ValuesInRegisters<TIsa>(type, hd);

        public override void AttendScores(KvCacheType type, float* q, int heads, byte* keys, int stride, int n, int p0, int p1, int hd, float* scores) =>
            AttentionKernel.SplitScores<TIsa>(type, q, heads, keys, stride, n, p0, p1, hd, scores);

        public override void AttendValueSlice(KvCacheType type, float* weights, int heads, byte* values, int stride, int n, int hd, int j0, float* output) =>
            AttentionKernel.SplitValues<TIsa>(type, weights, heads, values, stride, n, hd, j0, output);

        public override void AttendBlock(KvCacheType type, float* q, int qStride, int tokens, int heads, byte* keys, byte* values, int stride,
            int n0, int hd, float* output, int outStride) =>
            AttentionKernel.AttendBlock<TIsa>(type, q, qStride, tokens, heads, keys, values, stride, n0, hd, output, outStride);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Attend(KvCacheType type, float* q, int heads, byte* keys, byte* values, int stride, int n, int hd, Span<float> scores, float* output) =>
            AttentionKernel.Attend<TIsa>(type, q, heads, keys, values, stride, n, hd, scores, output);
    }
}
