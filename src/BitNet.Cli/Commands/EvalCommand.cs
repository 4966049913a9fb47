using System.CommandLine;
using System.Text.Json;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet eval --model M --tokens 1,403,407 [--top K]`: the logits after each given token, as JSON
/// <c>{"tokens":[...], "logits":[[...], ...]}</c> (or top-K <c>{"id", "logit"}</c> pairs per position).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var tokens = CommonOptions.Tokens(required: true);
        var top = new Option<int>("--top") { Description = "Print only the K largest logits per position" };
        var threads = CommonOptions.Threads();
        var chunk = new Option<int>("--chunk") { Description = "Prompt chunk size", DefaultValueFactory = _ => 64 };
        var kernels = CommonOptions.Kernels();
        var cmd = new Command("eval", "Print the logits after each of the given tokens (teacher forcing)") { model, tokens, top, threads, chunk, kernels };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(model)!, r.GetValue(tokens)!, r.GetValue(top),
            r.GetValue(threads), r.GetValue(chunk), r.GetValue(kernels))));
        return cmd;
    }

    private static int Run(string modelPath, string tokenList, int top, int threads, int chunk, string? kernels)
    {
        var ids = CommonOptions.ParseTokenList(tokenList);
        if (top < 0) throw new CliException("--top must be >= 0");
        if (chunk < 1) throw new CliException("--chunk must be >= 1");
        using var model = BitNetModel.Load(modelPath, new ModelLoadOptions { Kernels = CommonOptions.ParseKernels(kernels), Progress = CliProgress.Stderr });
        using var pool = new WorkerPool(CommonOptions.CheckThreads(threads));
        using var session = new ModelSession(model, pool, maxChunk: chunk);
        if (ids.Length > session.ContextLength)
            throw new CliException($"{ids.Length} tokens exceed the model's context of {session.ContextLength}");
        var logits = session.Feed(ids, allLogits: true);
        int vocab = model.Config.Vocab;

        using var stdout = Console.OpenStandardOutput();
        using var json = new Utf8JsonWriter(stdout);
        json.WriteStartObject();
        json.WriteStartArray("tokens");
        foreach (var t in ids) json.WriteNumberValue(t);
        json.WriteEndArray();
        json.WriteStartArray("logits");
        for (int i = 0; i < ids.Length; i++)
        {
            var row = logits.AsSpan(i * vocab, vocab);
            json.WriteStartArray();
            if (top > 0)
            {
                foreach (int id in TopK(row, Math.Min(top, vocab)))
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", id);
                    json.WriteNumber("logit", row[id]);
                    json.WriteEndObject();
                }
            }
            else
            {
                foreach (var v in row) json.WriteNumberValue(v);
            }
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        stdout.WriteByte((byte)'\n');
        return 0;
    }

    private static int[] TopK(ReadOnlySpan<float> row, int k)
    {
        var ids = new int[row.Length];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        var keys = row.ToArray();
        Array.Sort(keys, ids, Comparer<float>.Create((a, b) => b.CompareTo(a)));
        return ids[..k];
    }
}
