using BenchmarkDotNet.Attributes;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Tokenization;

namespace BitNet.Benchmarks;

/// <summary>
/// Grammar mask time per generated token: a recorded constrained sequence under a nested schema (objects, an
/// array of objects, formats, a pattern, bounded numbers and strings) is replayed on a fresh constraint, so caches
/// start cold as they do for each request. Reported time is per token (mask + accept). Vocabularies: the bundled
/// 512-token SentencePiece model and the 128,256-token Llama-3 vocabulary from ../shared.
/// </summary>
[MemoryDiagnoser]
public class GrammarMaskBenchmarks
{
    internal const string Schema = """
        {"type":"object","properties":{
          "id":{"type":"string","format":"uuid"},
          "placed":{"type":"string","format":"date-time"},
          "customer":{"type":"object","properties":{"name":{"type":"string","maxLength":40},"email":{"type":"string","format":"email"}},
                      "required":["name","email"],"additionalProperties":false},
          "items":{"type":"array","minItems":1,"maxItems":5,"items":{"type":"object","properties":{
              "sku":{"type":"string","pattern":"^[A-Z]{3}-\\d{4}$"},
              "qty":{"type":"integer","minimum":1,"maximum":99},
              "price":{"type":"number","minimum":0,"maximum":10000},
              "note":{"type":["string","null"]}},
            "required":["sku","qty","price","note"],"additionalProperties":false}},
          "status":{"enum":["new","paid","shipped"]}},
         "required":["id","placed","customer","items","status"],"additionalProperties":false}
        """;

    private const int Steps = 200;

    [Params("stories3m-512", "llama3-128k")]
    public string Vocabulary { get; set; } = "stories3m-512";

    private TokenVocabulary _vocabulary = null!;
    private JsonGrammar _grammar = null!;
    private int[] _tokens = [];
    private ulong[] _mask = [];

    [GlobalSetup]
    public void Setup()
    {
        string file = Vocabulary == "llama3-128k" ? Path.Combine("tokenizers", "llama3", "llama3-vocab.gguf") : Path.Combine("models", "stories3m-b158-i2_s.gguf");
        using var gguf = GgufFile.Open(Path.Combine(SharedFolder(), file));
        _vocabulary = TokenVocabulary.Build(TextTokenizer.FromGguf(gguf.Metadata));
        _grammar = JsonGrammar.FromSchema(Schema);
        _mask = new ulong[_vocabulary.MaskLength];
        // Record one sequence: uniform choice among allowed tokens, with the budget closing the value by Steps.
        var random = new Random(7);
        var constraint = _grammar.Start(_vocabulary);
        var tokens = new List<int>();
        var allowed = new List<int>();
        for (int step = 0; step < Steps && !constraint.IsFinished; step++)
        {
            constraint.ComputeMask(_mask, Steps - step);
            allowed.Clear();
            for (int id = 0; id < _vocabulary.VocabSize; id++) if (TokenMask.IsAllowed(_mask, id)) allowed.Add(id);
            int token = allowed[random.Next(allowed.Count)];
            constraint.AcceptOrThrow(token);
            tokens.Add(token);
        }
        _tokens = [.. tokens];
    }

    /// <summary>Mask and accept for every token of the recorded sequence; divide by its length for per-token time.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public int MaskPerToken()
    {
        var constraint = _grammar.Start(_vocabulary);
        int total = 0;
        for (int i = 0; i < _tokens.Length; i++)
        {
            total += constraint.ComputeMask(_mask, _tokens.Length - i);
            constraint.AcceptOrThrow(_tokens[i]);
        }
        return total;
    }

    internal static string SharedFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BitNet.Server.sln"))) return Path.Combine(dir.FullName, "..", "shared");
        return Environment.GetEnvironmentVariable("BITNET_SHARED") ?? throw new DirectoryNotFoundException("../shared beside the repository not found (or set BITNET_SHARED)");
    }
}
