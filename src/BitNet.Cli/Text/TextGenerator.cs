using System.Diagnostics;
using BitNet.Runtime.Decoding;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Tokenization;

namespace BitNet.Cli.Text;

/// <summary>Why a generation ended.</summary>
public enum GenerationStop
{
    /// <summary>The model produced an end-of-generation token (EOS, end of turn).</summary>
    EndOfGeneration,

    /// <summary>The requested number of tokens was generated.</summary>
    TokenLimit,

    /// <summary>The context is full: the last token could not be fed.</summary>
    ContextFull,

    /// <summary>The text reached a stop string.</summary>
    StopString,

    /// <summary>The caller cancelled (Ctrl-C in chat).</summary>
    Cancelled,

    /// <summary>The structured value (--json, --schema) is complete.</summary>
    ValueComplete,
}

/// <summary>What one <see cref="TextGenerator.Generate"/> produced.</summary>
/// <param name="Tokens">Every sampled token in order, the end-of-generation token included when it ended the run.</param>
/// <param name="FedCount">How many of <paramref name="Tokens"/> (a prefix) were fed to the session: the rest are not in its cache.</param>
/// <param name="Text">The text written to the output: the decoded tokens, cut before a stop string.</param>
/// <param name="Stop">Why generation ended.</param>
/// <param name="Elapsed">Time spent sampling and feeding.</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, int FedCount, string Text, GenerationStop Stop, TimeSpan Elapsed)
{
    /// <summary>Generated tokens without the end-of-generation token, counted as the server's usage counts them.</summary>
    public int CompletionTokens => Stop == GenerationStop.EndOfGeneration ? Tokens.Count - 1 : Tokens.Count;
}

/// <summary>
/// The CLI's decode loop around the runtime's one decoding path (<see cref="TokenDecoder"/>, which the server's engine
/// drives too): the decoder samples and applies the rules (end-of-generation, stop strings, limit, context, a chat
/// answer's start, a grammar); this loop streams the text it releases and feeds the session until the decoder ends the
/// sequence or the caller cancels.
/// </summary>
public sealed class TextGenerator
{
    private readonly ModelSession _session;
    private readonly TextTokenizer _tokenizer;
    private readonly int[] _stopTokens;
    private readonly IReadOnlyList<string> _stopStrings;

    /// <summary>
    /// Creates a generator over <paramref name="session"/>. Generation ends at the tokenizer's end-of-generation ids,
    /// at <paramref name="extraStopTokens"/> (e.g. a chat format's end-of-turn token) and at <paramref name="stopStrings"/>.
    /// </summary>
    public TextGenerator(ModelSession session, TextTokenizer tokenizer, IReadOnlyList<int>? extraStopTokens, IReadOnlyList<string>? stopStrings)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _session = session;
        _tokenizer = tokenizer;
        var stops = new List<int>(tokenizer.EndOfGenerationIds);
        if (extraStopTokens is not null)
            foreach (int id in extraStopTokens)
                if (!stops.Contains(id)) stops.Add(id);
        _stopTokens = stops.ToArray();
        _stopStrings = stopStrings ?? [];
        _ = new StopStringMatcher(_stopStrings); // validates them now rather than on the first generation
    }

    /// <summary>Token ids that end generation.</summary>
    public IReadOnlyList<int> StopTokens => _stopTokens;

    /// <summary>
    /// Generates from <paramref name="logits"/> (the session's output for its last fed token) at most
    /// <paramref name="maxTokens"/> tokens (negative = until something else stops it), writing text to
    /// <paramref name="output"/> through <paramref name="detokenizer"/>. <paramref name="excludedAtStart"/> makes it a
    /// chat answer: its leading whitespace is dropped and those tokens (<see cref="TextTokenizer.AnswerStartExclusions"/>)
    /// are never sampled before the first visible character. <paramref name="grammar"/> constrains the text to its values.
    /// </summary>
    public GenerationResult Generate(float[] logits, Sampler sampler, int maxTokens, StreamingDetokenizer detokenizer,
        TextWriter output, CancellationToken cancellation = default, IReadOnlyList<int>? excludedAtStart = null, JsonGrammar? grammar = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(detokenizer);
        ArgumentNullException.ThrowIfNull(output);
        if (_session.Position == 0) throw new InvalidOperationException("feed a prompt before generating");

        var rules = new DecodingRules
        {
            StopTokens = _stopTokens,
            StopStrings = _stopStrings,
            MaxTokens = maxTokens < 0 ? DecodingRules.Unlimited : maxTokens,
            ChatAnswer = excludedAtStart is not null,
            AnswerStartExclusions = excludedAtStart ?? [],
            Grammar = grammar,
        };
        var decoder = new TokenDecoder(rules, sampler, detokenizer, grammar is null ? null : TokenVocabulary.For(_tokenizer));
        var tokens = new List<int>(maxTokens > 0 ? Math.Min(maxTokens, 4096) : 256);
        var text = new System.Text.StringBuilder();
        int fed = 0;
        GenerationStop stop = GenerationStop.TokenLimit;
        var watch = Stopwatch.StartNew();

        while (true)
        {
            if (maxTokens == 0) break;
            if (cancellation.IsCancellationRequested)
            {
                stop = GenerationStop.Cancelled;
                break;
            }
            var step = decoder.Next(logits, _session.ContextLength - _session.Position);
            if (step.Token >= 0) tokens.Add(step.Token);
            Write(step.Text, output, text);
            if (step.Ended)
            {
                stop = StopOf(step.Outcome);
                break;
            }
            logits = _session.Feed([step.Token]);
            fed++;
        }

        // An unfinished UTF-8 character becomes U+FFFD, as Decode would show it; held-back text that never completed a
        // stop string is ordinary text (or completes one now).
        bool stoppedBefore = decoder.StoppedByString;
        Write(decoder.Flush(), output, text);
        if (!stoppedBefore && decoder.StoppedByString) stop = GenerationStop.StopString;
        return new GenerationResult(tokens, fed, text.ToString(), stop, watch.Elapsed);
    }

    private static GenerationStop StopOf(DecodeOutcome outcome) => outcome switch
    {
        DecodeOutcome.EndOfGeneration => GenerationStop.EndOfGeneration,
        DecodeOutcome.ValueComplete => GenerationStop.ValueComplete,
        DecodeOutcome.StopString => GenerationStop.StopString,
        DecodeOutcome.ContextFull => GenerationStop.ContextFull,
        _ => GenerationStop.TokenLimit,
    };

    private static void Write(string piece, TextWriter output, System.Text.StringBuilder text)
    {
        if (piece.Length == 0) return;
        output.Write(piece);
        text.Append(piece);
    }
}
