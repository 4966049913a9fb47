using System.Diagnostics;
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
/// The decode loop the text commands share: sample a token, stream the characters it completes (never half a UTF-8
/// character, never any part of a stop string), feed it, repeat until an end-of-generation token, a stop string, the
/// token limit, a full context or cancellation.
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
    /// <paramref name="output"/> through <paramref name="detokenizer"/>. <paramref name="excludedAtStart"/> (a chat
    /// answer's <see cref="TextTokenizer.AnswerStartExclusions"/>) are never sampled before the first visible character.
    /// </summary>
    public GenerationResult Generate(float[] logits, Sampler sampler, int maxTokens, StreamingDetokenizer detokenizer,
        TextWriter output, CancellationToken cancellation = default, IReadOnlyList<int>? excludedAtStart = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(detokenizer);
        ArgumentNullException.ThrowIfNull(output);
        if (_session.Position == 0) throw new InvalidOperationException("feed a prompt before generating");

        var matcher = new StopStringMatcher(_stopStrings);
        var tokens = new List<int>(maxTokens > 0 ? Math.Min(maxTokens, 4096) : 256);
        var text = new System.Text.StringBuilder();
        int fed = 0;
        GenerationStop stop = GenerationStop.TokenLimit;
        var watch = Stopwatch.StartNew();

        while (maxTokens < 0 || tokens.Count < maxTokens)
        {
            if (cancellation.IsCancellationRequested)
            {
                stop = GenerationStop.Cancelled;
                break;
            }
            if (excludedAtStart is not null && !HasVisibleText(text))
                foreach (int id in excludedAtStart) logits[id] = float.NegativeInfinity;
            int token = sampler.Sample(logits);
            sampler.Accept(token);
            tokens.Add(token);
            if (Array.IndexOf(_stopTokens, token) >= 0)
            {
                stop = GenerationStop.EndOfGeneration;
                break;
            }
            if (Emit(matcher.Push(detokenizer.Append(token)), output, text))
            {
                stop = GenerationStop.StopString;
                break;
            }
            if (maxTokens >= 0 && tokens.Count == maxTokens) break; // no need to feed a token nothing will follow
            if (_session.Position == _session.ContextLength)
            {
                stop = GenerationStop.ContextFull;
                break;
            }
            logits = _session.Feed([token]);
            fed++;
        }

        if (stop != GenerationStop.StopString)
        {
            // An unfinished UTF-8 character becomes U+FFFD, as Decode would show it; held-back text that never
            // completed a stop string is ordinary text.
            if (!Emit(matcher.Push(detokenizer.Flush()), output, text)) Emit(new StopStringResult(matcher.Flush(), false), output, text);
            else stop = GenerationStop.StopString;
        }
        return new GenerationResult(tokens, fed, text.ToString(), stop, watch.Elapsed);
    }

    private static bool HasVisibleText(System.Text.StringBuilder text)
    {
        foreach (var chunk in text.GetChunks())
            foreach (char c in chunk.Span)
                if (!char.IsWhiteSpace(c)) return true;
        return false;
    }

    /// <summary>Writes the safe text; true when a stop string completed.</summary>
    private static bool Emit(StopStringResult result, TextWriter output, System.Text.StringBuilder text)
    {
        if (result.Text.Length > 0)
        {
            output.Write(result.Text);
            text.Append(result.Text);
        }
        return result.Stopped;
    }
}
