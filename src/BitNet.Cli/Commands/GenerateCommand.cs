using System.CommandLine;
using System.Diagnostics;
using BitNet.Cli.Text;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet generate`, two modes:
/// <list type="bullet">
/// <item>`--tokens 1,403 -n 64 --temp 0`: greedy continuation of token ids printed as JSON <c>{"tokens":[...]}</c>
/// (exactly n tokens, no stop); scripts and tests compare it with reference implementations.</item>
/// <item>`--prompt "Once upon a time"`: tokenizes the text, streams the prompt and its sampled continuation to stdout
/// until an end-of-generation token, -n, the context or a --stop string.</item>
/// </list>
/// Speed (and the --profile breakdown) goes to stderr.
/// </summary>
public static class GenerateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var tokens = CommonOptions.Tokens(required: false);
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text (special-token texts such as <|eot_id|> are recognized)" };
        var count = new Option<int>("-n", "--n-predict")
        {
            Description = "Tokens to generate (with --prompt: at most; -1 = until the end of text or the context)",
            DefaultValueFactory = _ => 64,
        };
        var sampling = new SamplingOptions();
        var noPrompt = new Option<bool>("--no-display-prompt") { Description = "With --prompt: print only the generated text" };
        var threads = CommonOptions.Threads();
        var ctx = new Option<int>("--ctx-size", "-c") { Description = "Context length (default: the model's)" };
        var profile = new Option<bool>("--profile") { Description = "Print where decode time goes, per step kind" };
        var json = new Option<bool>("--json") { Description = "With --prompt: the continuation is one JSON object (grammar-constrained)" };
        var schema = new Option<string>("--schema") { Description = "With --prompt: the continuation is a JSON value valid under this JSON Schema file" };
        var cmd = new Command("generate", "Continue a prompt (token ids as JSON, or text streamed)")
        {
            model, tokens, prompt, count, noPrompt, threads, ctx, profile, json, schema,
        };
        sampling.AddTo(cmd);
        cmd.SetAction(r => CliRunner.Run(() =>
        {
            string? tokenList = r.GetValue(tokens), text = r.GetValue(prompt);
            if (tokenList is not null && text is not null) throw new CliException("--tokens and --prompt are mutually exclusive");
            if (tokenList is null && text is null) throw new CliException("give a prompt: --prompt TEXT or --tokens IDS");
            int n = r.GetValue(count), threadCount = r.GetValue(threads), context = r.GetValue(ctx);
            if (context < 0) throw new CliException("--ctx-size must be >= 0 (0 = the model's)");
            if (tokenList is not null)
            {
                if (sampling.FirstGiven(r, exceptTemperature: true) is { } flag)
                    throw new CliException($"{flag} needs --prompt (--tokens decodes greedily)");
                if (r.GetResult(noPrompt) is { Implicit: false }) throw new CliException("--no-display-prompt needs --prompt");
                if (r.GetValue(json) || r.GetValue(schema) is not null) throw new CliException("--json and --schema need --prompt");
                float temp = r.GetValue(sampling.Temperature) ?? 0f;
                return RunTokens(r.GetValue(model)!, tokenList, n, temp, threadCount, context, r.GetValue(profile));
            }
            var grammar = Grammar(r.GetValue(json), r.GetValue(schema));
            return RunPrompt(r.GetValue(model)!, text!, n, sampling, r, !r.GetValue(noPrompt), threadCount, context, r.GetValue(profile), grammar);
        }));
        return cmd;
    }

    private static int RunTokens(string modelPath, string tokenList, int n, float temp, int threads, int ctx, bool profile)
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

        // Through Console.Out (not the raw stdout stream) so in-process callers that redirect it see the JSON.
        TokenJson.WriteLine(Console.Out, generated);
        Console.Error.WriteLine(
            $"prefill: {prompt.Length} tokens in {prefillMs:F1} ms ({prompt.Length * 1000 / prefillMs:F1} tok/s); " +
            $"decode: {Math.Max(0, n - 1)} tokens in {decodeMs:F1} ms ({Math.Max(0, n - 1) * 1000 / Math.Max(decodeMs, 1e-9):F2} tok/s); " +
            $"{pool.ThreadCount} threads");
        PrintProfile(session.Profile, Math.Max(1, n - 1), decodeMs);
        return 0;
    }

    private static int RunPrompt(string modelPath, string text, int n, SamplingOptions sampling, ParseResult r,
        bool displayPrompt, int threads, int ctx, bool profile, JsonGrammar? grammar)
    {
        if (n < -1) throw new CliException("-n must be >= 0, or -1 for no limit");
        var stopStrings = sampling.StopStrings(r);
        using var model = BitNetModel.Load(modelPath);
        var parameters = sampling.Build(r, model.Config.Vocab);
        var tokenizer = TextTokenizer.FromGguf(model.File.Metadata);
        var prompt = tokenizer.Encode(text, tokenizer.AddBos, parseSpecial: true);
        if (prompt.Length == 0) throw new CliException("--prompt: the prompt is empty and the vocabulary adds no BOS token");
        using var pool = new WorkerPool(CommonOptions.CheckThreads(threads));
        int context = ctx > 0 ? Math.Min(ctx, model.Config.Context) : model.Config.Context;
        if (prompt.Length >= context)
            throw new CliException($"the prompt has {prompt.Length} tokens: no room to generate in the context of {context}");
        using var session = new ModelSession(model, pool, context, maxChunk: 64);
        var sampler = new Sampler(model.Config.Vocab, parameters);
        sampler.AcceptPrompt(prompt);
        var generator = new TextGenerator(session, tokenizer, extraStopTokens: null, stopStrings);

        // The prompt goes through the same detokenizer as the continuation, so the printed text equals
        // Decode(prompt + generated) and a continuation never loses the space a SentencePiece start would strip.
        // Control tokens (the prompt's BOS) are never text, as in the server's answers.
        var detokenizer = tokenizer.CreateOutputDetokenizer(atSequenceStart: true);
        var stdout = Console.Out;
        foreach (int id in prompt)
        {
            string piece = detokenizer.Append(id);
            if (displayPrompt) stdout.Write(piece);
        }

        var sw = Stopwatch.StartNew();
        var logits = session.Feed(prompt);
        double prefillMs = sw.Elapsed.TotalMilliseconds;
        if (profile) session.Profile = new ForwardProfile();
        var result = generator.Generate(logits, sampler, n, detokenizer, stdout, grammar: grammar);
        stdout.WriteLine();

        double decodeMs = result.Elapsed.TotalMilliseconds;
        Console.Error.WriteLine(
            $"prefill: {prompt.Length} tokens in {prefillMs:F1} ms ({prompt.Length * 1000 / prefillMs:F1} tok/s); " +
            $"decode: {result.CompletionTokens} tokens in {decodeMs:F1} ms ({result.CompletionTokens * 1000 / Math.Max(decodeMs, 1e-9):F2} tok/s); " +
            $"stop: {StopName(result.Stop)}; seed {sampler.Seed}; {pool.ThreadCount} threads");
        PrintProfile(session.Profile, Math.Max(1, result.FedCount), decodeMs);
        return 0;
    }

    /// <summary>--json: any JSON object; --schema FILE: the values of that schema (compiled once, checked here).</summary>
    private static JsonGrammar? Grammar(bool json, string? schemaFile)
    {
        if (json && schemaFile is not null) throw new CliException("--json and --schema are mutually exclusive");
        if (json) return JsonGrammar.AnyJsonObject();
        if (schemaFile is null) return null;
        string text;
        try
        {
            text = File.ReadAllText(schemaFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--schema {schemaFile}: {e.Message}");
        }
        try
        {
            return JsonGrammar.FromSchema(text);
        }
        catch (SchemaNotSupportedException e)
        {
            throw new CliException($"--schema {schemaFile}: {e.Message}");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new CliException($"--schema {schemaFile}: not a usable JSON Schema ({e.Message})");
        }
    }

    internal static string StopName(GenerationStop stop) => stop switch
    {
        GenerationStop.EndOfGeneration => "end of text",
        GenerationStop.TokenLimit => "token limit",
        GenerationStop.ContextFull => "context full",
        GenerationStop.StopString => "stop string",
        GenerationStop.ValueComplete => "value complete",
        _ => "cancelled",
    };

    private static void PrintProfile(ForwardProfile? profile, int steps, double decodeMs)
    {
        if (profile is null) return;
        foreach (var (stage, time) in profile.Entries())
            Console.Error.WriteLine($"  {stage,-16} {time.TotalMilliseconds / steps,8:F3} ms/token {100 * time / profile.Total,5:F1}%");
        Console.Error.WriteLine($"  {"(outside steps)",-16} {(decodeMs - profile.Total.TotalMilliseconds) / steps,8:F3} ms/token");
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
