using System.Diagnostics;

namespace BitNet.Runtime.Sampling;

/// <summary>
/// The token history the penalties need, kept incrementally so that applying them costs O(distinct tokens seen)
/// or O(window), never O(vocabulary) or O(history):
/// <list type="bullet">
/// <item>counts per token and the list of distinct tokens seen (presence / frequency, whole-history repetition);</item>
/// <item>a ring of the last N tokens plus a per-token stamp to penalize each distinct windowed token once.</item>
/// </list>
/// Buffers grow by doubling while the history fills, then stay fixed: steady-state decoding allocates nothing.
/// </summary>
internal sealed class PenaltyHistory
{
    private const int InitialCapacity = 256;

    private readonly float _repetition;
    private readonly float _presence;
    private readonly float _frequency;
    private readonly int _windowLimit;          // 0 = whole history

    private readonly int[] _counts;             // [vocab] occurrences in the whole history
    private int[] _distinct;                    // tokens with count > 0, in first-seen order
    private int _distinctCount;

    private int[] _window = [];                 // ring of the last _windowLimit tokens (oldest at _windowStart)
    private int _windowStart, _windowCount;
    private readonly int[]? _stamps;            // [vocab] last Apply call that penalized the token
    private int _stamp;

    public PenaltyHistory(int vocabSize, SamplingParameters p)
    {
        _repetition = p.RepetitionPenalty;
        _presence = p.PresencePenalty;
        _frequency = p.FrequencyPenalty;
        _windowLimit = p.RepeatLastN;
        _counts = new int[vocabSize];
        _distinct = new int[Math.Min(InitialCapacity, vocabSize)];
        if (_repetition != 1f && _windowLimit > 0)
        {
            _window = new int[Math.Min(InitialCapacity, _windowLimit)];
            _stamps = new int[vocabSize];
        }
    }

    public void Add(int token)
    {
        if (_counts[token]++ == 0)
        {
            if (_distinctCount == _distinct.Length)
                Array.Resize(ref _distinct, Math.Min(_distinct.Length * 2, _counts.Length));
            _distinct[_distinctCount++] = token;
        }

        if (_stamps is null) return;
        if (_windowCount < _windowLimit)
        {
            if (_windowCount == _window.Length) GrowWindow();
            _window[(_windowStart + _windowCount++) % _window.Length] = token;
        }
        else
        {
            // Full: overwrite the oldest.
            _window[_windowStart] = token;
            _windowStart = (_windowStart + 1) % _window.Length;
        }
    }

    /// <summary>Repetition penalty (llama.cpp), then presence / frequency (OpenAI), in place.</summary>
    public void Apply(Span<float> logits)
    {
        if (_repetition != 1f)
        {
            if (_stamps is null)
            {
                for (int i = 0; i < _distinctCount; i++) Repeat(logits, _distinct[i]);
            }
            else
            {
                if (++_stamp == int.MaxValue)
                {
                    Array.Clear(_stamps);
                    _stamp = 1;
                }
                for (int i = 0; i < _windowCount; i++)
                {
                    int token = _window[(_windowStart + i) % _window.Length];
                    if (_stamps[token] == _stamp) continue;
                    _stamps[token] = _stamp;
                    Repeat(logits, token);
                }
            }
        }

        if (_presence != 0f || _frequency != 0f)
        {
            // OpenAI: logit -= count * frequency_penalty + (count > 0) * presence_penalty.
            for (int i = 0; i < _distinctCount; i++)
            {
                int token = _distinct[i];
                logits[token] -= _counts[token] * _frequency + _presence;
            }
        }
    }

    private void Repeat(Span<float> logits, int token)
    {
        float l = logits[token];
        logits[token] = l > 0 ? l / _repetition : l * _repetition;
    }

    private void GrowWindow()
    {
        Debug.Assert(_windowStart == 0 || _windowCount == _window.Length);
        var grown = new int[Math.Min(_window.Length * 2, _windowLimit)];
        for (int i = 0; i < _windowCount; i++) grown[i] = _window[(_windowStart + i) % _window.Length];
        _window = grown;
        _windowStart = 0;
    }
}
