using System.Text;
using System.Text.Json;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Tokenization;
using Json.Schema;

namespace BitNet.Runtime.Tests.Grammar;

[CollectionDefinition(Name)]
public sealed class GrammarCollection : ICollectionFixture<GrammarFixture>
{
    public const string Name = "Grammar";
}

/// <summary>The test vocabularies, loaded once: the bundled SentencePiece model, the tiny byte-BPE model, Llama-3.</summary>
public sealed class GrammarFixture
{
    private readonly Lazy<TextTokenizer> _stories = new(() => Load("models/stories3m-b158-i2_s.gguf"));
    private readonly Lazy<TextTokenizer> _tiny = new(() => Load("reference/tiny-random/tiny-b158-i2_s.gguf"));
    private readonly Lazy<TextTokenizer> _llama3 = new(() => Load("tokenizers/llama3/llama3-vocab.gguf"));

    public TextTokenizer Stories => _stories.Value;

    public TextTokenizer Tiny => _tiny.Value;

    public TextTokenizer Llama3 => _llama3.Value;

    public TextTokenizer Get(string name) => name switch
    {
        "stories" => Stories,
        "tiny" => Tiny,
        "llama3" => Llama3,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static TextTokenizer Load(string relative)
    {
        using var file = GgufFile.Open(TestPaths.SharedFile(relative.Split('/')));
        return TextTokenizer.FromGguf(file.Metadata);
    }
}

/// <summary>Constrained random generation and independent validation, shared by the grammar tests.</summary>
internal static class GrammarTesting
{
    /// <summary>The outcome of one constrained generation.</summary>
    public sealed record Generated(string Text, byte[] Bytes, List<int> Tokens, bool Finished);

    /// <summary>
    /// Picks uniformly among the allowed tokens ("temperature infinity") until end-of-generation or the budget is
    /// spent. Asserts on the way that every chosen token is accepted and the bytes stay a valid prefix.
    /// </summary>
    public static Generated Generate(JsonGrammar grammar, TokenVocabulary vocabulary, Random random, int budget = 400, Func<int, bool>? prefer = null,
        string? forcedPrefix = null)
    {
        var constraint = grammar.Start(vocabulary);
        var mask = new ulong[vocabulary.MaskLength];
        var bytes = new List<byte>();
        if (forcedPrefix is not null)
        {
            // Text the caller writes itself (e.g. a tool-call marker), then generation goes on from there.
            Assert.True(constraint.AcceptBytes(Encoding.UTF8.GetBytes(forcedPrefix)), forcedPrefix);
            bytes.AddRange(Encoding.UTF8.GetBytes(forcedPrefix));
        }
        var tokens = new List<int>();
        var candidates = new List<int>();
        for (int step = 0; step < budget && !constraint.IsFinished; step++)
        {
            int count = constraint.ComputeMask(mask, budget - step);
            Assert.True(count > 0, $"no token allowed after '{Encoding.UTF8.GetString([.. bytes])}'");
            candidates.Clear();
            for (int id = 0; id < vocabulary.VocabSize; id++)
                if (TokenMask.IsAllowed(mask, id)) candidates.Add(id);
            Assert.Equal(count, candidates.Count);
            if (constraint.MustEnd) Assert.All(candidates, id => Assert.Contains(id, vocabulary.EndOfGenerationIds));
            int token = candidates[random.Next(candidates.Count)];
            if (prefer is not null)
            {
                // Biased sampling (e.g. toward closing tokens) to reach complete values in bounded time.
                for (int tries = 0; tries < 4 && !prefer(token); tries++) token = candidates[random.Next(candidates.Count)];
            }
            Assert.True(constraint.Accept(token), $"allowed token {token} was refused");
            if (vocabulary.EndOfGenerationIds.Contains(token)) break;
            tokens.Add(token);
            bytes.AddRange(vocabulary.TokenBytes(token).ToArray());
            Assert.True(grammar.IsPrefix([.. bytes]), $"'{Encoding.UTF8.GetString([.. bytes])}' is no longer a valid prefix");
        }
        byte[] all = [.. bytes];
        return new Generated(Encoding.UTF8.GetString(all), all, tokens, constraint.IsFinished || constraint.IsComplete);
    }

    /// <summary>Parses with System.Text.Json (strict UTF-8) and validates with JsonSchema.Net, formats asserted.</summary>
    public static void AssertValid(string schemaJson, byte[] utf8, bool assertFormats = true)
    {
        string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(utf8);
        using var document = JsonDocument.Parse(utf8);
        var schema = JsonSchema.FromText(schemaJson);
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = assertFormats });
        if (!result.IsValid)
        {
            var errors = new StringBuilder();
            foreach (var detail in result.Details ?? [])
                if (detail.Errors is { } e) foreach (var (key, message) in e) errors.Append($"{detail.InstanceLocation} {key}: {message}; ");
            Assert.Fail($"schema validation failed for {text}: {errors}");
        }
    }

    /// <summary>A token preference that favours tokens closing structures, so random values end sooner.</summary>
    public static Func<int, bool> Closing(TokenVocabulary vocabulary) => id =>
    {
        var bytes = vocabulary.TokenBytes(id);
        return bytes.IndexOfAny("\"}],"u8) >= 0 || vocabulary.EndOfGenerationIds.Contains(id);
    };
}
