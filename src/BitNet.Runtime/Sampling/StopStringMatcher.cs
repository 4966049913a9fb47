namespace BitNet.Runtime.Sampling;

/// <summary>What <see cref="StopStringMatcher.Push"/> lets through.</summary>
/// <param name="Text">Text that is safe to emit now (never contains any part of a completed stop string).</param>
/// <param name="Stopped">A stop string completed: <paramref name="Text"/> is everything before it, and generation should end.</param>
public readonly record struct StopStringResult(string Text, bool Stopped);

/// <summary>
/// Cuts a stream of generated text at the first stop string, one sequence at a time. Text is held back only while
/// it could still be the start of a stop string (at most the longest stop length minus one characters), so
/// streaming clients never see a stop string or a piece of one.
/// <para>
/// "First" means the stop string that completes first while reading the text left to right; when two complete at
/// the same character, the one that starts earlier wins. This makes the result independent of how the text is
/// split into pushes: the concatenation of everything emitted equals the full text truncated at that occurrence.
/// </para>
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private char[] _pending;            // text received but not yet emitted: a possible start of a stop string
    private int _pendingLength;

    /// <summary>Creates a matcher for <paramref name="stopStrings"/> (null or empty = pass everything through).</summary>
    public StopStringMatcher(IReadOnlyList<string>? stopStrings)
    {
        _stops = new string[stopStrings?.Count ?? 0];
        for (int i = 0; i < _stops.Length; i++)
        {
            string? stop = stopStrings![i];
            if (string.IsNullOrEmpty(stop))
                throw new ArgumentException($"stop string {i} is empty: every stop string needs at least one character", nameof(stopStrings));
            _stops[i] = stop;
            MaxStopLength = Math.Max(MaxStopLength, stop.Length);
        }
        _pending = new char[Math.Max(16, 2 * MaxStopLength)];
    }

    /// <summary>The stop strings, as given.</summary>
    public IReadOnlyList<string> StopStrings => _stops;

    /// <summary>Length of the longest stop string; at most this minus one characters are ever held back.</summary>
    public int MaxStopLength { get; }

    /// <summary>Characters currently held back.</summary>
    public int HeldLength => _pendingLength;

    /// <summary>True once a stop string completed; later pushes return nothing.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop string that completed, or null.</summary>
    public string? MatchedStop { get; private set; }

    /// <summary>
    /// Adds newly decoded text and returns what can be emitted now. After a stop string completes, returns the text
    /// before it with <see cref="StopStringResult.Stopped"/> set; the stop string and anything after it are dropped.
    /// </summary>
    public StopStringResult Push(string newText)
    {
        ArgumentNullException.ThrowIfNull(newText);
        if (Stopped) return new StopStringResult("", true);
        if (_stops.Length == 0 || newText.Length == 0) return new StopStringResult(_stops.Length == 0 ? newText : "", false);

        Append(newText);
        var text = _pending.AsSpan(0, _pendingLength);

        // Every character already emitted was proven not to start a stop string, so searching the pending
        // text finds every occurrence that can still complete.
        int bestStart = -1, bestEnd = int.MaxValue;
        foreach (string stop in _stops)
        {
            int start = text.IndexOf(stop.AsSpan());
            if (start < 0) continue;
            int end = start + stop.Length;
            if (end < bestEnd || (end == bestEnd && start < bestStart))
            {
                (bestStart, bestEnd) = (start, end);
                MatchedStop = stop;
            }
        }
        if (bestStart >= 0)
        {
            string before = new(text[..bestStart]);
            Stopped = true;
            _pendingLength = 0;
            return new StopStringResult(before, true);
        }

        int hold = LongestSuffixThatStartsAStop(text);
        int emit = _pendingLength - hold;
        // Common case: nothing was held before and nothing is held now, so the input passes through as is.
        string safe = emit == newText.Length && hold == 0 ? newText : new string(text[..emit]);
        text[emit..].CopyTo(_pending);
        _pendingLength = hold;
        return new StopStringResult(safe, false);
    }

    /// <summary>Returns the held-back text at the end of generation (empty after a stop).</summary>
    public string Flush()
    {
        if (Stopped || _pendingLength == 0) return "";
        string rest = new(_pending, 0, _pendingLength);
        _pendingLength = 0;
        return rest;
    }

    private int LongestSuffixThatStartsAStop(ReadOnlySpan<char> text)
    {
        int hold = 0;
        foreach (string stop in _stops)
        {
            // A complete stop would have been found above: only proper prefixes (length < stop length) matter.
            for (int length = Math.Min(stop.Length - 1, text.Length); length > hold; length--)
            {
                if (text.EndsWith(stop.AsSpan(0, length)))
                {
                    hold = length;
                    break;
                }
            }
        }
        return hold;
    }

    private void Append(string newText)
    {
        int needed = _pendingLength + newText.Length;
        if (needed > _pending.Length) Array.Resize(ref _pending, Math.Max(needed, 2 * _pending.Length));
        newText.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength = needed;
    }
}
