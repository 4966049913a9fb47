using BitNet.Runtime.Kernels;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Diagnostics;

/// <summary>
/// `bitnet selftest`: every kernel family of every variant this CPU runs, against the scalar reference and against
/// plain double-precision math over the reference decoders, on many shapes and worst-case inputs. Ternary kernels
/// and the activation quantizer must equal the scalar reference bit for bit; float families (F16 and Q8_0 rows,
/// attention) must stay within a relative error of <see cref="FloatTolerance"/> of the exact value.
/// </summary>
public static unsafe class KernelSelfTest
{
    /// <summary>Largest error of a float family, relative to the sum of the magnitudes of its terms.</summary>
    public const double FloatTolerance = 1e-4;

    /// <summary>One line of the table: a family of one variant.</summary>
    public sealed record Row(string Variant, string Family, int Cases, double MaxError, int Failures, string? FirstFailure)
    {
        public bool Passes => Failures == 0;
    }

    public static readonly int[] TernaryK = [128, 256, 2560, 6912];
    public static readonly int[] RowCounts = [1, 3, 5, 17];
    public static readonly int[] TokenCounts = [1, 3, 4, 5, 8, 9, 12, 16, 17, 27, 33, 65, 70];

    /// <summary>Runs every family for each variant (default: every variant this CPU supports).</summary>
    public static IReadOnlyList<Row> Run(IEnumerable<KernelSet>? variants = null)
    {
        var rows = new List<Row>();
        foreach (var v in variants ?? KernelSet.Supported)
        {
            foreach (var layout in new[] { TernaryLayout.I2S, TernaryLayout.TQ2, TernaryLayout.TQ1 })
                rows.Add(Ternary(v, layout));
            rows.Add(HalfRows(v));
            rows.Add(HalfWidenings(v, Kernels.HalfWidening.Exact));
            rows.Add(HalfWidenings(v, Kernels.HalfWidening.Finite));
            rows.Add(HalfWidenings(v, Kernels.HalfWidening.Rebias));
            rows.Add(Q8Rows(v));
            rows.Add(Quantizer(v));
            rows.Add(Attention(v));
            rows.Add(AttentionBlocks(v));
        }
        return rows;
    }

    /// <summary>Collects cases of one family: each returns its error and, when it fails, why.</summary>
    private sealed class Tally(string variant, string family)
    {
        private int _cases, _failures;
        private double _max;
        private string? _first;

        public void Add(double error, bool ok, string what)
        {
            _cases++;
            if (!double.IsNaN(error)) _max = Math.Max(_max, error);
            if (ok) return;
            _failures++;
            _first ??= $"{what}: error {error:G3}";
        }

        public Row Row => new(variant, family, _cases, _max, _failures, _first);
    }

    // ---------------------------------------------------------------- ternary

    private enum Activations { Random, AllMax, AllMin }

    private static Row Ternary(KernelSet v, TernaryLayout layout)
    {
        var tally = new Tally(v.Name, $"ternary {layout}");
        int seed = 0;
        foreach (int k in TernaryK)
        {
            if (k % (layout == TernaryLayout.I2S ? 128 : 256) != 0) continue;
            foreach (int n in RowCounts)
                foreach (int tokens in TokenCounts)
                    if ((long)k * n * tokens <= 6912L * 17 * 5)
                        TernaryCase(v, layout, k, n, tokens, Activations.Random, hostile: false, seed++, tally);
        }
        // Worst cases: all codes +1 with all +127 or all -128 activations, and hostile code 3 everywhere.
        foreach (var kind in new[] { Activations.AllMax, Activations.AllMin })
        {
            TernaryCase(v, layout, 6912, 5, 5, kind, hostile: false, seed++, tally, allPlusOne: true);
            TernaryCase(v, layout, 6912, 3, 17, kind, hostile: true, seed++, tally);
        }
        TernaryCase(v, layout, 2560, 17, 4, Activations.Random, hostile: true, seed++, tally);
        // Decode's eight-row TQ loops (17 rows: 8 + 1 and 8, in the two ranges) on every byte and both extremes.
        foreach (var kind in new[] { Activations.AllMax, Activations.AllMin })
            TernaryCase(v, layout, 6912, 17, 1, kind, hostile: true, seed++, tally);
        // Batched decode rows: eight tokens over two column chunks (K = 6912) at their bounds, and three blocks of rows.
        foreach (var kind in new[] { Activations.AllMax, Activations.AllMin })
            TernaryCase(v, layout, 6912, 3, 8, kind, hostile: true, seed++, tally);
        // TQ1_0 decode's digit lanes past their 32 KB on the stack (K = 27,136: 106 blocks) come from a per-thread buffer.
        if (layout == TernaryLayout.TQ1) TernaryCase(v, layout, 27136, 3, 1, Activations.Random, hostile: false, seed++, tally);
        TernaryCase(v, layout, 256, 70, 8, Activations.Random, hostile: false, seed++, tally);
        TernaryCase(v, layout, 256, 70, 15, Activations.Random, hostile: false, seed++, tally);
        if (v.LutTiles && layout == TernaryLayout.I2S)
        {
            // The table lookups: chunks of 1, 2 and 3 blocks, row blocks in fours and alone, rows past the last block
            // of 32, token counts short of a multiple of 4, the int16 bound (all +1 against all +127 or -128), code 3.
            foreach (int k in new[] { 128, 256, 384, 2560 })
                foreach (var (n, tokens) in new[] { (32, 32), (300, 33), (164, 66) })
                    TernaryCase(v, layout, k, n, tokens, Activations.Random, hostile: false, seed++, tally, tables: true);
            foreach (var kind in new[] { Activations.AllMax, Activations.AllMin })
            {
                TernaryCase(v, layout, 3840, 36, 34, kind, hostile: false, seed++, tally, allPlusOne: true, tables: true);
                TernaryCase(v, layout, 2560, 72, 32, kind, hostile: true, seed++, tally, tables: true);
            }
        }
        return tally.Row;
    }

    private static void TernaryCase(KernelSet v, TernaryLayout layout, int k, int n, int tokens, Activations kind, bool hostile, int seed,
        Tally tally, bool allPlusOne = false, bool tables = false)
    {
        var rng = new Random(seed * 7919 + k + n * 31 + tokens);
        var format = layout switch { TernaryLayout.I2S => TensorFormats.I2_S, TernaryLayout.TQ2 => TensorFormats.TQ2_0, _ => TensorFormats.TQ1_0 };
        long bytes = format.TensorBytes(k, n)!.Value;
        using var weights = new NativeBuffer<byte>(bytes);
        var span = new Span<byte>(weights.Pointer, (int)bytes);
        const float tensorScale = 0.37f;
        FillTernary(layout, span, k, n, rng, allPlusOne, hostile, tensorScale);
        var decoded = new float[k];
        using var matrix = new TernaryMatrix("selftest", layout, weights.Pointer, k, n, layout == TernaryLayout.I2S ? tensorScale : 1f) { OutputScale = 1.25f };

        using var act = new QuantizedActivations(tokens, k);
        if (tables) act.EnableTables();
        var x = new float[tokens * k];
        for (int i = 0; i < x.Length; i++)
            x[i] = kind switch { Activations.AllMax => 1f, Activations.AllMin => -1f, _ => (float)(rng.NextDouble() * 2 - 1) * (1 + i % 7) };
        fixed (float* xp = x) act.Quantize(KernelSet.Scalar, xp, tokens, k, k);
        if (kind == Activations.AllMin) act.FillForTesting(-128); // absmax never yields -128 itself

        var reference = new float[tokens * n];
        var got = new float[tokens * n];
        fixed (float* rp = reference) KernelSet.Scalar.TernaryMatMul(matrix, act, rp, n, 0, n);
        fixed (float* gp = got)
        {
            // In two row ranges, as the worker pool splits work.
            v.TernaryMatMul(matrix, act, gp, n, 0, n / 2);
            v.TernaryMatMul(matrix, act, gp, n, n / 2, n);
        }
        string what = $"K={k} rows={n} tokens={tokens} {kind}{(hostile ? " code-3" : "")}{(tables ? " tables" : "")}";
        double worst = 0;
        for (int i = 0; i < got.Length; i++) worst = Math.Max(worst, Math.Abs((double)got[i] - reference[i]));
        bool ok = got.AsSpan().SequenceEqual(reference);

        // The scalar reference itself against double math over the reference decoder.
        for (int r = 0; r < n && ok; r++)
        {
            format.DequantizeRow(span, r, decoded);
            for (int t = 0; t < tokens; t++)
            {
                double expect = 0;
                for (int i = 0; i < k; i++) expect += decoded[i] * act.Q[(long)t * k + i];
                expect *= act.Scale[t] * 1.25;
                double err = Math.Abs(reference[t * n + r] - expect) / Math.Max(1, Math.Abs(expect));
                if (err > 1e-4) { ok = false; worst = Math.Max(worst, err); what += $" (scalar vs float math, row {r} token {t})"; break; }
            }
        }
        tally.Add(worst, ok, what);
    }

    private static void FillTernary(TernaryLayout layout, Span<byte> span, int k, int n, Random rng, bool allPlusOne, bool hostile, float scale)
    {
        if (layout == TernaryLayout.I2S)
        {
            var codes = span[..(k * n / 4)];
            for (int i = 0; i < codes.Length; i++)
                codes[i] = hostile ? (byte)0xFF : allPlusOne ? (byte)0b10_10_10_10 : (byte)(rng.Next(3) << 6 | rng.Next(3) << 4 | rng.Next(3) << 2 | rng.Next(3));
            BitConverter.TryWriteBytes(span[(k * n / 4)..], scale);
            return;
        }
        int blockBytes = layout == TernaryLayout.TQ2 ? 66 : 54;
        Span<byte> c = stackalloc byte[256];
        for (int b = 0; b < span.Length / blockBytes; b++)
        {
            for (int i = 0; i < 256; i++) c[i] = allPlusOne ? (byte)2 : (byte)rng.Next(3);
            var d = (Half)(0.1f + (float)rng.NextDouble());
            var blk = span.Slice(b * blockBytes, blockBytes);
            if (layout == TernaryLayout.TQ2) ReferenceQuantizer.TQ2_0Block(c, d, blk);
            else ReferenceQuantizer.TQ1_0Block(c, d, blk);
            if (hostile && layout == TernaryLayout.TQ2) blk[..64].Fill(0xFF); // code 3 in every weight
            if (hostile && layout == TernaryLayout.TQ1) blk[..52].Fill(0xFF); // the largest trit bytes
        }
    }

    // ---------------------------------------------------------------- F16 and Q8_0 rows

    private static Row HalfRows(KernelSet v)
    {
        var tally = new Tally(v.Name, "F16 rows");
        // 19 rows: two blocks of the batched driver plus a 3-row tail (an odd row pair); K = 1000 and 1016: a partial
        // chunk whose columns end 8 and 24 past a multiple of 32 (the 8-token tiles' tails). Every widening, every shape.
        foreach (int k in new[] { 8, 13, 64, 1000, 1016, 2560 })
        {
            foreach (int tokens in new[] { 1, 2, 3, 4, 5, 8, 9, 17 })
            {
                for (int mode = 0; mode < 3; mode++) // exact, finite, rebiased + exceptions
                {
                    int n = k >= 1000 && k < 2000 ? 19 : 5;
                    var rng = new Random(k * 100 + tokens * 3 + mode);
                    var rows = new ushort[n * k];
                    var x = new float[tokens * k];
                    for (int i = 0; i < rows.Length; i++) rows[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 4 - 2));
                    // Zeros and subnormals of both signs, which the rebiasing widening gets wrong and its exceptions correct.
                    for (int i = 0; i < rows.Length; i += 97) rows[i] = (ushort)(rng.Next(2) << 15 | rng.Next(0x400));
                    for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
                    var y = new float[tokens * n];
                    fixed (ushort* rp = rows) fixed (float* xp = x) fixed (float* yp = y)
                    {
                        var exceptions = mode == 2 ? HalfExceptions.Scan(rp, k, n, long.MaxValue).Exceptions : null;
                        v.HalfRows(rp, k, xp, tokens, k, yp, n, 0, n, finite: mode == 1, exceptions);
                    }
                    double worst = 0;
                    for (int t = 0; t < tokens; t++)
                        for (int r = 0; r < n; r++)
                        {
                            double exact = 0, magnitude = 0;
                            for (int i = 0; i < k; i++)
                            {
                                double term = (double)BitConverter.UInt16BitsToHalf(rows[r * k + i]) * x[t * k + i];
                                exact += term;
                                magnitude += Math.Abs(term);
                            }
                            worst = Math.Max(worst, Math.Abs(y[t * n + r] - exact) / Math.Max(magnitude, 1e-30));
                        }
                    tally.Add(worst, worst <= FloatTolerance, $"K={k} tokens={tokens} widening={(Kernels.HalfWidening)mode}");
                }
            }
        }
        return tally.Row;
    }

    /// <summary>
    /// All 65,536 half bit patterns (the 63,488 finite ones for the finite-only and rebiasing widenings, the latter with
    /// its exceptions): rows of eight copies dotted with 1/8 give the half itself, exactly.
    /// </summary>
    private static Row HalfWidenings(KernelSet v, Kernels.HalfWidening widening)
    {
        bool finite = widening != Kernels.HalfWidening.Exact;
        var tally = new Tally(v.Name, widening switch
        {
            Kernels.HalfWidening.Exact => "F16 widening (all 65536)",
            Kernels.HalfWidening.Finite => "F16 widening (63488 finite)",
            _ => "F16 rebiased widening + exceptions (63488 finite)",
        });
        var rows = new ushort[65536 * 8];
        for (int i = 0; i < rows.Length; i++) rows[i] = (ushort)(i / 8);
        // Finite-only: inf/NaN patterns are replaced by 1.0 (0x3C00), whose widening is checked like any other.
        if (finite) for (int i = 0; i < rows.Length; i++) if ((rows[i] & 0x7C00) == 0x7C00) rows[i] = 0x3C00;
        var x = new float[8];
        Array.Fill(x, 0.125f);
        var y = new float[65536];
        fixed (ushort* rp = rows) fixed (float* xp = x) fixed (float* yp = y)
        {
            // Here one half in 32 is zero or subnormal, past the share a real matrix gets exceptions for.
            var exceptions = widening == Kernels.HalfWidening.Rebias ? HalfExceptions.Scan(rp, 8, 65536, long.MaxValue).Exceptions : null;
            v.HalfRows(rp, 8, xp, 1, 8, yp, 65536, 0, 65536, finite, exceptions);
        }
        int wrong = 0;
        string? first = null;
        for (int h = 0; h < 65536; h++)
        {
            float expect = (float)BitConverter.UInt16BitsToHalf(rows[h * 8]);
            bool same = float.IsNaN(expect) ? float.IsNaN(y[h]) : expect == y[h];
            if (same) continue;
            wrong++;
            first ??= $"0x{h:X4}: {y[h]} instead of {expect}";
        }
        tally.Add(wrong, wrong == 0, first ?? "");
        return tally.Row;
    }

    private static Row Q8Rows(KernelSet v)
    {
        var tally = new Tally(v.Name, "Q8_0 rows");
        // K = 32: only a plain tail block; 2592: ten interleaved groups and a tail; 2 .. 9 tokens: the four-token driver's groups and tails.
        foreach (int k in new[] { 32, 256, 2592 })
        {
            foreach (int tokens in new[] { 1, 2, 3, 5, 8, 9 })
            {
                foreach (bool extreme in new[] { false, true })
                {
                    const int n = 7;
                    var rng = new Random(k + tokens * 13 + (extreme ? 1 : 0));
                    int blocks = k / Q8RowMatrix.Block;
                    var w = new sbyte[n * k]; var wd = new float[n * blocks];
                    var xq = new sbyte[tokens * k]; var xd = new float[tokens * blocks];
                    var row = new float[k];
                    for (int r = 0; r < n; r++)
                    {
                        // Extreme: every weight +127 against every activation -127, the int16 worst case (and biased codes' largest).
                        for (int i = 0; i < k; i++) row[i] = extreme ? 1f : (float)(rng.NextDouble() * 2 - 1);
                        Q8RowMatrix.Quantize(row, w.AsSpan(r * k, k), wd.AsSpan(r * blocks, blocks));
                    }
                    for (int t = 0; t < tokens; t++)
                    {
                        for (int i = 0; i < k; i++) row[i] = extreme ? -1f : (float)(rng.NextDouble() * 4 - 2);
                        Q8RowMatrix.Quantize(row, xq.AsSpan(t * k, k), xd.AsSpan(t * blocks, blocks));
                    }
                    var y = new float[tokens * n];
                    // The kernels take Q8RowMatrix's stored order (interleaved, biased); the exact sums below use the plain one.
                    var wi = new sbyte[n * k]; var xi = new sbyte[tokens * k]; var xs = new int[tokens * blocks];
                    for (int r = 0; r < n; r++) Q8RowMatrix.EncodeCodes(w.AsSpan(r * k, k), wi.AsSpan(r * k, k));
                    for (int t = 0; t < tokens; t++)
                    {
                        Q8RowMatrix.Interleave(xq.AsSpan(t * k, k), xi.AsSpan(t * k, k));
                        Q8RowMatrix.BiasSums(xq.AsSpan(t * k, k), xs.AsSpan(t * blocks, blocks));
                    }
                    fixed (sbyte* wp = wi) fixed (float* wdp = wd) fixed (sbyte* xp = xi) fixed (float* xdp = xd) fixed (int* xsp = xs) fixed (float* yp = y)
                        v.Q8Rows(wp, wdp, k, xp, xdp, xsp, tokens, yp, n, 0, n);
                    double worst = 0;
                    for (int t = 0; t < tokens; t++)
                        for (int r = 0; r < n; r++)
                        {
                            double exact = 0, magnitude = 0;
                            for (int b = 0; b < blocks; b++)
                            {
                                long isum = 0;
                                for (int i = 0; i < Q8RowMatrix.Block; i++) isum += w[r * k + b * 32 + i] * xq[t * k + b * 32 + i];
                                double term = isum * (double)(wd[r * blocks + b] * xd[t * blocks + b]);
                                exact += term;
                                magnitude += Math.Abs(term);
                            }
                            worst = Math.Max(worst, Math.Abs(y[t * n + r] - exact) / Math.Max(magnitude, 1e-30));
                        }
                    tally.Add(worst, worst <= FloatTolerance, $"K={k} tokens={tokens}{(extreme ? " extreme" : "")}");
                }
            }
        }
        return tally.Row;
    }

    // ---------------------------------------------------------------- activations, attention

    private static Row Quantizer(KernelSet v)
    {
        var tally = new Tally(v.Name, "int8 activation quantizer");
        foreach (int length in new[] { 1, 15, 16, 17, 31, 32, 33, 127, 2560, 6912 })
        {
            var rng = new Random(length);
            var x = new float[length];
            for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 20 - 10);
            x[rng.Next(length)] = 12.7f;
            // Exact ties: with m = 12.7 the scale is 10, so x = (j + 0.5) / 10 lands on .5 after scaling.
            for (int i = 0; i < length; i += 5) x[i] = (i % 40 - 20 + 0.5f) / 10f;
            var reference = new sbyte[length];
            var got = new sbyte[length];
            float rs = KernelSet.Scalar.QuantizeRow(x, reference);
            float gs = v.QuantizeRow(x, got);
            int wrong = 0;
            for (int i = 0; i < length; i++) if (got[i] != reference[i]) wrong++;
            tally.Add(wrong, wrong == 0 && rs == gs, $"length {length}");
        }
        return tally.Row;
    }

    private static Row Attention(KernelSet v)
    {
        var tally = new Tally(v.Name, "attention (F32, F16 and Q8_0 KV)");
        foreach (var type in new[] { KvCacheType.F32, KvCacheType.F16, KvCacheType.Q8_0 })
            foreach (int hd in new[] { 64, 100, 128 })
                foreach (int n in new[] { 1, 7, 64, 300 })
                    foreach (int queryHeads in new[] { 1, 3, 6 })
                        AttentionCase(v, type, hd, n, queryHeads, tally);
        return tally.Row;
    }

    private static void AttentionCase(KernelSet v, KvCacheType type, int hd, int n, int queryHeads, Tally tally)
    {
        var rng = new Random(hd * 1000 + n + (int)type + 7 * queryHeads);
        const int heads = 2; // two KV heads per position; the query heads all attend to the first
        var q = new float[queryHeads * hd];
        var keys = new float[n * heads * hd];
        var values = new float[n * heads * hd];
        for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (float)(rng.NextDouble() * 2 - 1);
            values[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        // The exact answer is the one over the stored (rounded) values: store, then read back what the cache holds.
        byte[] kBytes = Store(keys, type, hd, heads, out int stride), vBytes = Store(values, type, hd, heads, out _);
        Load(kBytes, type, hd, keys);
        Load(vBytes, type, hd, values);
        var scores = new float[Math.Min(queryHeads, 4) * n];
        var output = new float[queryHeads * hd];
        fixed (float* qp = q) fixed (byte* kp = kBytes) fixed (byte* vp = vBytes) fixed (float* op = output)
            v.Attend(type, qp, queryHeads, kp, vp, stride, n, hd, scores, op);

        int floatStride = heads * hd;
        double worst = 0;
        for (int h = 0; h < queryHeads; h++)
        {
            var p = new double[n];
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int i = 0; i < hd; i++) s += (double)q[h * hd + i] * keys[j * floatStride + i];
                p[j] = s / Math.Sqrt(hd);
                max = Math.Max(max, p[j]);
            }
            for (int j = 0; j < n; j++) sum += p[j] = Math.Exp(p[j] - max);
            for (int i = 0; i < hd; i++)
            {
                double exact = 0;
                for (int j = 0; j < n; j++) exact += p[j] / sum * values[j * floatStride + i];
                worst = Math.Max(worst, Math.Abs(output[h * hd + i] - exact)); // values are within [-1, 1]
            }
        }
        tally.Add(worst, worst <= FloatTolerance, $"{type} hd={hd} positions={n} query heads={queryHeads}");
    }

    /// <summary>
    /// Prefill blocks (<see cref="KernelSet.AttendBlock"/>) against <see cref="KernelSet.Attend"/> token by token: equal to
    /// the last bit, since a token's numerics must not depend on how the engine batched it.
    /// </summary>
    private static Row AttentionBlocks(KernelSet v)
    {
        var tally = new Tally(v.Name, "attention blocks (F32, F16 KV) = per token, bit for bit");
        foreach (var type in new[] { KvCacheType.F32, KvCacheType.F16 })
            foreach (int hd in new[] { 64, 128 })
                foreach (int heads in new[] { 1, 3, 4, 8 })
                    foreach (int n0 in new[] { 1, 6, 45 })
                        foreach (int tokens in new[] { 2, 5, 32 / heads, 3 * (32 / heads) + 1 })
                            AttentionBlockCase(v, type, hd, heads, n0, tokens, tally);
        return tally.Row;
    }

    private static void AttentionBlockCase(KernelSet v, KvCacheType type, int hd, int heads, int n0, int tokens, Tally tally)
    {
        var rng = new Random(hd + 10 * heads + 100 * n0 + 1000 * tokens + (int)type);
        int n = n0 + tokens - 1, qStride = heads * hd + 16; // a token's heads, then other heads' space
        var q = new float[tokens * qStride];
        var keys = new float[n * 2 * hd];
        var values = new float[n * 2 * hd];
        for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 4 - 2);
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (float)(rng.NextDouble() * 2 - 1);
            values[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        byte[] kBytes = Store(keys, type, hd, 2, out int stride), vBytes = Store(values, type, hd, 2, out _);
        var block = new float[tokens * qStride];
        var single = new float[tokens * qStride];
        var scores = new float[Math.Min(heads, 4) * n];
        fixed (float* qp = q) fixed (byte* kp = kBytes) fixed (byte* vp = vBytes) fixed (float* bp = block) fixed (float* sp = single)
        {
            v.AttendBlock(type, qp, qStride, tokens, heads, kp, vp, stride, n0, hd, bp, qStride);
            for (int i = 0; i < tokens; i++)
                v.Attend(type, qp + (long)i * qStride, heads, kp, vp, stride, n0 + i, hd, scores, sp + (long)i * qStride);
        }
        int differ = 0;
        string? first = null;
        for (int i = 0; i < tokens; i++)
            for (int j = 0; j < heads * hd; j++)
            {
                float a = block[i * qStride + j], b = single[i * qStride + j];
                if (a == b) continue;
                differ++;
                first ??= $"token {i} element {j}: {a} vs {b}";
            }
        tally.Add(differ, differ == 0, $"{type} hd={hd} heads={heads} n0={n0} tokens={tokens}: {first}");
    }

    /// <summary>Positions of <paramref name="heads"/> head vectors each, stored as the KV cache stores them; stride in bytes.</summary>
    private static byte[] Store(float[] x, KvCacheType type, int hd, int heads, out int stride)
    {
        if (type == KvCacheType.F32)
        {
            stride = heads * hd * sizeof(float);
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
        }
        if (type == KvCacheType.F16)
        {
            stride = heads * hd * 2;
            var h = new Half[x.Length];
            for (int i = 0; i < x.Length; i++) h[i] = (Half)x[i];
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(h.AsSpan()).ToArray();
        }
        int headBytes = Q8KvLayout.HeadBytes(hd);
        stride = heads * headBytes;
        var bytes = new byte[x.Length / hd * headBytes];
        fixed (float* xp = x) fixed (byte* bp = bytes)
            for (int v = 0; v < x.Length / hd; v++) Q8KvLayout.Quantize(xp + (long)v * hd, hd, bp + (long)v * headBytes);
        return bytes;
    }

    /// <summary>The values a stored cache holds, back as floats (the exact inputs of the reference computation).</summary>
    private static void Load(byte[] stored, KvCacheType type, int hd, float[] x)
    {
        if (type == KvCacheType.F32) return;
        if (type == KvCacheType.F16)
        {
            for (int i = 0; i < x.Length; i++) x[i] = (float)BitConverter.ToHalf(stored, i * 2);
            return;
        }
        int headBytes = Q8KvLayout.HeadBytes(hd);
        fixed (float* xp = x) fixed (byte* bp = stored)
            for (int v = 0; v < x.Length / hd; v++) Q8KvLayout.Dequantize(bp + (long)v * headBytes, hd, xp + (long)v * hd);
    }
}
