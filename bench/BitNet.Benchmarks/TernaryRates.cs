using System.Runtime.Intrinsics.X86;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Diagnostics;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Quantization;

namespace BitNet.Benchmarks;

/// <summary>
/// `ternary-rates`: one thread, the 2B4T FFN shapes, every supported variant and layout, batch sizes 1..128: the
/// integer multiply-add rate (GMAC/s) of the ternary GEMM, to see where the kernels stand against the core's peak
/// without BenchmarkDotNet's minutes per case.
/// </summary>
public static unsafe class TernaryRates
{
    public static int Run(string[] args)
    {
        int[] tokens = [1, 4, 8, 16, 64, 128];
        (int, int)[] shapes = [(2560, 6912), (6912, 2560)];
        var names = new List<string>();
        int headRows = 0;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--head" && i + 1 < args.Length) headRows = int.Parse(args[++i]);
            else if (args[i] == "--model-head" && i + 1 < args.Length)
            {
                using var model = BitNet.Runtime.Model.BitNetModel.Load(args[++i]);
                if (model.Weights.Head is FloatMatrix f16 && f16.Format.Type == GgmlType.F16) HeadDrivers(f16);
                else Console.WriteLine($"the head is {model.Weights.Head.FormatName}, not F16");
                return 0;
            }
            else if (args[i] == "--model-batch" && i + 1 < args.Length)
            {
                using var model = BitNet.Runtime.Model.BitNetModel.Load(args[++i]);
                ModelBatch(model, i + 1 < args.Length ? int.Parse(args[++i]) : 8);
                return 0;
            }
            else if (args[i] == "--pages" && i + 1 < args.Length)
            {
                PageSizes(args[++i]);
                return 0;
            }
            else if (args[i] == "--tq1-blocks")
            {
                Tq1Rates.Run();
                return 0;
            }
            else if (args[i] == "--peak")
            {
                Peak();
                return 0;
            }
            else if (args[i] == "--half-tiles")
            {
                HalfTileRates();
                Q8TileRates();
                return 0;
            }
            else if (args[i] == "--batch-drivers")
            {
                BatchDrivers(args.Contains("--dram") ? 8 : 1);
                return 0;
            }
            else if (args[i] == "--shape" && i + 1 < args.Length)
            {
                var kn = args[++i].Split('x');
                shapes = [(int.Parse(kn[0]), int.Parse(kn[1]))];
            }
            else names.Add(args[i]);
        }
        string[] variants = names.Count > 0 ? names.ToArray() : KernelSet.Supported.Select(v => v.Name).ToArray();
        if (headRows > 0)
        {
            // Only the head: `--head 128` keeps its rows in L2 (the compute ceiling), `--head 65536` streams them from DRAM.
            foreach (var name in variants)
                foreach (int t in new[] { 1, 2, 4, 8 }) HeadRate(KernelSet.Select(name), t, headRows);
            return 0;
        }
        foreach (int tk in new[] { 2560, 6912 })
        {
            TileRate<Avx512Isa<Avx2Isa>>("AVX-512", tk, 2); TileRate<Avx512Isa<Avx2Isa>>("AVX-512", tk, 1);
            TileRate<AvxVnniIsa>("AVX-VNNI", tk, 2); TileRate<AvxVnniIsa>("AVX-VNNI", tk, 1);
            TileRate<Avx2Isa>("AVX2", tk, 2); TileRate<Avx2Isa>("AVX2", tk, 1);
        }
        foreach (var name in names.Count > 0 ? names : KernelSet.Supported.Select(v => v.Name).ToList())
            foreach (int t in new[] { 1, 8 }) HeadRate(KernelSet.Select(name), t, 16384);
        Console.WriteLine("variant      layout  K x N         tokens   ms/call   GMAC/s");
        foreach (var name in variants)
        {
            var kernels = KernelSet.Select(name);
            foreach (var layout in new[] { TernaryLayout.I2S, TernaryLayout.TQ2, TernaryLayout.TQ1 })
                foreach (var (k, n) in shapes)
                    foreach (int t in tokens)
                    {
                        if (layout != TernaryLayout.I2S && t != 1 && t != 64) continue;
                        double ms = Time(kernels, layout, k, n, t);
                        Console.WriteLine($"{kernels.Name,-12} {layout,-7} {k,4} x {n,-7} {t,6} {ms,9:F3} {(double)k * n * t / ms / 1e6,8:F1}");
                    }
        }
        return 0;
    }

    /// <summary>
    /// The 4-row x 16-token tile alone (a pair of them where the variant has <see cref="IKernelIsa.TilePairs"/> and
    /// <paramref name="vectors"/> is 2), its panel and lanes in L1: the kernel's own ceiling.
    /// </summary>
    private static void TileRate<TIsa>(string name, int k, int vectors) where TIsa : struct, IKernelIsa
    {
        if (!TIsa.IsSupported) return;
        bool pair = TIsa.TilePairs && vectors == 2;
        int tokens = (pair ? 2 : 1) * 8 * vectors;
        using var codes = new NativeBuffer<byte>(4L * k);
        using var lanes = new NativeBuffer<sbyte>((long)tokens * k);
        var rng = new Random(3);
        for (int i = 0; i < 4 * k; i++) codes.Pointer[i] = (byte)rng.Next(3);
        for (int i = 0; i < tokens * k; i++) lanes.Pointer[i] = (sbyte)rng.Next(-100, 100);
        int* sums = stackalloc int[128];
        int reps = 0;
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 400)
        {
            for (int i = 0; i < 100; i++)
            {
                if (pair) TIsa.CodeTile4Pair(codes.Pointer, k, lanes.Pointer, lanes.Pointer + 16L * k, k, sums);
                else TIsa.CodeTile4(codes.Pointer, k, lanes.Pointer, vectors, k, sums);
            }
            reps += 100;
        }
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-12} tile 4 x {tokens} over K={k} (panel {4 * k / 1024} KB, lanes {tokens * k / 1024} KB): {4.0 * tokens * k * reps / s / 1e9:F1} GMAC/s");
    }

    /// <summary>The F16 and Q8_0 head over <paramref name="rows"/> rows of 2560: one thread's multiply-add rate per batch size.</summary>
    private static void HeadRate(KernelSet kernels, int tokens, int rows)
    {
        const int dim = 2560;
        var rng = new Random(2);
        var f16 = new ushort[(long)rows * dim];
        for (int i = 0; i < f16.Length; i++) f16[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() - 0.5));
        fixed (ushort* hp = f16)
        {
            var head = new FloatMatrix("head", TensorFormats.F16, (byte*)hp, (long)rows * dim * 2, dim, rows);
            using var q8 = new Q8RowMatrix(head);
            var x = new float[tokens * dim];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
            var y = new float[tokens * rows];
            var scratch = new float[dim];
            foreach (IRowMatrix m in new IRowMatrix[] { head, q8 })
                fixed (float* xp = x) fixed (float* yp = y)
                {
                    // Warm up past tiering: callees the JIT declined to inline start at tier 0.
                    for (var warm = Stopwatch.StartNew(); warm.ElapsedMilliseconds < 300;) m.MatMul(kernels, xp, tokens, dim, yp, rows, 0, rows, scratch);
                    // The fastest of eight 50 ms windows: on a shared host, neighbours only ever slow a window down.
                    double ms = double.MaxValue;
                    for (int w = 0; w < 8; w++)
                    {
                        int reps = 0;
                        var sw = Stopwatch.StartNew();
                        while (sw.ElapsedMilliseconds < 50 || reps < 2) { m.MatMul(kernels, xp, tokens, dim, yp, rows, 0, rows, scratch); reps++; }
                        ms = Math.Min(ms, sw.Elapsed.TotalMilliseconds / reps);
                    }
                    Console.WriteLine($"{kernels.Name,-12} head {m.FormatName,-20} {dim} x {rows} tokens {tokens}: {ms:F3} ms, {(double)rows * dim * tokens / ms / 1e6:F1} GMAC/s, {m.BytesPerPass / ms / 1e6:F1} GB/s");
                }
        }
    }

    /// <summary>
    /// `--model-head FILE`: a real model's F16 head as the loader maps it, one thread: the row-by-row and blocked
    /// drivers with the finite and the rebiasing widening (+ exceptions), alternated, fastest of five rounds each.
    /// </summary>
    private static void HeadDrivers(FloatMatrix m)
    {
        var ex = m.Exceptions;
        Console.WriteLine($"{m.Name}: {m.K} x {m.N}, {ex?.Count.ToString() ?? "no"} zero/subnormal exceptions");
        if (ex is null || !Avx2Isa.IsSupported) return;
        bool vnni = AvxVnniIsa.IsSupported;
        foreach (int tokens in new[] { 1, 4, 8 })
        {
            var rng = new Random(2);
            var x = new float[tokens * m.K];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
            var y = new float[(long)tokens * m.N];
            ushort* rows = (ushort*)m.Data;
            int k = m.K, n = m.N;
            (string Name, HalfWidening Widening, Action<nint, nint> Run)[] drivers =
            [
                ("rows AVX2 rebias", HalfWidening.Rebias, (xp, yp) => RowKernels.HalfRowByRow<Avx2Isa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Rebias)),
                ("rows AVX2 finite", HalfWidening.Finite, (xp, yp) => RowKernels.HalfRowByRow<Avx2Isa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Finite)),
                ("rows finite", HalfWidening.Finite, (xp, yp) => RowKernels.HalfRowByRow<AvxVnniIsa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Finite)),
                ("rows rebias", HalfWidening.Rebias, (xp, yp) => RowKernels.HalfRowByRow<AvxVnniIsa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Rebias)),
                ("blocks AVX2 finite", HalfWidening.Finite, (xp, yp) => RowKernels.HalfBlocks<Avx2Isa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Finite)),
                ("blocks AVX2 rebias", HalfWidening.Rebias, (xp, yp) => RowKernels.HalfBlocks<Avx2Isa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Rebias)),
                ("blocks AVX-VNNI rebias", HalfWidening.Rebias, (xp, yp) => RowKernels.HalfBlocks<AvxVnniIsa>(rows, k, (float*)xp, tokens, k, (float*)yp, n, 0, n, HalfWidening.Rebias)),
            ];
            var best = new double[drivers.Length];
            Array.Fill(best, double.MaxValue);
            fixed (float* xp = x) fixed (float* yp = y)
                for (int round = 0; round < 6; round++)
                    for (int c = 0; c < drivers.Length; c++)
                    {
                        if (tokens == 1 && drivers[c].Name.StartsWith("blocks", StringComparison.Ordinal)) continue;
                        if (!vnni && !drivers[c].Name.Contains("AVX2", StringComparison.Ordinal) && !drivers[c].Name.Contains("AVX-512", StringComparison.Ordinal)) continue;
                        var sw = Stopwatch.StartNew();
                        drivers[c].Run((nint)xp, (nint)yp);
                        if (drivers[c].Widening == HalfWidening.Rebias) ex.Correct(xp, tokens, k, yp, n, 0, n);
                        if (round > 0) best[c] = Math.Min(best[c], sw.Elapsed.TotalMilliseconds);
                    }
            for (int c = 0; c < drivers.Length; c++)
                if (best[c] < double.MaxValue)
                    Console.WriteLine($"tokens {tokens} {drivers[c].Name,-24} {best[c],8:F1} ms {(double)n * k * tokens / best[c] / 1e6,6:F1} GMAC/s {m.BytesPerPass / best[c] / 1e6,6:F1} GB/s");
        }
    }

    /// <summary>
    /// `--batch-drivers`: I2_S batches of 4..15 tokens, one thread, the eight-token row kernel against the lane tiles
    /// (and the four-token rows), alternated in one process, fastest of six rounds. `--dram`: eight times the rows (35 MB
    /// per matrix), so the weights stream from memory as in the model.
    /// </summary>
    private static void BatchDrivers(int rowsTimes)
    {
        if (!Avx2Isa.IsSupported) return;
        bool vnni = AvxVnniIsa.IsSupported;
        foreach (var (k, n) in new[] { (2560, 6912 * rowsTimes), (6912, 2560 * rowsTimes) })
            foreach (int tokens in new[] { 4, 8, 12, 16, 64, 128 })
            {
                var (matrix, act, weights) = Setup(KernelSet.Best, TernaryLayout.I2S, k, n, tokens);
                using var _w = weights; using var _m = matrix; using var _a = act;
                var y = new float[tokens * n];
                (string Name, Action<nint> Run)[] drivers =
                [
                    ("eight-token rows", yp => TernaryKernels.Compute<AvxVnniIsa>(matrix, act, (float*)yp, n, 0, n)),
                    ("eight-token rows AVX-512", yp => TernaryKernels.Compute<Avx512Isa<Avx2Isa>>(matrix, act, (float*)yp, n, 0, n)),
                    ("lane tiles", yp => TernaryTiles.Compute<AvxVnniIsa>(matrix, act, (float*)yp, n, 0, n)),
                    ("lane tiles AVX-512", yp => TernaryTiles.Compute<Avx512Isa<Avx2Isa>>(matrix, act, (float*)yp, n, 0, n)),
                    ("lane tiles AVX2", yp => TernaryTiles.Compute<Avx2Isa>(matrix, act, (float*)yp, n, 0, n)),
                    ("rows AVX2", yp => TernaryKernels.I2SRows<Avx2Isa>(matrix, act, (float*)yp, n, 0, n)),
                ];
                var best = new double[drivers.Length];
                Array.Fill(best, double.MaxValue);
                fixed (float* yp = y)
                    for (int round = 0; round < 7; round++)
                        for (int c = 0; c < drivers.Length; c++)
                        {
                            if (!vnni && !drivers[c].Name.Contains("AVX2", StringComparison.Ordinal) && !drivers[c].Name.Contains("AVX-512", StringComparison.Ordinal)) continue;
                            if (!Avx512Isa<Avx2Isa>.IsSupported && drivers[c].Name.Contains("AVX-512", StringComparison.Ordinal)) continue;
                            var sw = Stopwatch.StartNew();
                            for (int r = 0; r < 5; r++) drivers[c].Run((nint)yp);
                            if (round > 0) best[c] = Math.Min(best[c], sw.Elapsed.TotalMilliseconds / 5);
                        }
                for (int c = 0; c < drivers.Length; c++)
                    if (best[c] < double.MaxValue)
                        Console.WriteLine($"{k} x {n} tokens {tokens,2} {drivers[c].Name,-18} {best[c],8:F3} ms {(double)k * n * tokens / best[c] / 1e6,6:F1} GMAC/s");
            }
    }

    /// <summary>
    /// `--model-batch FILE [TOKENS]`: every ternary matrix of a real model in layer order, one thread, one batch of
    /// random activations: the batched step's ternary work without the engine around it (fastest of five passes).
    /// </summary>
    private static void ModelBatch(BitNet.Runtime.Model.BitNetModel model, int tokens)
    {
        var kernels = model.Weights.Kernels;
        var matrices = model.Weights.Layers.SelectMany(l => l.Matrices).ToArray();
        int maxK = matrices.Max(m => m.K), maxN = matrices.Max(m => m.N);
        using var act = new QuantizedActivations(tokens, maxK);
        if (kernels.LutTiles && Environment.GetEnvironmentVariable("BITNET_LUT") != "0") act.EnableTables();
        var rng = new Random(4);
        var x = new float[tokens * maxK];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
        var y = new float[tokens * maxN];
        double macs = matrices.Sum(m => (double)m.K * m.N) * tokens, best = double.MaxValue;
        fixed (float* xp = x) fixed (float* yp = y)
            for (int pass = 0; pass < 6; pass++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var m in matrices)
                {
                    act.Quantize(kernels, xp, tokens, m.K, m.K);
                    kernels.TernaryMatMul(m, act, yp, m.N, 0, m.N);
                }
                if (pass > 0) best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }
        Console.WriteLine($"{kernels.Name}: {matrices.Length} ternary matrices x {tokens} tokens, one thread: {best:F1} ms per pass, {macs / best / 1e6:F1} GMAC/s");
    }

    /// <summary>
    /// `--pages FILE`: the same model mapped (4 KB pages) and read into transparent huge pages, both in this process,
    /// alternated over four rounds: the ternary matrices of one and of eight tokens on one thread (<see cref="ModelBatch"/>),
    /// then one token through the file's head and through an 8-bit head in 4 KB and in huge pages.
    /// </summary>
    private static void PageSizes(string file)
    {
        using var mapped = BitNet.Runtime.Model.BitNetModel.Load(file, new BitNet.Runtime.Model.ModelLoadOptions { HugePages = false });
        using var read = BitNet.Runtime.Model.BitNetModel.Load(file, new BitNet.Runtime.Model.ModelLoadOptions { HugePages = true });
        if (!read.InHugePages) Console.WriteLine("this system offers no transparent huge pages for the file: both loads are mapped");
        using var q8Mapped = mapped.Weights.Head is FloatMatrix h0 ? new Q8RowMatrix(h0, hugePages: false) : null;
        using var q8Huge = read.Weights.Head is FloatMatrix h1 ? new Q8RowMatrix(h1, hugePages: true) : null;
        for (int round = 0; round < 4; round++)
        {
            foreach (int tokens in new[] { 1, 8 })
            {
                Console.Write("mapped:     "); ModelBatch(mapped, tokens);
                Console.Write("huge pages: "); ModelBatch(read, tokens);
            }
            Console.WriteLine($"head {mapped.Weights.Head.FormatName}, 1 token, one thread: mapped {HeadPass(mapped.Weights.Kernels, mapped.Weights.Head):F1} ms, " +
                $"huge pages {HeadPass(read.Weights.Kernels, read.Weights.Head):F1} ms");
            if (q8Mapped is not null && q8Huge is not null)
                Console.WriteLine($"head Q8_0, 1 token, one thread: 4 KB pages {HeadPass(mapped.Weights.Kernels, q8Mapped):F1} ms, huge pages {HeadPass(read.Weights.Kernels, q8Huge):F1} ms");
        }
    }

    /// <summary>The fastest of five single-token passes over a head's rows, ms.</summary>
    private static double HeadPass(KernelSet kernels, IRowMatrix head)
    {
        var rng = new Random(3);
        var x = new float[head.K];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
        var y = new float[head.N];
        var scratch = new float[head.K];
        double best = double.MaxValue;
        fixed (float* xp = x) fixed (float* yp = y)
            for (int pass = 0; pass < 6; pass++)
            {
                var sw = Stopwatch.StartNew();
                head.MatMul(kernels, head.Prepare(xp, 1, head.K, null), xp, 1, head.K, yp, head.N, 0, head.N, scratch);
                if (pass > 0) best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }
        return best;
    }

    /// <summary>
    /// `--peak`: the core's own throughput of the instructions the batched kernels are made of, twelve independent
    /// chains each: 256-bit <c>vpdpbusd</c> (32 int8 products), the AVX-512 tile's 512-bit maddubs + add (64, with its
    /// operands loaded from L1 as the tile loads them) and 512-bit FMA (16 float products), per second.
    /// </summary>
    private static void Peak()
    {
        const long n = 100_000_000;
        if (!Avx512BW.IsSupported)
        {
            if (!Avx2.IsSupported || !Fma.IsSupported) return;
            for (int round = 0; round < 3; round++)
            {
                var sw = Stopwatch.StartNew();
                var d = MaddubsChains(n);
                double mb = 12.0 * n / sw.Elapsed.TotalSeconds;
                sw.Restart();
                var f = FmaChains256(n);
                double fma = 12.0 * n / sw.Elapsed.TotalSeconds;
                Console.WriteLine($"vpmaddubsw+vpaddw ymm {mb / 1e9:F2} G/s = {mb * 32 / 1e9:F0} GMAC/s; FMA ymm {fma / 1e9:F2} G/s = {fma * 8 / 1e9:F0} GMAC/s (checksums {d}, {f})");
            }
            return;
        }
        // The tile mix's operands: 2 KB of activations and 96 bytes of codes, 64-byte aligned as NativeBuffer's (a
        // buffer allocated in the measuring method itself made the JIT keep the accumulators on the stack).
        using var operands = new NativeBuffer<sbyte>(2048 + 96);
        for (int i = 0; i < 2048 + 96; i++) operands.Pointer[i] = (sbyte)(i % 7 - 3);
        for (int round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            var d = AvxVnni.IsSupported ? DotChains(n) : MaddubsChains(n); // Zen 4, Ice Lake: no VEX vpdpbusd
            double dp = 12.0 * n / sw.Elapsed.TotalSeconds;
            sw.Restart();
            var f = FmaChains(n);
            double fma = 12.0 * n / sw.Elapsed.TotalSeconds;
            sw.Restart();
            var z = MaddubsChains512(n, operands.Pointer);
            double mz = 12.0 * n / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"{(AvxVnni.IsSupported ? "vpdpbusd" : "vpmaddubsw+vpaddw")} ymm {dp / 1e9:F2} G/s = {dp * 32 / 1e9:F0} GMAC/s; vpmaddubsw+vpaddw zmm {mz / 1e9:F2} G/s = {mz * 64 / 1e9:F0} GMAC/s; " +
                $"FMA zmm {fma / 1e9:F2} G/s = {fma * 16 / 1e9:F0} GMAC/s (checksums {d}, {z}, {f})");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int DotChains(long n)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<int> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        var u = Vector256.Create((byte)1);
        var v = Vector256.Create((sbyte)1);
        for (long i = 0; i < n; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, u, v); a1 = AvxVnni.MultiplyWideningAndAdd(a1, u, v);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, u, v); a3 = AvxVnni.MultiplyWideningAndAdd(a3, u, v);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, u, v); a5 = AvxVnni.MultiplyWideningAndAdd(a5, u, v);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, u, v); a7 = AvxVnni.MultiplyWideningAndAdd(a7, u, v);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, u, v); a9 = AvxVnni.MultiplyWideningAndAdd(a9, u, v);
            a10 = AvxVnni.MultiplyWideningAndAdd(a10, u, v); a11 = AvxVnni.MultiplyWideningAndAdd(a11, u, v);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>The AVX2 byte-dot ceiling: 12 independent int16 chains of maddubs + add (fed by the chain itself, so the JIT cannot hoist the product).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int MaddubsChains(long n)
    {
        Vector256<short> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<short> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        var v = Vector256.Create((sbyte)1);
        for (long i = 0; i < n; i++)
        {
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(a0.AsByte(), v)); a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(a1.AsByte(), v));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(a2.AsByte(), v)); a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(a3.AsByte(), v));
            a4 = Avx2.Add(a4, Avx2.MultiplyAddAdjacent(a4.AsByte(), v)); a5 = Avx2.Add(a5, Avx2.MultiplyAddAdjacent(a5.AsByte(), v));
            a6 = Avx2.Add(a6, Avx2.MultiplyAddAdjacent(a6.AsByte(), v)); a7 = Avx2.Add(a7, Avx2.MultiplyAddAdjacent(a7.AsByte(), v));
            a8 = Avx2.Add(a8, Avx2.MultiplyAddAdjacent(a8.AsByte(), v)); a9 = Avx2.Add(a9, Avx2.MultiplyAddAdjacent(a9.AsByte(), v));
            a10 = Avx2.Add(a10, Avx2.MultiplyAddAdjacent(a10.AsByte(), v)); a11 = Avx2.Add(a11, Avx2.MultiplyAddAdjacent(a11.AsByte(), v));
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>
    /// The AVX-512 tile's instruction mix (<see cref="Avx512Isa{TBase}.CodeTile4Pair"/>) at its ceiling: per iteration four
    /// activation vectors and three code broadcasts loaded from L1, twelve 512-bit maddubs each added into its own
    /// int16 accumulator. The operands are loads, as in the kernel: with register operands (this measurement until
    /// 2026-12-03) the JIT hoisted the loop-invariant products out of the loop and the rate read 666 GMAC/s, about
    /// 1.6x what the core can do.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int MaddubsChains512(long n, sbyte* p)
    {
        Vector512<short> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector512<short> a6 = default, a7 = default, a8 = default, a9 = default, a10 = default, a11 = default;
        uint* c = (uint*)(p + 2048);
        for (long i = 0; i < n; i++)
        {
            long o = i & 7;
            sbyte* q = p + o * 256;
            var x0 = Avx512BW.LoadVector512(q); var x1 = Avx512BW.LoadVector512(q + 64);
            var x2 = Avx512BW.LoadVector512(q + 128); var x3 = Avx512BW.LoadVector512(q + 192);
            var w = Vector512.Create(c[o]).AsByte();
            a0 = Avx512BW.Add(a0, Avx512BW.MultiplyAddAdjacent(w, x0)); a1 = Avx512BW.Add(a1, Avx512BW.MultiplyAddAdjacent(w, x1));
            a2 = Avx512BW.Add(a2, Avx512BW.MultiplyAddAdjacent(w, x2)); a3 = Avx512BW.Add(a3, Avx512BW.MultiplyAddAdjacent(w, x3));
            w = Vector512.Create(c[o + 8]).AsByte();
            a4 = Avx512BW.Add(a4, Avx512BW.MultiplyAddAdjacent(w, x0)); a5 = Avx512BW.Add(a5, Avx512BW.MultiplyAddAdjacent(w, x1));
            a6 = Avx512BW.Add(a6, Avx512BW.MultiplyAddAdjacent(w, x2)); a7 = Avx512BW.Add(a7, Avx512BW.MultiplyAddAdjacent(w, x3));
            w = Vector512.Create(c[o + 16]).AsByte();
            a8 = Avx512BW.Add(a8, Avx512BW.MultiplyAddAdjacent(w, x0)); a9 = Avx512BW.Add(a9, Avx512BW.MultiplyAddAdjacent(w, x1));
            a10 = Avx512BW.Add(a10, Avx512BW.MultiplyAddAdjacent(w, x2)); a11 = Avx512BW.Add(a11, Avx512BW.MultiplyAddAdjacent(w, x3));
        }
        return Vector512.Sum(Avx512BW.MultiplyAddAdjacent(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11, Vector512<short>.One));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains256(long n)
    {
        var a0 = Vector256.Create(1f); Vector256<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        var m = Vector256.Create(0.9999f);
        var c = Vector256.Create(0.0001f);
        for (long i = 0; i < n; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c); a2 = Fma.MultiplyAdd(a2, m, c);
            a3 = Fma.MultiplyAdd(a3, m, c); a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c); a8 = Fma.MultiplyAdd(a8, m, c);
            a9 = Fma.MultiplyAdd(a9, m, c); a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains(long n)
    {
        var a0 = Vector512.Create(1f); Vector512<float> a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        var m = Vector512.Create(0.9999f);
        var c = Vector512.Create(0.0001f);
        for (long i = 0; i < n; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c); a2 = Avx512F.FusedMultiplyAdd(a2, m, c);
            a3 = Avx512F.FusedMultiplyAdd(a3, m, c); a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c); a8 = Avx512F.FusedMultiplyAdd(a8, m, c);
            a9 = Avx512F.FusedMultiplyAdd(a9, m, c); a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>`--half-tiles`: the F16 head tiles in L1 (2 rows, 8 tokens, 512 columns), 2 x 4 twice against 2 x 8, alternated (512-bit where the CPU has it, and AVX2).</summary>
    private static void HalfTileRates()
    {
        if (!Avx2Isa.IsSupported) return;
        bool zmm = Avx512HalfTiles.IsSupported;
        const int k = 512;
        var rng = new Random(5);
        using var rows = new NativeBuffer<ushort>(2 * k);
        using var x = new NativeBuffer<float>(8 * k);
        using var acc = new NativeBuffer<float>(128);
        for (int i = 0; i < 2 * k; i++) rows.Pointer[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() - 0.5));
        for (int i = 0; i < 8 * k; i++) x.Pointer[i] = (float)(rng.NextDouble() - 0.5);
        ushort* a = rows.Pointer, b = a + k;
        float* xp = x.Pointer, ap = acc.Pointer;
        (string Name, Action Run)[] tiles =
        [
            ("2 x 4 twice", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () =>
            {
                Avx512HalfTiles.Tile2x4(a, b, xp, xp + k, xp + 2 * k, xp + 3 * k, 0, k, ap, a, b, HalfWidening.Rebias);
                Avx512HalfTiles.Tile2x4(a, b, xp + 4 * k, xp + 5 * k, xp + 6 * k, xp + 7 * k, 0, k, ap + 32, a, b, HalfWidening.Rebias);
            }),
            ("2 x 8", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Avx512HalfTiles.Tile2x8(a, b, xp, k, 0, k, ap, a, b, HalfWidening.Rebias)),
            ("AVX2 2 x 4 twice", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () =>
            {
                Avx2Isa.HalfTile2x4(a, b, xp, xp + k, xp + 2 * k, xp + 3 * k, 0, k, ap, a, b, HalfWidening.Rebias);
                Avx2Isa.HalfTile2x4(a, b, xp + 4 * k, xp + 5 * k, xp + 6 * k, xp + 7 * k, 0, k, ap + 32, a, b, HalfWidening.Rebias);
            }),
            ("AVX2 2 x 8", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Avx2Isa.HalfTile2x8(a, b, xp, k, 0, k, ap, a, b, HalfWidening.Rebias)),
        ];
        if (!zmm) tiles = tiles[2..];
        var best = new double[tiles.Length];
        Array.Fill(best, double.MaxValue);
        for (int round = 0; round < 8; round++)
            for (int c = 0; c < tiles.Length; c++)
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < 20000; r++) tiles[c].Run();
                if (round > 0) best[c] = Math.Min(best[c], sw.Elapsed.TotalSeconds);
            }
        for (int c = 0; c < tiles.Length; c++)
            Console.WriteLine($"F16 tile {tiles[c].Name,-12} 2 rows x 8 tokens x {k}: {2.0 * 8 * k * 20000 / best[c] / 1e9:F1} GMAC/s");
    }

    /// <summary>The Q8_0 head's row dots in L1 (one row of 2560 against 4 tokens): Q8Dot per token against Q8Dot4.</summary>
    private static void Q8TileRates()
    {
        if (!AvxVnniIsa.IsSupported) return;
        const int k = 2560, blocks = k / 32;
        var rng = new Random(6);
        using var w = new NativeBuffer<sbyte>(k);
        using var x = new NativeBuffer<sbyte>(4 * k);
        using var d = new NativeBuffer<float>(5 * blocks);
        using var sums = new NativeBuffer<int>(4 * blocks);
        for (int i = 0; i < k; i++) w.Pointer[i] = (sbyte)rng.Next(-127, 128);
        for (int i = 0; i < 4 * k; i++) x.Pointer[i] = (sbyte)rng.Next(-127, 128);
        for (int i = 0; i < 5 * blocks; i++) d.Pointer[i] = (float)rng.NextDouble();
        sbyte* wp = w.Pointer, xp = x.Pointer;
        float* wd = d.Pointer, xd = d.Pointer + blocks;
        int* xs = sums.Pointer;
        float* y = stackalloc float[4];
        nint yp = (nint)y;
        (string Name, Action Run)[] dots =
        [
            ("Q8Dot x 4", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () =>
            {
                for (int t = 0; t < 4; t++) ((float*)yp)[t] = AvxVnniIsa.Q8Dot(wp, wd, xp + t * k, xd + t * blocks, xs + t * blocks, blocks);
            }),
            ("Q8Dot4", [MethodImpl(MethodImplOptions.AggressiveOptimization)] () => AvxVnniIsa.Q8Dot4(wp, wd, xp, xd, xs, k, 3, (float*)yp)),
        ];
        var best = new double[dots.Length];
        Array.Fill(best, double.MaxValue);
        for (int round = 0; round < 8; round++)
            for (int c = 0; c < dots.Length; c++)
            {
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < 20000; r++) dots[c].Run();
                if (round > 0) best[c] = Math.Min(best[c], sw.Elapsed.TotalSeconds);
            }
        for (int c = 0; c < dots.Length; c++)
            Console.WriteLine($"Q8_0 {dots[c].Name,-12} 1 row x 4 tokens x {k}: {4.0 * k * 20000 / best[c] / 1e9:F1} GMAC/s");
    }

    private static (TernaryMatrix, QuantizedActivations, NativeBuffer<byte>) Setup(KernelSet kernels, TernaryLayout layout, int k, int n, int tokens)
    {
        var format = layout switch { TernaryLayout.I2S => TensorFormats.I2_S, TernaryLayout.TQ2 => TensorFormats.TQ2_0, _ => TensorFormats.TQ1_0 };
        var rng = new Random(1);
        var values = new float[(long)k * n];
        for (int i = 0; i < values.Length; i++) values[i] = (rng.Next(3) - 1) * 0.5f;
        var bytes = ReferenceQuantizer.Quantize(format.Type, values, k);
        var weights = new NativeBuffer<byte>(bytes.Length);
        bytes.CopyTo(new Span<byte>(weights.Pointer, bytes.Length));
        var matrix = new TernaryMatrix("rates", layout, weights.Pointer, k, n, layout == TernaryLayout.I2S ? 0.5f : 1f);
        var act = new QuantizedActivations(tokens, k);
        var x = new float[tokens * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
        fixed (float* xp = x) act.Quantize(kernels, xp, tokens, k, k);
        return (matrix, act, weights);
    }

    private static double Time(KernelSet kernels, TernaryLayout layout, int k, int n, int tokens)
    {
        var format = layout switch { TernaryLayout.I2S => TensorFormats.I2_S, TernaryLayout.TQ2 => TensorFormats.TQ2_0, _ => TensorFormats.TQ1_0 };
        var rng = new Random(1);
        var values = new float[(long)k * n];
        for (int i = 0; i < values.Length; i++) values[i] = (rng.Next(3) - 1) * 0.5f;
        var bytes = ReferenceQuantizer.Quantize(format.Type, values, k);
        using var weights = new NativeBuffer<byte>(bytes.Length);
        bytes.CopyTo(new Span<byte>(weights.Pointer, bytes.Length));
        using var matrix = new TernaryMatrix("rates", layout, weights.Pointer, k, n, layout == TernaryLayout.I2S ? 0.5f : 1f);
        using var act = new QuantizedActivations(tokens, k);
        var x = new float[tokens * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
        fixed (float* xp = x) act.Quantize(kernels, xp, tokens, k, k);
        var y = new float[tokens * n];
        fixed (float* yp = y)
        {
            kernels.TernaryMatMul(matrix, act, yp, n, 0, n);
            int reps = 0;
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 400 || reps < 3)
            {
                kernels.TernaryMatMul(matrix, act, yp, n, 0, n);
                reps++;
            }
            return sw.Elapsed.TotalMilliseconds / reps;
        }
    }
}
