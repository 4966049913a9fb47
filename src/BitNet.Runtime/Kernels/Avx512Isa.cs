using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// 512-bit AVX-512BW over a 256-bit row <typeparamref name="TBase"/>: the I2_S ternary dots (prefill's token-lane tiles, decode's GEMV and the 4- and
/// 8-token rows of batched decode) in 512-bit registers; everything else is <typeparamref name="TBase"/>'s code. .NET 10
/// has no 512-bit <c>vpdpbusd</c> (its <see cref="AvxVnni"/> is VEX, 256-bit only), so the kernels multiply with <c>vpmaddubsw</c> (64 u8 x s8 products
/// summed in pairs into 32 int16 lanes) and adds the pairs in int16 for 32 groups before one <c>vpmaddwd</c> widens
/// them: per 64 products 2 instructions, as two 256-bit <c>vpdpbusd</c>, but at 512-bit width. On Zen 5 (full-width
/// 512-bit units) one core ran the tile's mix of them, operands loaded from L1, at 448-466 GMAC/s against 241-267 for
/// <c>vpdpbusd</c> ymm (`ternary-rates --peak`), and the tile pair reaches 91-96% of that. The 16-bit sums bound each
/// lane: see below; the TQ2_0 and TQ1_0 tiles go through <see cref="CodeTile4"/> too.
/// <para>
/// Chosen where the runtime itself treats 512-bit vectors as fast (<see cref="Vector512.IsHardwareAccelerated"/>: not
/// on the Intel parts that lower their clock for them). Measured on Zen 5 (against <c>--kernels AVX-VNNI</c>) and on Zen 4,
/// whose 512-bit instructions take two passes through 256-bit units: there the byte-dot ceiling is the AVX2 row's, and
/// the row gains 1.1x in prefill and batched decode (fewer instructions, and the 8-token rows' shared code vectors).
/// </para>
/// <para>
/// Two rows: over <see cref="AvxVnniIsa"/> ("AVX-512": Zen 5, Sapphire Rapids and later) and over <see cref="Avx2Isa"/>
/// ("AVX-512BW": Zen 4, Ice Lake and other AVX-512 parts without AVX-VNNI, which .NET 10 exposes no <c>vpdpbusd</c> for at
/// all). The 512-bit kernels need no VNNI, so they are the same code in both.
/// </para>
/// int16 bound: a pair is at most 2 * 3 * 128 = 768 in magnitude (a hostile code 3, activation -128), so neither
/// <c>vpmaddubsw</c> saturates nor 32 pairs added per lane overflow (24,576 &lt; 32,767): the sums are exact and equal
/// the reference's bit for bit.
/// </summary>
internal unsafe partial struct Avx512Isa<TBase> : IKernelIsa where TBase : struct, IKernelIsa
{
    public static string Name => typeof(TBase) == typeof(AvxVnniIsa) ? "AVX-512" : "AVX-512BW";

    public static bool IsSupported => TBase.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Groups of four codes whose pair sums one int16 lane holds before they are widened (see the bound above).</summary>
    private const int GroupsPerWidening = 32;

    /// <summary>
    /// Sixteen tokens (one 64-byte activation vector per 4-element group): per group and row a broadcast of the row's 4
    /// codes, one <c>vpmaddubsw</c> and one <c>vpaddw</c>; even and odd groups into separate int16 accumulators (8
    /// chains). Tiles of 8 tokens keep the 256-bit code, whose vector is one group's 32 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void CodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums)
    {
        if (vectors == 1)
        {
            TBase.CodeTile4(codes, codeStride, lanes, vectors, k, sums);
            return;
        }
        uint* c = (uint*)codes;
        uint* end = c + k / 4;
        nint s1 = codeStride / 4, s2 = 2 * s1, s3 = 3 * s1;
        var ones = Vector512<short>.One;
        Vector512<int> t0 = default, t1 = default, t2 = default, t3 = default; // row r's dot for token j in lane j
        while (c < end)
        {
            uint* stop = c + Math.Min(GroupsPerWidening, end - c);
            Vector512<short> a0 = default, a1 = default, a2 = default, a3 = default; // even groups, rows 0..3
            Vector512<short> b0 = default, b1 = default, b2 = default, b3 = default; // odd groups
            for (; c + 2 <= stop; c += 2, lanes += 128)
            {
                var x = Avx512BW.LoadVector512(lanes);
                var y = Avx512BW.LoadVector512(lanes + 64);
                a0 = Avx512BW.Add(a0, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[0]).AsByte(), x));
                a1 = Avx512BW.Add(a1, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s1]).AsByte(), x));
                a2 = Avx512BW.Add(a2, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s2]).AsByte(), x));
                a3 = Avx512BW.Add(a3, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s3]).AsByte(), x));
                b0 = Avx512BW.Add(b0, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[1]).AsByte(), y));
                b1 = Avx512BW.Add(b1, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s1 + 1]).AsByte(), y));
                b2 = Avx512BW.Add(b2, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s2 + 1]).AsByte(), y));
                b3 = Avx512BW.Add(b3, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s3 + 1]).AsByte(), y));
            }
            if (c < stop)
            {
                var x = Avx512BW.LoadVector512(lanes);
                a0 = Avx512BW.Add(a0, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[0]).AsByte(), x));
                a1 = Avx512BW.Add(a1, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s1]).AsByte(), x));
                a2 = Avx512BW.Add(a2, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s2]).AsByte(), x));
                a3 = Avx512BW.Add(a3, Avx512BW.MultiplyAddAdjacent(Vector512.Create(c[s3]).AsByte(), x));
                c++;
                lanes += 64;
            }
            // Even and odd lanes each hold at most half the chunk's groups, so their int16 sum is still in range.
            t0 = Avx512F.Add(t0, Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(a0, b0), ones));
            t1 = Avx512F.Add(t1, Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(a1, b1), ones));
            t2 = Avx512F.Add(t2, Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(a2, b2), ones));
            t3 = Avx512F.Add(t3, Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(a3, b3), ones));
        }
        Avx512F.Store(sums, t0);
        Avx512F.Store(sums + 16, t1);
        Avx512F.Store(sums + 32, t2);
        Avx512F.Store(sums + 48, t3);
    }

    public static bool TilePairs => true;

    /// <summary>
    /// Two 16-token tiles (32 tokens): each row's 4 codes broadcast once for two activation vectors, so a broadcast
    /// serves two <c>vpmaddubsw</c> (one in <see cref="CodeTile4"/>): 463 against 392 GMAC/s for one tile in L1 on Zen 5
    /// (8 rows x 16 tokens: 427; 8 x 32 and 4 x 64: 470-476); 4 x 48 with the codes hoisted out of the loop ran no faster,
    /// so the instructions themselves, not the broadcasts, are the limit. Eight int16 accumulators; each takes one add per group.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void CodeTile4Pair(byte* codes, int codeStride, sbyte* lanesA, sbyte* lanesB, int k, int* sums)
    {
        uint* c = (uint*)codes;
        uint* end = c + k / 4;
        nint s1 = codeStride / 4, s2 = 2 * s1, s3 = 3 * s1;
        nint b = (nint)(lanesB - lanesA);
        sbyte* la = lanesA;
        var ones = Vector512<short>.One;
        Vector512<int> t0 = default, t1 = default, t2 = default, t3 = default; // tile A, row r's dot for token j in lane j
        Vector512<int> u0 = default, u1 = default, u2 = default, u3 = default; // tile B
        while (c < end)
        {
            uint* stop = c + Math.Min(GroupsPerWidening, end - c);
            Vector512<short> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<short> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; c < stop; c++, la += 64)
            {
                var x = Avx512BW.LoadVector512(la);
                var y = Avx512BW.LoadVector512(la + b);
                var w = Vector512.Create(c[0]).AsByte();
                a0 = Avx512BW.Add(a0, Avx512BW.MultiplyAddAdjacent(w, x)); b0 = Avx512BW.Add(b0, Avx512BW.MultiplyAddAdjacent(w, y));
                w = Vector512.Create(c[s1]).AsByte();
                a1 = Avx512BW.Add(a1, Avx512BW.MultiplyAddAdjacent(w, x)); b1 = Avx512BW.Add(b1, Avx512BW.MultiplyAddAdjacent(w, y));
                w = Vector512.Create(c[s2]).AsByte();
                a2 = Avx512BW.Add(a2, Avx512BW.MultiplyAddAdjacent(w, x)); b2 = Avx512BW.Add(b2, Avx512BW.MultiplyAddAdjacent(w, y));
                w = Vector512.Create(c[s3]).AsByte();
                a3 = Avx512BW.Add(a3, Avx512BW.MultiplyAddAdjacent(w, x)); b3 = Avx512BW.Add(b3, Avx512BW.MultiplyAddAdjacent(w, y));
            }
            t0 += Avx512BW.MultiplyAddAdjacent(a0, ones); t1 += Avx512BW.MultiplyAddAdjacent(a1, ones);
            t2 += Avx512BW.MultiplyAddAdjacent(a2, ones); t3 += Avx512BW.MultiplyAddAdjacent(a3, ones);
            u0 += Avx512BW.MultiplyAddAdjacent(b0, ones); u1 += Avx512BW.MultiplyAddAdjacent(b1, ones);
            u2 += Avx512BW.MultiplyAddAdjacent(b2, ones); u3 += Avx512BW.MultiplyAddAdjacent(b3, ones);
        }
        Avx512F.Store(sums, t0); Avx512F.Store(sums + 16, t1); Avx512F.Store(sums + 32, t2); Avx512F.Store(sums + 48, t3);
        Avx512F.Store(sums + 64, u0); Avx512F.Store(sums + 80, u1); Avx512F.Store(sums + 96, u2); Avx512F.Store(sums + 112, u3);
    }

    /// <summary>Blocks of 128 weights one int16 lane of <see cref="I2SDot8"/> sums before it is widened: 2 pairs per block, 16 x 1536 = 24,576.</summary>
    private const int BlocksPerWidening = 16;

    public static bool I2SEightTokens => true;

    /// <summary>
    /// Batched decode: one I2_S row against eight tokens. The row's 32 bytes are broadcast to both halves of a 512-bit
    /// register and shifted per 64-bit lane by 6 | 4 and 2 | 0, so after <c>&amp; 3</c> the two code vectors hold weights
    /// 0-63 and 64-127 in order, against which each token's activations load as two plain 64-byte vectors (the
    /// interleaved layout needs no re-laid-out copy). Per block 4 shared instructions, then per token 2
    /// <c>vpmaddubsw</c> and 2 <c>vpaddw</c> (AVX-VNNI: 4 <c>vpdpbusd</c>). One block per iteration: see
    /// <see cref="I2SDot"/> on the broadcast's addressing.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void I2SDot8(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        var ones = Vector512<short>.One;
        Vector512<int> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
        nint s = k;
        int b = 0;
        while (b < blocks)
        {
            int stop = Math.Min(blocks, b + BlocksPerWidening);
            Vector512<short> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default, h6 = default, h7 = default;
            for (; b < stop; b++)
            {
                // From DRAM the row stream needs the GEMV's software prefetch (see AvxVnniIsa.I2SDot8).
                if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
                Codes(row + b * 32, out var c0, out var c1);
                sbyte* x = q + b * 128;
                h0 = Block(h0, c0, c1, x); x += s;
                h1 = Block(h1, c0, c1, x); x += s;
                h2 = Block(h2, c0, c1, x); x += s;
                h3 = Block(h3, c0, c1, x); x += s;
                h4 = Block(h4, c0, c1, x); x += s;
                h5 = Block(h5, c0, c1, x); x += s;
                h6 = Block(h6, c0, c1, x); x += s;
                h7 = Block(h7, c0, c1, x);
            }
            t0 += Avx512BW.MultiplyAddAdjacent(h0, ones); t1 += Avx512BW.MultiplyAddAdjacent(h1, ones);
            t2 += Avx512BW.MultiplyAddAdjacent(h2, ones); t3 += Avx512BW.MultiplyAddAdjacent(h3, ones);
            t4 += Avx512BW.MultiplyAddAdjacent(h4, ones); t5 += Avx512BW.MultiplyAddAdjacent(h5, ones);
            t6 += Avx512BW.MultiplyAddAdjacent(h6, ones); t7 += Avx512BW.MultiplyAddAdjacent(h7, ones);
        }
        Avx.Store(sums, Avx2Isa.Reduce8(Fold(t0), Fold(t1), Fold(t2), Fold(t3), Fold(t4), Fold(t5), Fold(t6), Fold(t7)));
    }

    /// <summary>
    /// Decode's GEMV, one token: the codes as in <see cref="I2SDot8"/>, per block 4 shared instructions, 2
    /// <c>vpmaddubsw</c> with the activations as memory operands and 2 <c>vpaddw</c> (AVX-VNNI: 10). One accumulator
    /// suffices (its chain is the 1-cycle add; the multiplies are off it), widened every 16 blocks.
    /// </summary>
    /// <remarks>
    /// One block per iteration, its broadcast addressed without a displacement: .NET 10's JIT mis-encodes
    /// <c>vbroadcasti64x4 zmm, [base + index + disp]</c> (the displacement compressed as for a 16-byte operand, so
    /// <c>+32</c> read 64 bytes on); an unrolled second block read the wrong weights.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var ones = Vector512<short>.One;
        Vector512<int> t = default;
        int b = 0;
        while (b < blocks)
        {
            int stop = Math.Min(blocks, b + BlocksPerWidening);
            Vector512<short> h = default;
            for (; b < stop; b++)
            {
                if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
                Codes(row + b * 32, out var c0, out var c1);
                h = Block(h, c0, c1, q + b * 128);
            }
            t += Avx512BW.MultiplyAddAdjacent(h, ones);
        }
        return Vector512.Sum(t);
    }

    /// <summary>Four tokens (batched decode of 4-7 sequences): the codes of each block unpacked once for all of them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        var ones = Vector512<short>.One;
        Vector512<int> t0 = default, t1 = default, t2 = default, t3 = default;
        nint s = k;
        int b = 0;
        while (b < blocks)
        {
            int stop = Math.Min(blocks, b + BlocksPerWidening);
            Vector512<short> h0 = default, h1 = default, h2 = default, h3 = default;
            for (; b < stop; b++)
            {
                if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
                Codes(row + b * 32, out var c0, out var c1);
                sbyte* x = q + b * 128;
                h0 = Block(h0, c0, c1, x); x += s;
                h1 = Block(h1, c0, c1, x); x += s;
                h2 = Block(h2, c0, c1, x); x += s;
                h3 = Block(h3, c0, c1, x);
            }
            t0 += Avx512BW.MultiplyAddAdjacent(h0, ones); t1 += Avx512BW.MultiplyAddAdjacent(h1, ones);
            t2 += Avx512BW.MultiplyAddAdjacent(h2, ones); t3 += Avx512BW.MultiplyAddAdjacent(h3, ones);
        }
        sums[0] = Vector512.Sum(t0); sums[1] = Vector512.Sum(t1); sums[2] = Vector512.Sum(t2); sums[3] = Vector512.Sum(t3);
    }

    /// <summary>
    /// One 32-byte I2_S block's codes 0..3 in weight order: the block broadcast to both 256-bit halves, shifted per 64-bit
    /// lane by 6 | 4 (weights 0-31 | 32-63) and 2 | 0 (64-95 | 96-127), masked. <paramref name="block"/> must be
    /// addressed without a constant displacement (see <see cref="I2SDot"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Codes(byte* block, out Vector512<byte> c0, out Vector512<byte> c1)
    {
        var w = Avx512F.BroadcastVector256ToVector512((ulong*)block);
        var m3 = Vector512.Create((byte)3);
        c0 = Avx512F.ShiftRightLogicalVariable(w, Vector512.Create(6UL, 6, 6, 6, 4, 4, 4, 4)).AsByte() & m3;
        c1 = Avx512F.ShiftRightLogicalVariable(w, Vector512.Create(2UL, 2, 2, 2, 0, 0, 0, 0)).AsByte() & m3;
    }

    /// <summary>A token's int16 sums gain one block: codes c0 against activations x[0..64), c1 against x[64..128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Block(Vector512<short> h, Vector512<byte> c0, Vector512<byte> c1, sbyte* x) =>
        Avx512BW.Add(h, Avx512BW.Add(Avx512BW.MultiplyAddAdjacent(c0, Avx512BW.LoadVector512(x)),
            Avx512BW.MultiplyAddAdjacent(c1, Avx512BW.LoadVector512(x + 64))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Fold(Vector512<int> v) => Avx2.Add(v.GetLower(), v.GetUpper());

    // ---------------------------------------------------------------- the AVX-VNNI code

    public static bool TokenLaneTiles => true;

    /// <summary>
    /// A full tile's 16 tokens per row in one vector (the reference's operations per lane), then the 4 x 16 transpose
    /// of <see cref="Avx2Isa.Transpose4"/> per 128-bit lane: each token's 4 rows leave in one 16-byte store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FinishI2STile(int* sums, int* totals, float* scales, float tensorScale, float outputScale, int count, float* y, int yStride)
    {
        if (count != 16)
        {
            TBase.FinishI2STile(sums, totals, scales, tensorScale, outputScale, count, y, yStride);
            return;
        }
        var ws = Vector512.Create(tensorScale);
        var os = Vector512.Create(outputScale);
        var t = Vector512.Load(totals);
        var sc = Vector512.Load(scales);
        var r0 = Vector512.ConvertToSingle(Vector512.Load(sums) - t) * ws * sc * os;
        var r1 = Vector512.ConvertToSingle(Vector512.Load(sums + 16) - t) * ws * sc * os;
        var r2 = Vector512.ConvertToSingle(Vector512.Load(sums + 32) - t) * ws * sc * os;
        var r3 = Vector512.ConvertToSingle(Vector512.Load(sums + 48) - t) * ws * sc * os;
        var a = Avx512F.UnpackLow(r0, r1).AsDouble();
        var b = Avx512F.UnpackHigh(r0, r1).AsDouble();
        var c = Avx512F.UnpackLow(r2, r3).AsDouble();
        var d = Avx512F.UnpackHigh(r2, r3).AsDouble();
        var q0 = Avx512F.UnpackLow(a, c).AsSingle();     // 128-bit lane l: token 4l
        var q1 = Avx512F.UnpackHigh(a, c).AsSingle();    // token 4l + 1
        var q2 = Avx512F.UnpackLow(b, d).AsSingle();     // token 4l + 2
        var q3 = Avx512F.UnpackHigh(b, d).AsSingle();    // token 4l + 3
        nint st = yStride;
        Store4(q0, y, 4 * st); Store4(q1, y + st, 4 * st); Store4(q2, y + 2 * st, 4 * st); Store4(q3, y + 3 * st, 4 * st);
    }

    /// <summary>The four 128-bit lanes of q to y, y + step, y + 2 step, y + 3 step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(Vector512<float> q, float* y, nint step)
    {
        q.GetLower().GetLower().Store(y);
        Avx512F.ExtractVector128(q, 1).Store(y + step);
        Avx512F.ExtractVector128(q, 2).Store(y + 2 * step);
        Avx512F.ExtractVector128(q, 3).Store(y + 3 * step);
    }

    /// <summary>Two tokens keep the 256-bit pair kernel: its 512-bit form ran no faster (130-164 against 137-150 GMAC/s, one thread, alternated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums) => TBase.I2SDot2(row, q, k, blocks, sums);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums) => TBase.TQ2Dot2(block, q0, q1, sums);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ2Dot(byte* block, sbyte* q) => TBase.TQ2Dot(block, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodesDot256(byte* codes, sbyte* q) => TBase.CodesDot256(codes, q);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SUnpack(byte* row, int blocks, byte* codes) => TBase.I2SUnpack(row, blocks, codes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Unpack(byte* row, int blocks, byte* codes) => TBase.TQ2Unpack(row, blocks, codes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ1Unpack(byte* row, int blocks, byte* codes) => TBase.TQ1Unpack(row, blocks, codes);

    public static bool TQ1Lanes => true;

    /// <summary>
    /// <see cref="Avx2Isa.TQ1LanesPartial{TD}"/> in one register: bytes 0..31 in the lower half and 22..53 in the upper, per
    /// digit one trit vector, one <c>vpmaddubsw</c> against the digit's 64 lane bytes and one int16 add. (A VBMI digit
    /// lookup, two 128-entry <c>vpermt2b</c> and a blend per digit, measured 10% slower than this arithmetic on Zen 5:
    /// `ternary-rates --tq1-blocks`.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1LanesDot(byte* block, sbyte* lanes)
    {
        Sse.Prefetch0(block + Streaming.PrefetchBytes);
        return Vector512.Sum(TQ1LanesPartial(block, lanes));
    }

    public static bool TQRows8 => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Rows8(byte* row, nint rowBytes, int blocks, sbyte* q, int* u, float* acc) => TBase.TQ2Rows8(row, rowBytes, blocks, q, u, acc);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TQ1Rows8(byte* row, nint rowBytes, int blocks, sbyte* lanes, int* u, float* acc) =>
        Avx2Isa.BlockRows8<TQ1Zmm>(row, rowBytes, 54, 52, TernaryKernels.TQ1LaneBytes, blocks, lanes, u, acc);

    /// <summary><see cref="TQ1LanesPartial"/> folded to 8 lanes for <see cref="Avx2Isa.BlockRows8{TP}"/>.</summary>
    private struct TQ1Zmm : Avx2Isa.IBlockPartial
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Partial(byte* block, sbyte* lanes) => Fold(TQ1LanesPartial(block, lanes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> TQ1LanesPartial(byte* block, sbyte* lanes)
    {
        var t = Avx512F.InsertVector256(Avx.LoadVector256(block).ToVector512Unsafe(), Avx.LoadVector256(block + 22), 1);
        var one = Vector512.Create((byte)1);
        Vector512<short> h = default;
        for (int n = 0; n < 5; n++)
        {
            var digit = Avx512BW.Add(Avx512BW.Min(Avx512BW.SubtractSaturate(t, Vector512.Create((byte)85)), one),
                Avx512BW.Min(Avx512BW.SubtractSaturate(t, Vector512.Create((byte)170)), one));
            h = Avx512BW.Add(h, Avx512BW.MultiplyAddAdjacent(digit, Avx512BW.LoadVector512(lanes + n * 64)));
            t = Avx512BW.Add(Avx512BW.Add(t, t), t);
        }
        return Avx512BW.MultiplyAddAdjacent(h, Vector512<short>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => TBase.Q8Dot(w, wd, xq, xd, xs, blocks);

    public static bool Q8Tiles => TBase.Q8Tiles;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8Dot4(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y) =>
        TBase.Q8Dot4(w, wd, xq, xd, xs, k, last, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => TBase.HalfDot(row, x, k, widening);

    public static bool HalfTiles => TBase.HalfTiles;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb, HalfWidening widening)
    {
        // The 512-bit half tiles need only AVX-512F, so both rows take them (the AVX2 row alone has none).
        if (widening != HalfWidening.Exact) Avx512HalfTiles.Tile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb, widening);
        else TBase.HalfTile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb, widening);
    }

    public static bool HalfTiles8 => TBase.HalfTiles8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb,
        HalfWidening widening)
    {
        if (widening != HalfWidening.Exact) Avx512HalfTiles.Tile2x8(a, b, x, xStride, j0, j1, acc, pa, pb, widening);
        else TBase.HalfTile2x8(a, b, x, xStride, j0, j1, acc, pa, pb, widening);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
        TBase.HalfDotTokens(row, x, xStride, tokens, k, y, widening);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuantizeRow(float* x, sbyte* q, int k, float s) => TBase.QuantizeRow(x, q, k, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n) => TBase.Dot(a, b, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, float* x, float* y, int n) => TBase.Axpy(alpha, x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => TBase.AxpyHalf(alpha, x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8KvDot(float* x, byte* blocks, int n) => TBase.Q8KvDot(x, blocks, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => TBase.AxpyQ8Kv(alpha, blocks, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) =>
        TBase.HalfDotHeads(q, qStride, heads, row, n, dots);

    public static bool AttentionTiles => TBase.AttentionTiles;

    public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride) =>
        TBase.ValueTile(weights, values, hd, n, output, outStride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots) =>
        TBase.FloatDotHeads(q, qStride, heads, row, n, dots);

    public static void FloatDotHeads2(float* q, int qStride, int heads, float* row0, float* row1, int n, float* dots0, float* dots1) =>
        TBase.FloatDotHeads2(q, qStride, heads, row0, row1, n, dots0, dots1);

    public static void WidenHalves(ushort* x, float* y, int n) => TBase.WidenHalves(x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n) =>
        TBase.AxpyFloatHeads(alpha, x, y, yStride, heads, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) =>
        TBase.AxpyHalfHeads(alpha, x, y, yStride, heads, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots) =>
        TBase.Q8KvDotHeads(q, qStride, heads, blocks, n, dots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) =>
        TBase.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
}
