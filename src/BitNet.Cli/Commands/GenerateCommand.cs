using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet generate --model M --tokens 1,403 -n 64 --temp 0`: greedy continuation printed as JSON
/// <c>{"tokens":[...]}</c>; the speed goes to stderr.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var tokens = CommonOptions.Tokens(required: true);
        var count = new Option<int>("-n", "--n-predict") { Description = "Tokens to generate", DefaultValueFactory = _ => 64 };
        var temp = new Option<float>("--temp") { Description = "Sampling temperature (0 = greedy)", DefaultValueFactory = _ => 0f };
        var threads = CommonOptions.Threads();
        var ctx = new Option<int>("--ctx-size", "-c") { Description = "Context length (default: the model's)" };
        var profile = new Option<bool>("--profile") { Description = "Print where decode time goes, per step kind" };
        var cmd = new Command("generate", "Continue a prompt") { model, tokens, count, temp, threads, ctx, profile };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(model)!, r.GetValue(tokens)!, r.GetValue(count),
            r.GetValue(temp), r.GetValue(threads), r.GetValue(ctx), r.GetValue(profile))));
        return cmd;
    }

    private static int Run(string modelPath, string tokenList, int n, float temp, int threads, int ctx, bool profile)
    {
        var prompt = CommonOptions.ParseTokenList(tokenList);
        if (n < 0) throw new CliException("-n must be >= 0");
        if (temp != 0) throw new CliException("--temp: only greedy decoding (0) is available with --tokens");
        using var model = BitNetModel.Load(modelPath);
        using var pool = new WorkerPool(CommonOptions.CheckThreads(threads));
        int context = ctx > 0 ? Math.Min(ctx, model.Config.Context) : model.Config.Context;
        using var session = new ModelSession(model, pool, context, maxChunk: 64);
        if (prompt.Length + n > context)
            throw new CliException($"{prompt.Length} prompt + {n} generated tokens exceed the context of {context}");

        var sw = Stopwatch.StartNew();
        var logits = session.Feed(prompt);
        double prefillMs = sw.Elapsed.TotalMilliseconds;
        var generated = new List<int>(n);
        if (profile) session.Profile = new ForwardProfile();
        sw.Restart();
        for (int i = 0; i < n; i++)
        {
            int next = ArgMax(logits);
            generated.Add(next);
            if (i + 1 < n) logits = session.Feed([next]);
        }
        double decodeMs = sw.Elapsed.TotalMilliseconds;

        using (var stdout = Console.OpenStandardOutput())
        using (var json = new Utf8JsonWriter(stdout))
        {
            json.WriteStartObject();
            json.WriteStartArray("tokens");
            foreach (var t in generated) json.WriteNumberValue(t);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        Console.WriteLine();
        Console.Error.WriteLine(
            $"prefill: {prompt.Length} tokens in {prefillMs:F1} ms ({prompt.Length * 1000 / prefillMs:F1} tok/s); " +
            $"decode: {Math.Max(0, n - 1)} tokens in {decodeMs:F1} ms ({Math.Max(0, n - 1) * 1000 / Math.Max(decodeMs, 1e-9):F2} tok/s); " +
            $"{pool.ThreadCount} threads");
        if (session.Profile is { } p)
        {
            int steps = Math.Max(1, n - 1);
            foreach (var (stage, time) in p.Entries())
                Console.Error.WriteLine($"  {stage,-16} {time.TotalMilliseconds / steps,8:F3} ms/token {100 * time / p.Total,5:F1}%");
            Console.Error.WriteLine($"  {"(outside steps)",-16} {(decodeMs - p.Total.TotalMilliseconds) / steps,8:F3} ms/token");
        }
        return 0;
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
