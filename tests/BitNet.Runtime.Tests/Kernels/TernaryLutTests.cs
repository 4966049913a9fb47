using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The I2_S table-lookup GEMM's parts against their definitions: the tables, the row indices (every byte value, chunks
/// of 1-3 blocks), the lookup tile at its int16 bound, and a model's prefill against the scalar reference, bit for bit.
/// (The self-test covers whole matmuls of many shapes, code 3 and the extreme activations.)
/// </summary>
public unsafe class TernaryLutTests
{
    private static bool Runs => Avx512Isa<Avx2Isa>.IsSupported && Avx512Isa<Avx2Isa>.LutTiles;

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(384)]
    [InlineData(640)]
    public void TablesHoldEverySumOfTheirGroup(int k)
    {
        var rng = new Random(k);
        using var q = new NativeBuffer<sbyte>(k);
        for (int i = 0; i < k; i++) q.Pointer[i] = (sbyte)(i % 5 == 0 ? -128 : rng.Next(-128, 128));
        int groups = TernaryLut.Groups(k);
        using var tables = new NativeBuffer<short>(groups * 32L);
        TernaryLut.BuildTables(q.Pointer, k, tables.Pointer);
        // Each group's three weights, in the order of TernaryLut's summary (-1: padding, activation 0).
        var members = new List<int[]>();
        int blocks = k / 128;
        for (int b0 = 0; b0 < blocks; b0 += 3)
        {
            int nb = Math.Min(3, blocks - b0);
            for (int bi = 0; bi < nb; bi++)
                for (int j = 0; j < 32; j++) members.Add([(b0 + bi) * 128 + j, (b0 + bi) * 128 + 32 + j, (b0 + bi) * 128 + 64 + j]);
            for (int j = 0; j < 32; j++)
                members.Add([b0 * 128 + 96 + j, nb > 1 ? (b0 + 1) * 128 + 96 + j : -1, nb > 2 ? (b0 + 2) * 128 + 96 + j : -1]);
        }
        Assert.Equal(groups, members.Count);
        Assert.Equal(k, members.Sum(m => m.Count(i => i >= 0)));
        for (int g = 0; g < groups; g++)
            for (int e = 0; e < 32; e++)
            {
                int want = 0;
                if (e < 27)
                    for (int d = 0; d < 3; d++)
                    {
                        int code = e / (d == 0 ? 9 : d == 1 ? 3 : 1) % 3;
                        if (members[g][d] >= 0) want += (code - 1) * q.Pointer[members[g][d]];
                    }
                Assert.Equal(want, tables.Pointer[g * 32L + e]);
            }
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 0)]
    [InlineData(3, 77)] // rows further apart than their bytes
    public void RowIndicesEqualTheReference(int nb, int gap)
    {
        if (!Runs) return;
        long rowBytes = 32 * nb + gap;
        var rng = new Random(nb * 100 + gap);
        using var rows = new NativeBuffer<byte>(32 * rowBytes);
        for (long i = 0; i < 32 * rowBytes; i++) rows.Pointer[i] = (byte)((i * 7 + rng.Next(256)) & 0xFF);
        for (int v = 0; v < 256; v++) rows.Pointer[v / 32 * rowBytes + v % 32] = (byte)v; // every byte value once
        int groups = 32 * (nb + 1);
        using var want = new NativeBuffer<short>(groups * 32L);
        using var got = new NativeBuffer<short>(groups * 32L);
        TernaryLut.ReferenceLutIndex(rows.Pointer, rowBytes, nb, want.Pointer);
        Avx512Isa<Avx2Isa>.LutIndex(rows.Pointer, rowBytes, nb, got.Pointer);
        Assert.True(new Span<short>(want.Pointer, groups * 32).SequenceEqual(new Span<short>(got.Pointer, groups * 32)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 64)]
    [InlineData(4, 17)]
    [InlineData(4, 64)]
    public void LookupTileEqualsTheReferenceAtTheBound(int rbs, int n)
    {
        if (!Runs) return;
        var rng = new Random(rbs * 1000 + n);
        const long indexStride = 128 * 32, tableStride = 64 * 32 + 32, sumsStride = 4 * 32;
        using var index = new NativeBuffer<short>(4 * indexStride);
        using var tables = new NativeBuffer<short>(4 * tableStride);
        for (long i = 0; i < 4 * indexStride; i++) index.Pointer[i] = (short)rng.Next(27);
        for (long i = 0; i < 4 * tableStride; i++) tables.Pointer[i] = (short)(rng.Next(2) == 0 ? -384 : 384);
        using var want = new NativeBuffer<int>(4 * sumsStride);
        using var got = new NativeBuffer<int>(4 * sumsStride);
        for (int i = 0; i < 4 * sumsStride; i++) want.Pointer[i] = got.Pointer[i] = i - 200;
        TernaryLut.ReferenceLutTile(index.Pointer, indexStride, rbs, tables.Pointer, tableStride, n, want.Pointer, sumsStride);
        Avx512Isa<Avx2Isa>.LutTile(index.Pointer, indexStride, rbs, tables.Pointer, tableStride, n, got.Pointer, sumsStride);
        Assert.True(new Span<int>(want.Pointer, (int)(4 * sumsStride)).SequenceEqual(new Span<int>(got.Pointer, (int)(4 * sumsStride))));
    }

    [Fact]
    public void APrefillThroughTheTablesGivesTheLogitsOfSmallerChunks()
    {
        if (!KernelSet.Best.LutTiles) return;
        using var model = BitNetModel.Load(TestPaths.SharedFile("reference", "stories3m", "stories3m-i2_s.gguf"));
        var tokens = ReferenceModelTests.Cases("stories3m").SelectMany(c => c.AllTokens).Take(100).ToArray();
        Assert.True(tokens.Length >= TernaryLut.MinTokens);
        using var pool = new WorkerPool(2);
        float[] Logits(int chunk)
        {
            using var session = new ModelSession(model, pool, maxChunk: 128);
            return session.Feed(tokens, allLogits: true, chunk: chunk);
        }
        // 100 tokens at once take the tables; chunks of 16 the byte-dot tiles. Per-token numerics do not depend on the batch.
        Assert.Equal(Logits(16), Logits(100));
    }
}
