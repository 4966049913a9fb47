using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.IO;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet bench --model M.gguf [-p 512] [-n 128] [-d 0] [-t 2] [--batch 1,4,8] [-r 5] [--head q8_0] [--kv-type f16] [--no-huge-pages] [--json] [--profile]`:
/// prefill and decode throughput (median and spread of r runs after a warm-up), the memory-bandwidth limit from a
/// built-in probe, and the fraction of it single-sequence decode reaches. <c>-d</c> decodes after that many positions
/// of context (llama-bench's <c>--n-depth</c>), which is where the KV cache type shows.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<int>("-p", "--n-prompt") { Description = "Prompt tokens processed as one batch (0 = skip prefill)", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("-n", "--n-gen") { Description = "Tokens generated per sequence", DefaultValueFactory = _ => 128 };
        var depth = new Option<int>("-d", "--n-depth")
        {
            Description = "Positions already in the KV cache when decode starts (synthetic keys and values): decode speed at a long context",
            DefaultValueFactory = _ => 0,
        };
        var threads = CommonOptions.Threads();
        var batch = new Option<string>("--batch") { Description = "Concurrent sequences to decode, comma-separated", DefaultValueFactory = _ => "1" };
        var reps = new Option<int>("-r", "--repetitions") { Description = "Measured runs per test (after one warm-up)", DefaultValueFactory = _ => 5 };
        var head = new Option<string>("--head") { Description = "LM head storage: native or q8_0 (requantized at load)", DefaultValueFactory = _ => "native" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (for scripts)" };
        var profile = new Option<bool>("--profile") { Description = "Print where single-sequence decode time goes" };
        var scaling = new Option<bool>("--scaling") { Description = "Also run prefill and batch-1 decode on one thread and print the parallel efficiency" };
        var noHugePages = new Option<bool>("--no-huge-pages") { Description = "Map the model file (4 KB pages) instead of reading it into transparent huge pages" };
        var kernels = CommonOptions.Kernels();
        var kvType = CommonOptions.KvType();
        var cmd = new Command("bench", "Measure prefill and decode speed against the memory-bandwidth limit")
            { model, prompt, gen, depth, threads, batch, reps, head, json, profile, scaling, noHugePages, kernels, kvType };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(model)!, r.GetValue(prompt), r.GetValue(gen), r.GetValue(depth), r.GetValue(threads),
            r.GetValue(batch)!, r.GetValue(reps), r.GetValue(head)!, r.GetValue(json), r.GetValue(profile), r.GetValue(kernels), r.GetValue(kvType)!,
            r.GetValue(scaling), !r.GetValue(noHugePages))));
        return cmd;
    }

    private static int Run(string modelPath, int p, int n, int depth, int threads, string batchList, int reps, string head, bool json, bool profile,
        string? kernels, string kvType, bool scaling = false, bool hugePages = true)
    {
        if (p < 0 || n < 1 || reps < 1 || depth < 0) throw new CliException("-p and -d must be >= 0, -n and -r >= 1");
        var batches = CommonOptions.ParseTokenList(batchList);
        if (batches.Any(b => b < 1 || b > 256)) throw new CliException("--batch sizes must be 1..256");
        var log = json ? TextWriter.Null : Console.Error;
        var sw = Stopwatch.StartNew();
        using var model = BitNetModel.Load(modelPath, new ModelLoadOptions
        {
            Head = ModelLoadOptions.ParseHead(head), Kernels = CommonOptions.ParseKernels(kernels), HugePages = hugePages,
        });
        double loadSeconds = sw.Elapsed.TotalSeconds;
        (p, n, string? fitted) = BenchLengths.Fit(p, n, model.Config.Context);
        if (fitted is not null) Console.Error.WriteLine(fitted);
        (depth, string? depthNote) = BenchLengths.FitDepth(depth, n, model.Config.Context);
        if (depthNote is not null) Console.Error.WriteLine(depthNote);
        using var pool = new WorkerPool(CommonOptions.CheckThreads(threads));
        log.WriteLine($"model {Path.GetFileName(modelPath)}: {model.Config.Architecture}, {model.WeightBytesPerToken / 1e6:F1} MB of weights per token " +
            $"(head {model.Weights.Head.FormatName}), loaded in {loadSeconds:F2} s; {pool.ThreadCount} threads, {model.Weights.Kernels.Name} kernels");
        log.WriteLine(model.InHugePages
            ? $"weights read into transparent huge pages ({(HugePages.ProcessAnonymousHugeBytes() ?? 0) / 1e6:F0} MB of the process in 2 MB pages)"
            : "weights mapped from the file (4 KB pages)");

        double bandwidth = MemoryBandwidthProbe.MeasureGBs(pool);
        ResetPeakRss(); // the probe's buffer is not the engine's memory
        log.WriteLine($"memory read bandwidth: {bandwidth:F1} GB/s");
        var kv = CommonOptions.ParseKvType(kvType);
        log.WriteLine($"KV cache {kv}: {KvCachePool.BytesFor(model.Config, 1, 1, kv) / 1e3:F1} KB per position per sequence" +
            (depth > 0 ? $"; decode starts at position {depth}" : ""));
        var bench = new EngineBenchmark(model, pool, kv);
        PrefillResult? prefill = null;
        if (p > 0)
        {
            var pf = profile ? new ForwardProfile() : null;
            prefill = bench.Prefill(p, reps, pf);
            log.WriteLine($"prefill pp{p}: {prefill.MedianTokS:F1} tok/s (min {prefill.MinTokS:F1}, max {prefill.MaxTokS:F1}); {Cost(prefill.CpuSecondsPerToken, prefill.JoulesPerToken)} per token");
            if (pf is not null)
                foreach (var (stage, time) in pf.Entries())
                    log.WriteLine($"    {stage,-16} {time.TotalMilliseconds / ((double)p * reps),8:F3} ms/token {100 * time / pf.Total,5:F1}%");
        }
        var decode = new List<DecodeResult>();
        foreach (int b in batches)
        {
            var fp = profile ? new ForwardProfile() : null;
            var d = bench.Decode(b, n, reps, fp, depth);
            decode.Add(d);
            log.WriteLine($"decode tg{n}{(depth > 0 ? $" @ d{depth}" : "")} batch {b}: {d.MedianTokS:F1} tok/s aggregate (min {d.MinTokS:F1}, max {d.MaxTokS:F1}); {Cost(d.CpuSecondsPerToken, d.JoulesPerToken)} per token");
            if (fp is not null)
            {
                double steps = (double)n * reps; // per forward pass (one token of every sequence)
                foreach (var (stage, time) in fp.Entries())
                    log.WriteLine($"    {stage,-16} {time.TotalMilliseconds / steps,8:F3} ms/step {100 * time / fp.Total,5:F1}%");
            }
        }
        if (bench.EnergyStatus.StartsWith("not", StringComparison.Ordinal)) log.WriteLine($"energy per token: {bench.EnergyStatus}");
        double peakRss = PeakRssMb();
        // A shared host's bandwidth moves between minutes (one VM read 43-85 GB/s in an hour), so one probe before the
        // runs can catch a slow moment and put decode above 100% of its "limit". The probe runs again after them; the
        // limit is the higher reading, so the fraction errs low.
        double before = bandwidth;
        if (decode.Count > 0)
        {
            double after = MemoryBandwidthProbe.MeasureGBs(pool);
            bandwidth = Math.Max(before, after);
            log.WriteLine($"memory read bandwidth after the runs: {after:F1} GB/s (the limit below uses {bandwidth:F1})");
        }
        (double? prefill1, double? decode1) = (null, null);
        if (scaling && pool.ThreadCount > 1)
        {
            // The same work on one thread: efficiency = rate(N) / (N * rate(1)); 100% means no serial stage and no imbalance.
            using var one = new WorkerPool(1);
            var single1 = new EngineBenchmark(model, one, kv);
            if (prefill is not null) prefill1 = single1.Prefill(p, reps).MedianTokS;
            if (decode.FirstOrDefault(d => d.Batch == 1) is { } d1) decode1 = single1.Decode(1, n, reps, null, depth).MedianTokS;
            log.WriteLine($"parallel efficiency, {pool.ThreadCount} threads vs 1:" +
                (prefill1 is { } a ? $" prefill {a:F1} -> {prefill!.MedianTokS:F1} tok/s = {100 * prefill.MedianTokS / (pool.ThreadCount * a):F0}%;" : "") +
                (decode1 is { } c ? $" decode batch 1 {c:F1} -> {decode.First(d => d.Batch == 1).MedianTokS:F1} tok/s = {100 * decode.First(d => d.Batch == 1).MedianTokS / (pool.ThreadCount * c):F0}%" : ""));
        }
        // Decode reads every weight once per step, plus the KV cache (the depth and on average half the generated tokens).
        long kvBytes = KvCachePool.BytesFor(model.Config, 1, depth + n / 2, kv);
        long bytesPerToken = model.WeightBytesPerToken + kvBytes;
        double single = decode.FirstOrDefault(d => d.Batch == 1)?.MedianTokS ?? 0;
        double fraction = bandwidth > 0 ? single * bytesPerToken / (bandwidth * 1e9) : 0;
        // Without a batch-1 run there is no fraction to report (a batch-8-only run printed "reaches 0%").
        string reach = decode.Any(d => d.Batch == 1) ? $"batch-1 decode reaches {100 * fraction:F0}%; " : "";
        log.WriteLine($"bandwidth limit: {bandwidth * 1e9 / bytesPerToken:F1} tok/s at {bytesPerToken / 1e6:F1} MB/token; " +
            $"{reach}peak RSS {peakRss:F0} MB");

        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = false });
            w.WriteStartObject();
            w.WriteString("model", Path.GetFileName(modelPath));
            w.WriteNumber("threads", pool.ThreadCount);
            w.WriteString("kernels", model.Weights.Kernels.Name);
            w.WriteString("head", model.Weights.Head.FormatName);
            w.WriteBoolean("huge_pages", model.InHugePages);
            w.WriteString("kv_type", kv.ToString().ToLowerInvariant());
            w.WriteNumber("depth", depth);
            if (prefill is not null)
            {
                w.WriteStartObject("prefill");
                w.WriteNumber("tokens", prefill.Tokens);
                w.WriteNumber("tok_s", Math.Round(prefill.MedianTokS, 2));
                w.WriteNumber("min_tok_s", Math.Round(prefill.MinTokS, 2));
                w.WriteNumber("max_tok_s", Math.Round(prefill.MaxTokS, 2));
                WriteCost(w, prefill.CpuSecondsPerToken, prefill.JoulesPerToken);
                if (prefill1 is { } a) w.WriteNumber("one_thread_tok_s", Math.Round(a, 2));
                w.WriteEndObject();
            }
            w.WriteStartArray("decode");
            foreach (var d in decode)
            {
                w.WriteStartObject();
                w.WriteNumber("batch", d.Batch);
                w.WriteNumber("tokens", n);
                w.WriteNumber("tok_s", Math.Round(d.MedianTokS, 2));
                w.WriteNumber("min_tok_s", Math.Round(d.MinTokS, 2));
                w.WriteNumber("max_tok_s", Math.Round(d.MaxTokS, 2));
                WriteCost(w, d.CpuSecondsPerToken, d.JoulesPerToken);
                if (d.Batch == 1 && decode1 is { } c) w.WriteNumber("one_thread_tok_s", Math.Round(c, 2));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("bytes_per_token", bytesPerToken);
            w.WriteNumber("bandwidth_gb_s", Math.Round(bandwidth, 2));
            w.WriteNumber("bandwidth_gb_s_before_runs", Math.Round(before, 2));
            w.WriteNumber("bandwidth_fraction", Math.Round(fraction, 3));
            w.WriteNumber("peak_rss_mb", Math.Round(peakRss, 1));
            w.WriteNumber("load_s", Math.Round(loadSeconds, 3));
            w.WriteEndObject();
            w.Flush();
            stdout.WriteByte((byte)'\n');
        }
        return 0;
    }

    private static string Cost(double cpuSeconds, double? joules) =>
        $"{cpuSeconds * 1000:F1} ms CPU" + (joules is { } j ? $", {j:F2} J" : "");

    private static void WriteCost(Utf8JsonWriter w, double cpuSeconds, double? joules)
    {
        w.WriteNumber("cpu_s_per_token", Math.Round(cpuSeconds, 6));
        if (joules is { } j) w.WriteNumber("joules_per_token", Math.Round(j, 4));
        else w.WriteNull("joules_per_token");
    }

    /// <summary>Restarts the peak-RSS counter (Linux: writing 5 to /proc/self/clear_refs); elsewhere a no-op.</summary>
    private static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Peak resident set (Linux VmHWM; elsewhere the process's peak working set).</summary>
    public static double PeakRssMb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }
}
