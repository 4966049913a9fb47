using System.Buffers;
using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>A run of ordinary text (<see cref="TokenId"/> = -1) or one special token found in a source string.</summary>
internal readonly record struct Fragment(string Source, int Start, int Length, int TokenId)
{
    public bool IsText => TokenId < 0;

    public ReadOnlySpan<char> Text => Source.AsSpan(Start, Length);
}

/// <summary>
/// Finds special tokens (control, user-defined and unknown tokens) written verbatim in text, the way llama.cpp's
/// <c>tokenizer_st_partition</c> does: specials are tried longest first and each one splits every remaining text run
/// at all of its occurrences. A multi-string search rejects text without any special in one vectorized pass.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly (string Text, int Id)[] _longestFirst;
    private readonly Dictionary<string, int> _byText;
    private readonly SearchValues<string>? _any;

    public SpecialTokenSplitter(TokenTable table)
    {
        _byText = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < table.Count; id++)
        {
            if (!table.IsMarker(id) || table.Bytes(id).IsEmpty) continue;
            _byText.TryAdd(Encoding.UTF8.GetString(table.Bytes(id)), id); // duplicates: the lowest id wins
        }
        var all = new (string Text, int Id)[_byText.Count];
        int n = 0;
        foreach (var (text, id) in _byText) all[n++] = (text, id);
        Array.Sort(all, static (a, b) => a.Text.Length != b.Text.Length ? b.Text.Length.CompareTo(a.Text.Length) : a.Id.CompareTo(b.Id));
        _longestFirst = all;
        if (all.Length > 0) _any = SearchValues.Create(Array.ConvertAll(all, static s => s.Text), StringComparison.Ordinal);
    }

    public int Count => _longestFirst.Length;

    public bool TryGetId(string text, out int id) => _byText.TryGetValue(text, out id);

    /// <summary>Appends the fragments of <paramref name="text"/> to <paramref name="output"/>; empty text adds nothing.</summary>
    public void Split(string text, List<Fragment> output)
    {
        if (text.Length == 0) return;
        if (_any is null || text.AsSpan().IndexOfAny(_any) < 0)
        {
            output.Add(new Fragment(text, 0, text.Length, -1));
            return;
        }
        var current = new List<Fragment> { new(text, 0, text.Length, -1) };
        var next = new List<Fragment>();
        foreach (var (special, id) in _longestFirst)
        {
            if (!text.Contains(special, StringComparison.Ordinal)) continue;
            next.Clear();
            foreach (var fragment in current)
            {
                if (!fragment.IsText)
                {
                    next.Add(fragment);
                    continue;
                }
                int start = fragment.Start, end = fragment.Start + fragment.Length;
                while (start < end)
                {
                    int hit = text.AsSpan(start, end - start).IndexOf(special, StringComparison.Ordinal);
                    if (hit < 0) break;
                    if (hit > 0) next.Add(new Fragment(text, start, hit, -1));
                    next.Add(new Fragment(text, start + hit, special.Length, id));
                    start += hit + special.Length;
                }
                if (start < end) next.Add(new Fragment(text, start, end - start, -1));
            }
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}
