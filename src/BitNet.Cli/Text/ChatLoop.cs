using System.Diagnostics;
using System.Globalization;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Tokenization;

namespace BitNet.Cli.Text;

/// <summary>Settings of a <see cref="ChatLoop"/>.</summary>
public sealed record ChatOptions
{
    /// <summary>How answers are sampled. One sampler serves the whole conversation (until /reset).</summary>
    public required SamplingParameters Sampling { get; init; }

    /// <summary>The system message that opens every conversation; null or empty = none.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Most tokens per answer; negative = until the model ends its turn or the context is full.</summary>
    public int MaxAnswerTokens { get; init; } = DefaultAnswerTokens;

    /// <summary>
    /// Long enough for a story or a full reply, short enough that a small context keeps room for the next turns (a
    /// base model rarely ends its turn by itself and would otherwise write until the context is full).
    /// </summary>
    public const int DefaultAnswerTokens = 256;

    /// <summary>Stop strings on top of the chat format's own.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
}

/// <summary>What one turn cost and produced.</summary>
/// <param name="PromptTokens">Tokens of the rendered conversation (history + new message + assistant header).</param>
/// <param name="ReusedTokens">Leading prompt tokens already in the KV cache from earlier turns.</param>
/// <param name="FedTokens">Prompt tokens fed this turn: <paramref name="PromptTokens"/> - <paramref name="ReusedTokens"/>.</param>
/// <param name="Prefill">Time spent feeding them.</param>
/// <param name="Answer">The generated answer.</param>
public sealed record ChatTurn(int PromptTokens, int ReusedTokens, int FedTokens, TimeSpan Prefill, GenerationResult Answer);

/// <summary>
/// A multi-turn conversation with one model: reads user lines, renders the history with the model's chat format,
/// streams each answer. The KV cache lives across turns: a new prompt that extends the tokens already cached
/// (the usual case: previous prompt + answer + new message) feeds only the new tokens; anything else resets the
/// session and feeds the whole prompt. Commands: /reset clears the history, /exit (or end of input) quits.
/// One thread drives it; <see cref="CancelAnswer"/> may be called from another (the Ctrl-C handler).
/// </summary>
public sealed class ChatLoop
{
    private const string HelpText = "commands: /reset clears the conversation, /exit quits (Ctrl-C stops an answer)";

    private readonly ModelSession _session;
    private readonly TextTokenizer _tokenizer;
    private readonly ChatFormat _format;
    private readonly ChatOptions _options;
    private readonly TextGenerator _generator;
    private readonly List<ChatMessage> _history = [];
    private readonly List<int> _cached = [];        // tokens whose K/V are in the session: _cached.Count == Position
    private readonly List<ChatTurn> _turns = [];
    private Sampler _sampler;
    private CancellationTokenSource _answerCancellation = new();
    private volatile bool _answering;

    /// <summary>
    /// Creates a conversation over <paramref name="session"/> (which it resets and then owns). Stop strings of
    /// <paramref name="format"/> that are special tokens of the vocabulary stop as tokens; the others as text.
    /// </summary>
    public ChatLoop(ModelSession session, TextTokenizer tokenizer, ChatFormat format, ChatOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(options);
        _session = session;
        _tokenizer = tokenizer;
        _format = format;
        _options = options;
        var stopTokens = new List<int>();
        var stopStrings = new List<string>(options.StopStrings);
        foreach (string stop in format.StopStrings)
        {
            if (tokenizer.TryGetSpecialTokenId(stop, out int id)) stopTokens.Add(id);
            else stopStrings.Add(stop);
        }
        _generator = new TextGenerator(session, tokenizer, stopTokens, stopStrings);
        _sampler = new Sampler(session.Vocab, options.Sampling);
        _session.Reset();
        StartConversation();
    }

    /// <summary>The conversation so far, system message included.</summary>
    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>Every turn answered since the start (not cleared by /reset).</summary>
    public IReadOnlyList<ChatTurn> Turns => _turns;

    /// <summary>Tokens currently in the KV cache.</summary>
    public int CachedTokens => _cached.Count;

    /// <summary>True while an answer is being generated.</summary>
    public bool IsAnswering => _answering;

    /// <summary>Clears the history (keeping the system message), the KV cache and the sampler's penalty history.</summary>
    public void Reset()
    {
        _session.Reset();
        _cached.Clear();
        // The same seed as before: a seeded conversation replays identically after /reset.
        _sampler = new Sampler(_session.Vocab, _options.Sampling with { Seed = _sampler.Seed });
        StartConversation();
    }

    private void StartConversation()
    {
        _history.Clear();
        if (!string.IsNullOrEmpty(_options.SystemPrompt)) _history.Add(new ChatMessage("system", _options.SystemPrompt));
    }

    /// <summary>Stops the answer being generated, if any; its text so far stays in the history. Thread-safe.</summary>
    public void CancelAnswer()
    {
        if (_answering) _answerCancellation.Cancel();
    }

    /// <summary>
    /// Reads lines until /exit or the end of <paramref name="input"/>, answering each on <paramref name="output"/>
    /// (followed by a newline). <paramref name="interactive"/> writes a "> " prompt before each read; otherwise (stdin
    /// piped) each message is echoed as "> message" and its answer followed by a blank line. Per-turn statistics and
    /// notices go to <paramref name="diagnostics"/>.
    /// </summary>
    public void Run(TextReader input, TextWriter output, TextWriter diagnostics, bool interactive)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(diagnostics);
        if (interactive) diagnostics.WriteLine($"chat format: {_format.Name}; {HelpText}");
        while (true)
        {
            if (interactive)
            {
                output.Write("> ");
                output.Flush();
            }
            string? line = input.ReadLine();
            if (line is null) break;
            line = line.Trim();
            if (line.Length == 0) continue;
            switch (line)
            {
                case "/exit" or "/quit":
                    return;
                case "/reset":
                    Reset();
                    diagnostics.WriteLine("(conversation cleared)");
                    continue;
                case "/help" or "/?":
                    diagnostics.WriteLine(HelpText);
                    continue;
            }
            // Piped, the transcript shows each message before its answer and a blank line after it, so turns stay apart.
            if (!interactive) output.WriteLine($"> {line}");
            Ask(line, output, diagnostics);
            if (!interactive) output.WriteLine();
        }
    }

    /// <summary>
    /// One turn: adds <paramref name="userText"/> to the history, streams the answer to <paramref name="output"/> and
    /// adds it to the history. Returns null (with a notice on <paramref name="diagnostics"/>) when even the message
    /// alone does not fit the context; older turns are dropped first when the whole conversation does not.
    /// </summary>
    public ChatTurn? Ask(string userText, TextWriter output, TextWriter diagnostics)
    {
        ArgumentNullException.ThrowIfNull(userText);
        _history.Add(new ChatMessage("user", userText));
        var prompt = RenderFitting(diagnostics);
        if (prompt is null)
        {
            _history.RemoveAt(_history.Count - 1);
            diagnostics.WriteLine($"(the message does not fit the context of {_session.ContextLength} tokens)");
            return null;
        }

        var watch = Stopwatch.StartNew();
        int reused = PrepareCache(prompt);
        var logits = _session.Feed(prompt.AsSpan(reused));
        _cached.AddRange(prompt.AsSpan(reused));
        var prefill = watch.Elapsed;
        _sampler.AcceptPrompt(prompt.AsSpan(reused));

        // The header already ends the line ("Assistant:" / "Assistant: "): the decoder drops the answer's leading blanks.
        var detokenizer = _tokenizer.CreateOutputDetokenizer(atSequenceStart: false);
        _answerCancellation = new CancellationTokenSource();
        GenerationResult answer;
        _answering = true;
        try
        {
            answer = _generator.Generate(logits, _sampler, _options.MaxAnswerTokens, detokenizer, output, _answerCancellation.Token,
                _tokenizer.AnswerStartExclusions);
        }
        finally
        {
            _answering = false;
        }
        output.WriteLine();
        for (int i = 0; i < answer.FedCount; i++) _cached.Add(answer.Tokens[i]);
        _history.Add(new ChatMessage("assistant", answer.Text.TrimStart()));

        var turn = new ChatTurn(prompt.Length, reused, prompt.Length - reused, prefill, answer);
        _turns.Add(turn);
        double decodeMs = answer.Elapsed.TotalMilliseconds;
        diagnostics.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[prompt {prompt.Length} tokens ({reused} cached, {turn.FedTokens} fed in {prefill.TotalMilliseconds:F0} ms); " +
            $"answer {answer.CompletionTokens} tokens in {decodeMs:F0} ms ({answer.CompletionTokens * 1000 / Math.Max(decodeMs, 1e-9):F1} tok/s); " +
            $"stop: {Commands.GenerateCommand.StopName(answer.Stop)}]"));
        return turn;
    }

    /// <summary>
    /// Tokenizes the conversation plus the assistant header; while it leaves no room to answer, drops the oldest
    /// exchange after the system message. Null when the newest message alone does not fit.
    /// </summary>
    private int[]? RenderFitting(TextWriter diagnostics)
    {
        int room = Math.Min(64, _session.ContextLength / 4); // tokens an answer needs at least to be worth starting
        int dropped = 0;
        while (true)
        {
            var segments = _format.Render(_history, addGenerationPrompt: true);
            var prompt = _tokenizer.Encode(segments, addBos: !_format.IncludesBos && _tokenizer.AddBos);
            if (prompt.Length + room <= _session.ContextLength)
            {
                if (dropped > 0) diagnostics.WriteLine($"(dropped the {dropped} oldest messages to fit the context)");
                return prompt;
            }
            int first = _history.Count > 0 && _history[0].Role == "system" ? 1 : 0;
            if (_history.Count - first <= 1) return null; // only the new message is left
            _history.RemoveAt(first);
            dropped++;
        }
    }

    /// <summary>
    /// Keeps the cache when <paramref name="prompt"/> extends the cached tokens by at least one token (the last
    /// prompt token must be fed to get logits); otherwise resets it. Returns how many prompt tokens are cached.
    /// </summary>
    private int PrepareCache(int[] prompt)
    {
        int common = 0;
        int limit = Math.Min(_cached.Count, prompt.Length);
        while (common < limit && _cached[common] == prompt[common]) common++;
        if (common == _cached.Count && common < prompt.Length) return common;
        _session.Reset();
        _cached.Clear();
        return 0;
    }
}
