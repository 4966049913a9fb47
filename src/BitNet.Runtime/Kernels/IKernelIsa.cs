namespace BitNet.Runtime.Kernels;

/// <summary>
/// The per-instruction-set primitives every kernel family is written over. Each implementation is a struct in a file
/// of its own (<see cref="ScalarIsa"/>, <see cref="Avx2Isa"/>, <see cref="AdvSimdIsa"/>, <see cref="AdvSimdDpIsa"/>);
/// the drivers (row loops, token tiles, softmax, scales) are generic methods over it, written once. Static abstract
/// members let the JIT specialize and inline each instantiation, so a variant costs no indirect call per row.
/// </summary>
/// <remarks>
/// Ternary dots take the unsigned codes as stored (weight + 1, in 0..2; a hostile file may hold 3) and return
/// <c>sum code_i * q_i</c> exactly; the drivers subtract the activation sums to undo the +1 and do every float
/// operation themselves, in one order, so all variants give bit-identical ternary outputs.
/// </remarks>
internal unsafe interface IKernelIsa
{
    /// <summary>The variant's label, as `bitnet info` and the server log print it.</summary>
    static abstract string Name { get; }

    /// <summary>Whether this CPU (and the runtime's ISA switches) can run it.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>I2_S: sum of code * q over <paramref name="blocks"/> 128-weight blocks of 32 bytes, one token.</summary>
    static abstract int I2SDot(byte* row, sbyte* q, int blocks);

    /// <summary>I2_S for four tokens whose activations start at q, q + k, q + 2k, q + 3k: sums[0..4).</summary>
    static abstract void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums);

    /// <summary>I2_S for two tokens whose activations start at q and q + k: sums[0..2) (batches of 2, 3, 6, ... tokens).</summary>
    static abstract void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums);

    /// <summary>
    /// Whether the I2_S row batches (below <see cref="TernaryKernels.RowBatchesBelow"/> tokens) take each full group of
    /// eight tokens by <see cref="I2SDot8"/>: each row's codes unpacked once in registers for eight tokens (a variant
    /// without it keeps <see cref="I2SDot4"/>).
    /// </summary>
    static virtual bool I2SEightTokens => false;

    /// <summary>
    /// Eight tokens' activations per column chunk of the eight-token rows (<see cref="TernaryKernels.I2SRows{TIsa}"/>),
    /// measured per variant with `ternary-rates --model-batch`: AVX-VNNI on a 48 KB L1 ran best with 32 KB chunks kept in
    /// L1; the AVX2 kernel on Zen 3 (32 KB L1) ran 10-15% faster unchunked, its activations in L2, than with two
    /// 27 KB chunks of K = 6912 crowding L1.
    /// </summary>
    static virtual int I2SEightTokenBytes => 32 * 1024;

    /// <summary>I2_S for eight tokens whose activations start at q + t * k: sums[0..8).</summary>
    static virtual void I2SDot8(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        for (int t = 0; t < 8; t++) sums[t] = ScalarIsa.I2SDot(row, q + (long)t * k, blocks);
    }

    /// <summary>TQ2_0: code * q summed over one 256-weight block (its 64 code bytes), for two tokens.</summary>
    static abstract void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums);

    /// <summary>TQ2_0: the same for one token.</summary>
    static abstract int TQ2Dot(byte* block, sbyte* q);

    /// <summary>Sum of codes[i] * q[i] over 256 unpacked codes (TQ1_0 after its table lookup).</summary>
    static abstract int CodesDot256(byte* codes, sbyte* q);

    // Prefill and batched decode (TernaryTiles): four rows' codes unpacked once into bytes, then applied to token tiles
    // whose activations sit in the lane layout of QuantizedActivations (tokens in SIMD lanes), so a tile ends with its
    // 4 x 16 sums in registers and no horizontal reductions. A variant that does not override these keeps the row
    // kernels above for every batch (the defaults are the scalar definitions, the test oracle).

    /// <summary>Whether the ternary drivers use the token-lane tiles for batches of <see cref="TernaryTiles.MinTokens"/> or more.</summary>
    static virtual bool TokenLaneTiles => false;

    /// <summary>I2_S: the codes of <paramref name="blocks"/> 128-weight blocks as bytes 0..3 in weight order.</summary>
    static virtual void I2SUnpack(byte* row, int blocks, byte* codes) => TernaryTiles.ReferenceI2SUnpack(row, blocks, codes);

    /// <summary>TQ2_0: the codes of <paramref name="blocks"/> 66-byte blocks as bytes 0..3 in weight order (the scales are skipped).</summary>
    static virtual void TQ2Unpack(byte* row, int blocks, byte* codes) => TernaryTiles.ReferenceTQ2Unpack(row, blocks, codes);

    /// <summary>TQ1_0: the codes of <paramref name="blocks"/> 54-byte blocks as bytes 0..2 in weight order (the scales are skipped).</summary>
    static virtual void TQ1Unpack(byte* row, int blocks, byte* codes)
    {
        for (int b = 0; b < blocks; b++) TernaryKernels.TQ1Codes(row + b * 54, codes + b * 256);
    }

    /// <summary>TQ1_0, one token: sum of code * q over one 54-byte block's 256 weights (the decode GEMV).</summary>
    static virtual int TQ1Dot(byte* block, sbyte* q)
    {
        byte* codes = stackalloc byte[256];
        TernaryKernels.TQ1Codes(block, codes);
        int sum = 0;
        for (int i = 0; i < 256; i++) sum += codes[i] * q[i];
        return sum;
    }

    /// <summary>Whether single-token TQ2_0 and TQ1_0 rows go eight at a time through <see cref="TQ2Rows8"/> and <see cref="TQ1Rows8"/>.</summary>
    static virtual bool TQRows8 => false;

    /// <summary>
    /// TQ2_0, one token, the eight rows at row + r * rowBytes: acc[r] = sum over blocks b, in order, of
    /// d_rb * (dot_rb - u[2b] - u[2b + 1]) (u: the token's 128-block activation sums), the per-row loop's float
    /// operations lane by lane.
    /// </summary>
    static virtual void TQ2Rows8(byte* row, nint rowBytes, int blocks, sbyte* q, int* u, float* acc) =>
        TernaryKernels.ReferenceBlockRows8(TernaryLayout.TQ2, row, rowBytes, blocks, q, u, acc);

    /// <summary><see cref="TQ2Rows8"/> for TQ1_0, the token's activations in <see cref="TernaryKernels.TQ1DigitLanes"/>.</summary>
    static virtual void TQ1Rows8(byte* row, nint rowBytes, int blocks, sbyte* lanes, int* u, float* acc) =>
        TernaryKernels.ReferenceBlockRows8(TernaryLayout.TQ1, row, rowBytes, blocks, lanes, u, acc);

    /// <summary>Whether TQ1_0 decode lays each token's activations out per digit and calls <see cref="TQ1LanesDot"/> (else <see cref="TQ1Dot"/>).</summary>
    static virtual bool TQ1Lanes => false;

    /// <summary>
    /// TQ1_0, one token: sum of code * q over one 54-byte block, its activations in the digit lanes of
    /// <see cref="TernaryKernels.TQ1DigitLanes"/> (320 bytes), so each digit's trit bytes meet two plain 32-byte vectors.
    /// </summary>
    static virtual int TQ1LanesDot(byte* block, sbyte* lanes) => TernaryKernels.ReferenceTQ1LanesDot(block, lanes);

    /// <summary>
    /// sums[r * 16 + j] = sum over i &lt; k of codes[r * codeStride + i] * q_j[i] for four rows r and the 8 * vectors
    /// (8 or 16) tokens j of one lane tile; <paramref name="lanes"/> points at the tile's group for element 0.
    /// </summary>
    static virtual void CodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums) =>
        TernaryTiles.ReferenceCodeTile4(codes, codeStride, lanes, vectors, k, sums);

    /// <summary>
    /// One I2_S lane tile's outputs: y[j * yStride + r] = ((sums[r * 16 + j] - totals[j]) * tensorScale) * scales[j] *
    /// outputScale for its 4 rows r and <paramref name="count"/> tokens j, the row kernels' float operations in their
    /// order (so every variant's outputs are the reference's bit for bit).
    /// </summary>
    static virtual void FinishI2STile(int* sums, int* totals, float* scales, float tensorScale, float outputScale, int count, float* y, int yStride) =>
        TernaryTiles.ReferenceFinishI2STile(sums, totals, scales, tensorScale, outputScale, 0, count, y, yStride);

    /// <summary>Whether I2_S batches of <see cref="TernaryLut.MinTokens"/> or more take <see cref="TernaryLut"/>'s table lookups.</summary>
    static virtual bool LutTiles => false;

    /// <summary>
    /// <see cref="TernaryLut"/>'s step: for rb in [0, rbs) (1 or 4 blocks of 32 rows, <paramref name="indexStride"/> apart)
    /// and 4 tokens (tables <paramref name="tableStride"/> apart), adds n &lt;= 64 groups' looked-up sums to the int32
    /// sums[rb * sumsStride + t * 32 + r].
    /// </summary>
    static virtual void LutTile(short* index, long indexStride, int rbs, short* tables, long tableStride, int n, int* sums, long sumsStride) =>
        TernaryLut.ReferenceLutTile(index, indexStride, rbs, tables, tableStride, n, sums, sumsStride);

    /// <summary>32 rows' <see cref="TernaryLut"/> indices for one chunk of blocks (<see cref="TernaryLut.ReferenceLutIndex"/>).</summary>
    static virtual void LutIndex(byte* block0, long rowBytes, int nb, short* index) => TernaryLut.ReferenceLutIndex(block0, rowBytes, nb, index);

    /// <summary>Whether two lane tiles of more than 8 tokens each take <see cref="CodeTile4Pair"/> (I2_S).</summary>
    static virtual bool TilePairs => false;

    /// <summary>
    /// <see cref="CodeTile4"/> of two 16-token tiles (vectors = 2) at <paramref name="lanesA"/> and
    /// <paramref name="lanesB"/>, each row's codes loaded once for both: sums[0..64) for A, sums[64..128) for B.
    /// </summary>
    static virtual void CodeTile4Pair(byte* codes, int codeStride, sbyte* lanesA, sbyte* lanesB, int k, int* sums)
    {
        TernaryTiles.ReferenceCodeTile4(codes, codeStride, lanesA, 2, k, sums);
        TernaryTiles.ReferenceCodeTile4(codes, codeStride, lanesB, 2, k, sums + 64);
    }

    /// <summary>
    /// Dot of an F16 row (raw bits) with K floats, each half widened as <paramref name="widening"/> says (the caller
    /// knows which the row allows).
    /// </summary>
    static abstract float HalfDot(ushort* row, float* x, int k, HalfWidening widening);

    /// <summary>y[t] = HalfDot(row, x + t * xStride) for t &lt; tokens (2..8), each group of halves widened once.</summary>
    static abstract void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening);

    /// <summary>Whether batches of F16 head rows take <see cref="HalfTile2x4"/> (<see cref="RowKernels"/>' blocked driver).</summary>
    static virtual bool HalfTiles => false;

    /// <summary>
    /// A 2-row x 4-token F16 tile over columns [j0, j1) (a multiple of 8): for rows i (a, b) and tokens t (x0..x3),
    /// acc[i * 64 + t * 8 + lane] accumulates partial sums whose 8 lanes together are the dot over those columns. Rows
    /// and tokens may repeat (a tile's tail). The tile also prefetches (to L2) the 64-byte lines at pa + 2 * c and
    /// pb + 2 * c for every 32 columns c from j0: the next block's rows, so weights stream from DRAM in the background.
    /// </summary>
    static virtual void HalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb, HalfWidening widening) =>
        RowKernels.ReferenceHalfTile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, widening);

    /// <summary>Whether full groups of eight tokens take <see cref="HalfTile2x8"/>.</summary>
    static virtual bool HalfTiles8 => false;

    /// <summary>
    /// <see cref="HalfTile2x4"/> for eight tokens at x + t * xStride (acc[i * 64 + t * 8 + lane]), each token's partial
    /// sums the same as two <see cref="HalfTile2x4"/> calls give.
    /// </summary>
    static virtual void HalfTile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb,
        HalfWidening widening)
    {
        RowKernels.ReferenceHalfTile2x4(a, b, x, x + xStride, x + 2 * xStride, x + 3 * xStride, j0, j1, acc, widening);
        float* x4 = x + 4 * xStride;
        RowKernels.ReferenceHalfTile2x4(a, b, x4, x4 + xStride, x4 + 2 * xStride, x4 + 3 * xStride, j0, j1, acc + 32, widening);
    }

    /// <summary>
    /// Q8_0 row dot: sum over 32-blocks of (int dot of w and xq) * wd[b] * xd[b], codes stored as <see cref="Q8RowMatrix"/>
    /// stores them (block-interleaved, biased by 128) and activations interleaved the same way; xs[b] = 128 * sum of
    /// block b's activations, for kernels that multiply the biased codes directly.
    /// </summary>
    static abstract float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks);

    /// <summary>Whether batches of Q8_0 head rows take <see cref="Q8Dot4"/> (each code vector loaded once for four tokens).</summary>
    static virtual bool Q8Tiles => false;

    /// <summary>
    /// y[i] = Q8Dot for tokens i = 0..3 of the batch at xq (stride k), xd and xs (stride k / 32); tokens past
    /// <paramref name="last"/> repeat token <paramref name="last"/>.
    /// </summary>
    static virtual void Q8Dot4(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y)
    {
        int blocks = k / Q8RowMatrix.Block;
        for (int i = 0; i < 4; i++)
        {
            int t = Math.Min(i, last);
            y[i] = ScalarIsa.Q8Dot(w, wd, xq + (long)t * k, xd + (long)t * blocks, xs + (long)t * blocks, blocks);
        }
    }

    /// <summary>q[i] = clamp(round_half_even(x[i] * s), -128, 127) for i &lt; k.</summary>
    static abstract void QuantizeRow(float* x, sbyte* q, int k, float s);

    /// <summary>Float dot of n elements (attention scores).</summary>
    static abstract float Dot(float* a, float* b, int n);

    /// <summary>y += alpha * x over n elements (attention's weighted sum of values).</summary>
    static abstract void Axpy(float alpha, float* x, float* y, int n);

    /// <summary>y += alpha * x over n F16 elements (raw bits), exact half widening.</summary>
    static abstract void AxpyHalf(float alpha, ushort* x, float* y, int n);

    /// <summary>y[i] = x[i] widened exactly (prefill attention's float copy of the cached F16 keys and values).</summary>
    static virtual void WidenHalves(ushort* x, float* y, int n)
    {
        for (int i = 0; i < n; i++) y[i] = (float)BitConverter.UInt16BitsToHalf(x[i]);
    }

    /// <summary>Dot of n floats with one Q8_0 KV head vector (<see cref="Q8KvLayout"/>: 32 codes + float scale per block).</summary>
    static abstract float Q8KvDot(float* x, byte* blocks, int n);

    /// <summary>y += alpha * (one Q8_0 KV head vector of n elements).</summary>
    static abstract void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n);

    // Grouped-query attention: up to four query heads share one KV head, so each cached vector is widened once for all
    // of them. q (and y) of head h start at h * stride; 1 <= heads <= 4.

    /// <summary>dots[h] = HalfDot(row, q + h * qStride, n) for h &lt; heads, exact half widening.</summary>
    static abstract void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots);

    /// <summary>y + h * yStride += alpha[h] * x (n F16 elements) for h &lt; heads.</summary>
    static abstract void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n);

    /// <summary>dots[h] = Dot(q + h * qStride, row, n) for h &lt; heads (float keys: an F32 cache or widened F16 ones).</summary>
    static virtual void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots)
    {
        for (int h = 0; h < heads; h++) dots[h] = ScalarIsa.Dot(q + (long)h * qStride, row, n);
    }

    /// <summary>
    /// Whether the row has the two-position attention primitives below (<see cref="FloatDotHeads2"/>,
    /// <see cref="HalfDotHeads2"/>, <see cref="AttendValues"/>), each computing what its one-position form computes, in
    /// the same operations and order; without it the attention loops call the one-position forms.
    /// </summary>
    static virtual bool AttentionPairs => false;

    /// <summary><see cref="FloatDotHeads"/> of two keys: dots0 for row0, dots1 for row1 (so the two chains overlap).</summary>
    static virtual void FloatDotHeads2(float* q, int qStride, int heads, float* row0, float* row1, int n, float* dots0, float* dots1) =>
        throw new NotSupportedException("only rows with AttentionPairs have FloatDotHeads2");

    /// <summary><see cref="HalfDotHeads"/> of two F16 keys: dots0 for row0, dots1 for row1.</summary>
    static virtual void HalfDotHeads2(float* q, int qStride, int heads, ushort* row0, ushort* row1, int n, float* dots0, float* dots1) =>
        throw new NotSupportedException("only rows with AttentionPairs have HalfDotHeads2");

    /// <summary>
    /// output[h * outStride + j] = sum over p &lt; n, in order, of weights[h * wStride + p] * value_p[j] for j &lt; hd, h &lt; heads (F16 or
    /// F32 values, position p at byte p * stride; hd a multiple of 32): the sums the per-position
    /// <see cref="AxpyHalfHeads"/> / <see cref="AxpyFloatHeads"/> loop forms from zero, held in registers over all positions.
    /// </summary>
    static virtual void AttendValues(KvCacheType type, float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride) =>
        throw new NotSupportedException("only rows with AttentionPairs have AttendValues");

    /// <summary>y + h * yStride += alpha[h] * x (n floats) for h &lt; heads.</summary>
    static virtual void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n)
    {
        for (int h = 0; h < heads; h++) ScalarIsa.Axpy(alpha[h], x, y + (long)h * yStride, n);
    }

    /// <summary>Whether prefill attention takes <see cref="AttentionKernel.AttendBlock{TIsa}"/> (the value tile below).</summary>
    static virtual bool AttentionTiles => false;

    /// <summary>
    /// output[c * outStride + j] = sum over p &lt; n of weights[p * 32 + c] * values[p * hd + j], for 4 columns c and 32
    /// dimensions j (overwritten).
    /// </summary>
    static virtual void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride) =>
        AttentionKernel.ReferenceValueTile(weights, values, hd, n, output, outStride);

    /// <summary>dots[h] = Q8KvDot(q + h * qStride, blocks, n) for h &lt; heads.</summary>
    static abstract void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots);

    /// <summary>y + h * yStride += alpha[h] * (one Q8_0 KV head vector of n elements) for h &lt; heads.</summary>
    static abstract void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n);
}
