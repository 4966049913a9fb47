using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Kernels;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The kernel-variant table: every variant this CPU runs passes the self-test (all families against the scalar
/// reference and double-precision math), selection by name behaves, and a broken variant is caught.
/// </summary>
public sealed unsafe class KernelVariantTests(ITestOutputHelper output)
{
    public static TheoryData<string> SupportedVariants()
    {
        var data = new TheoryData<string>();
        foreach (var k in KernelSet.Supported) data.Add(k.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(SupportedVariants))]
    public void EveryFamilyMatchesTheReference(string variant)
    {
        var rows = KernelSelfTest.Run([KernelSet.Select(variant)]);
        Assert.Equal(11, rows.Count);
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Variant} {row.Family}: {row.Cases} cases, max error {row.MaxError:G3}");
            Assert.True(row.Passes, $"{row.Variant} {row.Family}: {row.FirstFailure}");
            Assert.True(row.Cases > 0);
        }
    }

    [Fact]
    public void ABrokenVariantFailsTheSelfTest()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<OffByOneIsa>()]);
        var i2s = rows.Single(r => r.Family == "ternary I2S");
        Assert.False(i2s.Passes);
        Assert.True(i2s.Failures > 0);
        Assert.All(rows.Where(r => r.Family != "ternary I2S"), r => Assert.True(r.Passes, r.Family));
    }

    [Fact]
    public void TheTableIsOrderedAndLabelsScalarExactlyWhenScalarRuns()
    {
        Assert.Same(KernelSet.Scalar, KernelSet.All[^1]);
        Assert.Same(KernelSet.Scalar, KernelSet.Supported[^1]);
        Assert.Same(KernelSet.Supported[0], KernelSet.Best);
        Assert.Equal(KernelSet.Supported.Count == 1, KernelSet.Best.Name == "scalar");
        Assert.Equal(["AVX-512", "AVX-VNNI", "AVX-512BW", "AVX2", "AdvSimd+Dp", "AdvSimd", "scalar"], KernelSet.All.Select(k => k.Name));
        bool avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        bool vnni = avx2 && System.Runtime.Intrinsics.X86.AvxVnni.IsSupported;
        bool wide = System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        if (vnni && wide) Assert.Equal("AVX-512", KernelSet.Best.Name);
        else if (vnni) Assert.Equal("AVX-VNNI", KernelSet.Best.Name);
        else if (avx2 && wide) Assert.Equal("AVX-512BW", KernelSet.Best.Name);
        else if (avx2) Assert.Equal("AVX2", KernelSet.Best.Name);
    }

    [Theory]
    [InlineData("scalar", "scalar")]
    [InlineData("SCALAR", "scalar")]
    [InlineData(" scalar ", "scalar")]
    public void SelectFindsAVariantByName(string name, string expected) => Assert.Equal(expected, KernelSet.Select(name).Name);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("auto")]
    public void AutoIsTheBest(string? name) => Assert.Same(KernelSet.Best, KernelSet.Select(name));

    [Fact]
    public void UnknownAndUnsupportedNamesAreRefusedWithTheChoices()
    {
        var unknown = Assert.Throws<ArgumentException>(() => KernelSet.Select("avx1024"));
        Assert.Contains("avx1024", unknown.Message);
        Assert.Contains("AdvSimd+Dp", unknown.Message);
        foreach (var k in KernelSet.All.Where(k => !k.IsSupported))
        {
            var e = Assert.Throws<ArgumentException>(() => KernelSet.Select(k.Name));
            Assert.Contains("cannot run on this CPU", e.Message);
        }
        // Aliases resolve to the same row whether or not this CPU runs it.
        var dp = Record.Exception(() => KernelSet.Select("advsimd-dp"));
        if (dp is null) Assert.Equal("AdvSimd+Dp", KernelSet.Select("advsimd-dp").Name);
        else Assert.Contains("AdvSimd+Dp", dp.Message);
    }

    /// <summary>The scalar primitives with one deliberate error in the single-token I2_S dot.</summary>
    private struct OffByOneIsa : IKernelIsa
    {
        public static string Name => "broken";
        public static bool IsSupported => true;
        public static int I2SDot(byte* row, sbyte* q, int blocks) => ScalarIsa.I2SDot(row, q, blocks) + 1;
        public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot4(row, q, k, blocks, sums);
        public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot2(row, q, k, blocks, sums);
        public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums) => ScalarIsa.TQ2Dot2(block, q0, q1, sums);
        public static int TQ2Dot(byte* block, sbyte* q) => ScalarIsa.TQ2Dot(block, q);
        public static int CodesDot256(byte* codes, sbyte* q) => ScalarIsa.CodesDot256(codes, q);
        public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => ScalarIsa.HalfDot(row, x, k, widening);
        public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
            ScalarIsa.HalfDotTokens(row, x, xStride, tokens, k, y, widening);
        public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => ScalarIsa.Q8Dot(w, wd, xq, xd, xs, blocks);
        public static void QuantizeRow(float* x, sbyte* q, int k, float s) => ScalarIsa.QuantizeRow(x, q, k, s);
        public static float Dot(float* a, float* b, int n) => ScalarIsa.Dot(a, b, n);
        public static void Axpy(float alpha, float* x, float* y, int n) => ScalarIsa.Axpy(alpha, x, y, n);
        public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => ScalarIsa.AxpyHalf(alpha, x, y, n);
        public static float Q8KvDot(float* x, byte* blocks, int n) => ScalarIsa.Q8KvDot(x, blocks, n);
        public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => ScalarIsa.AxpyQ8Kv(alpha, blocks, y, n);
        public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots) => ScalarIsa.Q8KvDotHeads(q, qStride, heads, blocks, n, dots);
        public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) => ScalarIsa.HalfDotHeads(q, qStride, heads, row, n, dots);
        public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyHalfHeads(alpha, x, y, yStride, heads, n);
        public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
    }

    [Fact]
    public void AQ8KvDotThatSkipsTheLastBlockFailsOnlyTheAttentionFamily()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<SkipsLastQ8BlockIsa>()]);
        var attention = rows.Single(r => r.Family.StartsWith("attention (", StringComparison.Ordinal));
        Assert.False(attention.Passes);
        Assert.Contains("Q8_0", attention.FirstFailure);
        Assert.All(rows.Where(r => r != attention), r => Assert.True(r.Passes, r.Family));
    }

    /// <summary>The scalar primitives, but the Q8_0 KV dot ignores the last 32-value block of every head.</summary>
    private struct SkipsLastQ8BlockIsa : IKernelIsa
    {
        public static string Name => "broken-q8kv";
        public static bool IsSupported => true;
        public static int I2SDot(byte* row, sbyte* q, int blocks) => ScalarIsa.I2SDot(row, q, blocks);
        public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot4(row, q, k, blocks, sums);
        public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot2(row, q, k, blocks, sums);
        public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums) => ScalarIsa.TQ2Dot2(block, q0, q1, sums);
        public static int TQ2Dot(byte* block, sbyte* q) => ScalarIsa.TQ2Dot(block, q);
        public static int CodesDot256(byte* codes, sbyte* q) => ScalarIsa.CodesDot256(codes, q);
        public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => ScalarIsa.HalfDot(row, x, k, widening);
        public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
            ScalarIsa.HalfDotTokens(row, x, xStride, tokens, k, y, widening);
        public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => ScalarIsa.Q8Dot(w, wd, xq, xd, xs, blocks);
        public static void QuantizeRow(float* x, sbyte* q, int k, float s) => ScalarIsa.QuantizeRow(x, q, k, s);
        public static float Dot(float* a, float* b, int n) => ScalarIsa.Dot(a, b, n);
        public static void Axpy(float alpha, float* x, float* y, int n) => ScalarIsa.Axpy(alpha, x, y, n);
        public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => ScalarIsa.AxpyHalf(alpha, x, y, n);
        public static float Q8KvDot(float* x, byte* blocks, int n) => ScalarIsa.Q8KvDot(x, blocks, Math.Max(0, (n - 1) / Q8KvLayout.Block * Q8KvLayout.Block));
        public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => ScalarIsa.AxpyQ8Kv(alpha, blocks, y, n);
        public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots)
        {
            for (int h = 0; h < heads; h++) dots[h] = Q8KvDot(q + (long)h * qStride, blocks, n);
        }
        public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) => ScalarIsa.HalfDotHeads(q, qStride, heads, row, n, dots);
        public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyHalfHeads(alpha, x, y, yStride, heads, n);
        public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
    }

    [Fact]
    public void TheTileDriverOverTheScalarDefinitionsEqualsTheRowKernels()
    {
        // The token-lane tiles (TernaryTiles) with the interface's scalar definitions: every ternary case, bit for bit.
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<NoFault>>()]);
        Assert.All(rows, r => Assert.True(r.Passes, $"{r.Family}: {r.FirstFailure}"));
    }

    [Fact]
    public void ATileThatMissesOneTokenFailsEveryTernaryLayoutOnlyForBatches()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<MissOneToken>>()]);
        var ternary = rows.Where(r => r.Family.StartsWith("ternary", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, ternary.Length);
        Assert.All(ternary, r => Assert.False(r.Passes, r.Family));
        // Single-token and 3-token batches take the row kernels, so the first failure is a batch of 4 or more.
        Assert.All(ternary, r => Assert.Matches(@"tokens=([4-9]|\d\d)", r.FirstFailure));
        Assert.All(rows.Except(ternary), r => Assert.True(r.Passes, r.Family));
    }

    [Fact]
    public void AnEightTokenRowDotThatMissesOneTokenFailsOnlyI2SBatchesBelowTheTiles()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<MissEighthToken>>()]);
        var i2s = Assert.Single(rows, r => r.Family == "ternary I2S");
        Assert.False(i2s.Passes);
        // Batches of 8..15 tokens take I2SDot8; below 8 there is no group of eight, from 16 the lane tiles take over.
        Assert.Matches(@"tokens=(8|9|1[0-5]) ", i2s.FirstFailure);
        Assert.All(rows.Where(r => r != i2s), r => Assert.True(r.Passes, r.Family));
    }

    [Fact]
    public void AFourTokenQ8DotThatSkewsOneTokenFailsOnlyTheQ8HeadRows()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<SkewsThirdQ8Token>>()]);
        var q8 = Assert.Single(rows, r => r.Family == "Q8_0 rows");
        Assert.False(q8.Passes);
        // One token takes Q8Dot; the four-token dot (and its third token) starts at three tokens.
        Assert.Matches(@"tokens=[3-9]:", q8.FirstFailure);
        Assert.All(rows.Where(r => r != q8), r => Assert.True(r.Passes, r.Family));
    }

    [Fact]
    public void AnF16TileThatMissesOneTokenFailsOnlyBatchedHeadRows()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<MissOneHalfToken>>()]);
        var half = Assert.Single(rows, r => r.Family == "F16 rows");
        Assert.False(half.Passes);
        // One and two tokens take the row loops; the blocked driver starts at HalfTileMinTokens.
        Assert.Matches(@"tokens=([4-9]|\d\d)", half.FirstFailure);
        Assert.All(rows.Where(r => r != half), r => Assert.True(r.Passes, r.Family));
    }

    [Fact]
    public void AValueTileThatDropsAPositionFailsOnlyTheAttentionBlocks()
    {
        var rows = KernelSelfTest.Run([KernelSet.Create<TileIsa<DropsLastValuePosition>>()]);
        var blocks = Assert.Single(rows, r => r.Family.StartsWith("attention blocks", StringComparison.Ordinal));
        Assert.False(blocks.Passes);
        Assert.All(rows.Where(r => r != blocks), r => Assert.True(r.Passes, r.Family));
    }

    /// <summary>What a tile test variant does to each tile's sums after the scalar definition computed them.</summary>
    private interface ITileFault
    {
        static abstract void Apply(int vectors, int* sums);

        /// <summary>What the variant does to a four-token Q8_0 row dot's outputs.</summary>
        static virtual void ApplyQ8(float* y) { }

        /// <summary>What the variant does to an eight-token I2_S row dot's sums.</summary>
        static virtual void ApplyEight(int* sums) { }

        /// <summary>What the variant does to an F16 tile's accumulators after the scalar definition added to them.</summary>
        static virtual void ApplyHalf(float* acc) { }

        /// <summary>Positions an attention value tile leaves out at the end.</summary>
        static virtual int DroppedValuePositions => 0;
    }

    private struct NoFault : ITileFault
    {
        public static void Apply(int vectors, int* sums) { }
    }

    /// <summary>Token 9 of every 16-token tile (token 1 of an 8-token one) loses one unit in row 2.</summary>
    private struct MissOneToken : ITileFault
    {
        public static void Apply(int vectors, int* sums) => sums[2 * 16 + (vectors == 2 ? 9 : 1)] -= 1;
    }

    /// <summary>The third token of every four-token Q8_0 row dot comes out 1% large.</summary>
    private struct SkewsThirdQ8Token : ITileFault
    {
        public static void Apply(int vectors, int* sums) { }
        public static void ApplyQ8(float* y) => y[2] *= 1.01f;
    }

    /// <summary>The eighth token of every eight-token row dot loses one unit.</summary>
    private struct MissEighthToken : ITileFault
    {
        public static void Apply(int vectors, int* sums) { }
        public static void ApplyEight(int* sums) => sums[7] -= 1;
    }

    /// <summary>Every attention value tile leaves out the last position.</summary>
    private struct DropsLastValuePosition : ITileFault
    {
        public static void Apply(int vectors, int* sums) { }
        public static int DroppedValuePositions => 1;
    }

    /// <summary>The second row of every F16 tile loses its third token's contribution over the tile's columns.</summary>
    private struct MissOneHalfToken : ITileFault
    {
        public static void Apply(int vectors, int* sums) { }
        public static void ApplyHalf(float* acc) => acc[64 + 2 * 8] = 0;
    }

    /// <summary>The scalar primitives with the token-lane tiles switched on; <typeparamref name="TFault"/> alters each tile's sums.</summary>
    private struct TileIsa<TFault> : IKernelIsa where TFault : struct, ITileFault
    {
        public static string Name => "scalar-tiles-" + typeof(TFault).Name;
        public static bool IsSupported => true;
        public static bool TokenLaneTiles => true;
        public static bool HalfTiles => true;
        public static bool HalfTiles8 => true;
        public static bool I2SEightTokens => true;
        public static bool Q8Tiles => true;
        public static void Q8Dot4(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y)
        {
            int blocks = k / Q8RowMatrix.Block;
            for (int i = 0; i < 4; i++)
            {
                int t = Math.Min(i, last);
                y[i] = ScalarIsa.Q8Dot(w, wd, xq + (long)t * k, xd + (long)t * blocks, xs + (long)t * blocks, blocks);
            }
            TFault.ApplyQ8(y);
        }
        public static bool AttentionTiles => true;
        public static void I2SDot8(byte* row, sbyte* q, int k, int blocks, int* sums)
        {
            for (int t = 0; t < 8; t++) sums[t] = ScalarIsa.I2SDot(row, q + (long)t * k, blocks);
            TFault.ApplyEight(sums);
        }
        public static void HalfTile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb,
            HalfWidening widening)
        {
            HalfTile2x4(a, b, x, x + xStride, x + 2 * xStride, x + 3 * xStride, j0, j1, acc, pa, pb, widening);
            float* x4 = x + 4 * xStride;
            HalfTile2x4(a, b, x4, x4 + xStride, x4 + 2 * xStride, x4 + 3 * xStride, j0, j1, acc + 32, pa, pb, widening);
        }
        public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride) =>
            AttentionKernel.ReferenceValueTile(weights, values, hd, n - TFault.DroppedValuePositions, output, outStride);
        public static void HalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
            float* acc, ushort* pa, ushort* pb, HalfWidening widening)
        {
            RowKernels.ReferenceHalfTile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, widening);
            TFault.ApplyHalf(acc);
        }
        public static void CodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums)
        {
            TernaryTiles.ReferenceCodeTile4(codes, codeStride, lanes, vectors, k, sums);
            TFault.Apply(vectors, sums);
        }
        public static int I2SDot(byte* row, sbyte* q, int blocks) => ScalarIsa.I2SDot(row, q, blocks);
        public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot4(row, q, k, blocks, sums);
        public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums) => ScalarIsa.I2SDot2(row, q, k, blocks, sums);
        public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums) => ScalarIsa.TQ2Dot2(block, q0, q1, sums);
        public static int TQ2Dot(byte* block, sbyte* q) => ScalarIsa.TQ2Dot(block, q);
        public static int CodesDot256(byte* codes, sbyte* q) => ScalarIsa.CodesDot256(codes, q);
        public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => ScalarIsa.HalfDot(row, x, k, widening);
        public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
            ScalarIsa.HalfDotTokens(row, x, xStride, tokens, k, y, widening);
        public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => ScalarIsa.Q8Dot(w, wd, xq, xd, xs, blocks);
        public static void QuantizeRow(float* x, sbyte* q, int k, float s) => ScalarIsa.QuantizeRow(x, q, k, s);
        public static float Dot(float* a, float* b, int n) => ScalarIsa.Dot(a, b, n);
        public static void Axpy(float alpha, float* x, float* y, int n) => ScalarIsa.Axpy(alpha, x, y, n);
        public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => ScalarIsa.AxpyHalf(alpha, x, y, n);
        public static float Q8KvDot(float* x, byte* blocks, int n) => ScalarIsa.Q8KvDot(x, blocks, n);
        public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => ScalarIsa.AxpyQ8Kv(alpha, blocks, y, n);
        public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots) => ScalarIsa.Q8KvDotHeads(q, qStride, heads, blocks, n, dots);
        public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) => ScalarIsa.HalfDotHeads(q, qStride, heads, row, n, dots);
        public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyHalfHeads(alpha, x, y, yStride, heads, n);
        public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) => ScalarIsa.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
    }
}
