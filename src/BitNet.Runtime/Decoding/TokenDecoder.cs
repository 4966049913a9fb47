using BitNet.Runtime.Grammar;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Decoding;

/// <summary>
/// The one decoding path: given the logits after a sequence's last fed token, masks what may not come next (the
/// grammar within the tokens left, a chat answer's forbidden start), samples, and decides whether the sequence ends
/// (end-of-generation token, stop string, complete value, token limit, full context), releasing text through the
/// incremental detokenizer and the stop-string matcher. The server's engine and the CLI both drive it, so their
/// outputs are the same for the same logits and seed.
/// <para>
/// One instance per generated sequence, used by one thread at a time. A step allocates nothing beyond the text it
/// returns (the detokenizer's string when a character completes).
/// </para>
/// </summary>
public sealed class TokenDecoder
{
    private readonly DecodingRules _rules;
    private readonly StreamingDetokenizer _detokenizer;
    private readonly StopStringMatcher _stops;
    private readonly GrammarConstraint? _constraint;
    private readonly ulong[]? _mask;
    private bool _textStarted;

    /// <summary>
    /// A decoder for one sequence. <paramref name="sampler"/> must be fresh for it (its penalty history and random state
    /// are the sequence's); <paramref name="detokenizer"/> turns its tokens into text.
    /// </summary>
    /// <exception cref="ArgumentException">A stop string is empty, or the grammar's vocabulary does not match the sampler's.</exception>
    public TokenDecoder(DecodingRules rules, Sampler sampler, StreamingDetokenizer detokenizer, TokenVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(detokenizer);
        if (rules.MaxTokens < 0) throw new ArgumentOutOfRangeException(nameof(rules), rules.MaxTokens, "MaxTokens must be >= 0");
        _rules = rules;
        Sampler = sampler;
        _detokenizer = detokenizer;
        _stops = new StopStringMatcher(rules.StopStrings);
        _textStarted = !rules.ChatAnswer;
        if (rules.Grammar is { } grammar)
        {
            if (vocabulary is null) throw new ArgumentException("a grammar needs the token vocabulary to mask", nameof(vocabulary));
            if (vocabulary.VocabSize != sampler.VocabSize)
                throw new ArgumentException($"the grammar's vocabulary has {vocabulary.VocabSize} tokens, the sampler {sampler.VocabSize}", nameof(vocabulary));
            _constraint = grammar.Start(vocabulary);
            _mask = new ulong[vocabulary.MaskLength];
        }
    }

    /// <summary>The sequence's sampler (its last logprobs are the last sampled token's).</summary>
    public Sampler Sampler { get; }

    /// <summary>Output tokens so far (end-of-generation excluded).</summary>
    public int Generated { get; private set; }

    /// <summary>The sequence ended (a step said so, or <see cref="Flush"/> ran).</summary>
    public bool Ended { get; private set; }

    /// <summary>A stop string completed (in a step or at <see cref="Flush"/>).</summary>
    public bool StoppedByString => _stops.Stopped;

    /// <summary>The grammar's state, or null for free text.</summary>
    public GrammarConstraint? Constraint => _constraint;

    /// <summary>
    /// Samples the next token from <paramref name="logits"/> (one per vocabulary entry; overwritten by masks, bias and
    /// penalties) and applies the rules. <paramref name="contextLeft"/> is how many more tokens the sequence's cache can
    /// take (context length minus tokens already in it): at 0 the token sampled now is the last.
    /// </summary>
    /// <exception cref="InvalidOperationException">The logits have no finite maximum, or the sequence already ended.</exception>
    public DecodeStep Next(Span<float> logits, int contextLeft)
    {
        if (Ended) throw new InvalidOperationException("the sequence already ended");
        if (_constraint is { } grammar)
        {
            // Only tokens that keep the output a valid prefix, within the tokens left, so the value closes in time.
            int remaining = Math.Max(1, Math.Min(_rules.MaxTokens - Generated, contextLeft));
            if (grammar.ComputeMask(_mask, remaining) == 0) return End(-1, "", DecodeOutcome.GrammarExhausted);
            TokenMask.Apply(logits, _mask);
        }
        else if (!_textStarted)
        {
            var excluded = _rules.AnswerStartExclusions;
            for (int i = 0; i < excluded.Count; i++) logits[excluded[i]] = float.NegativeInfinity;
        }

        int token = Sampler.Sample(logits);
        // An end-of-generation token ends the sequence and is not output (nor counted), so a streamed token count always
        // equals the usage count.
        if (Contains(_rules.StopTokens, token) || (_constraint is { } c && c.EndOfGeneration(token)))
            return End(token, "", DecodeOutcome.EndOfGeneration);

        _constraint?.AcceptOrThrow(token);
        Sampler.Accept(token);
        Generated++;
        var piece = _stops.Push(StartText(_detokenizer.Append(token)));
        if (piece.Stopped) return End(token, piece.Text, DecodeOutcome.StopString);
        bool full = contextLeft <= 0;
        bool limit = Generated >= _rules.MaxTokens;
        // A structured value that is complete and cannot (or may no longer) go on has ended: that is a stop, not a cut.
        if (_constraint is { IsComplete: true } g && (g.MustEnd || full || limit)) return End(token, piece.Text, DecodeOutcome.ValueComplete);
        if (limit) return End(token, piece.Text, DecodeOutcome.TokenLimit);
        if (full) return End(token, piece.Text, DecodeOutcome.ContextFull);
        return new DecodeStep(token, piece.Text, DecodeOutcome.Continue);
    }

    /// <summary>
    /// Ends the sequence and returns the text still held back: an unfinished UTF-8 character (as U+FFFD) and text that
    /// might have begun a stop string but did not. Empty after a stop string. Safe to call more than once.
    /// </summary>
    public string Flush()
    {
        Ended = true;
        if (_stops.Stopped) return "";
        var last = _stops.Push(StartText(_detokenizer.Flush()));
        return last.Stopped ? last.Text : last.Text + _stops.Flush();
    }

    private DecodeStep End(int token, string text, DecodeOutcome outcome)
    {
        Ended = true;
        return new DecodeStep(token, text, outcome);
    }

    /// <summary>A chat answer's leading whitespace is layout after the "Assistant:" header: drop it.</summary>
    private string StartText(string text)
    {
        if (_textStarted || text.Length == 0) return text;
        string trimmed = text.TrimStart();
        _textStarted = trimmed.Length > 0;
        return trimmed;
    }

    private static bool Contains(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == value) return true;
        return false;
    }
}
