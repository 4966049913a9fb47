namespace BitNet.Runtime.Grammar;

/// <summary>
/// Compiles the practical regular-expression subset of JSON Schema <c>pattern</c> into the content of a JSON
/// string: literals and escapes, classes <c>[a-z]</c> <c>[^...]</c>, <c>\d \w \s</c> and their negations, <c>.</c>,
/// quantifiers <c>? * + {m} {m,} {m,n}</c> (lazy forms accepted, same language), groups <c>(...)</c>
/// <c>(?:...)</c> <c>(?&lt;name&gt;...)</c>, alternation, and anchors <c>^ $</c> at the ends of top-level branches.
/// As in JSON Schema the pattern is a search: an unanchored side gets "any characters" added.
/// </summary>
/// <remarks>
/// Classes are sets of scalars; <see cref="JsonSyntax.ClassChar"/> turns them into JSON-encoded UTF-8 and keeps
/// to the BMP without control characters, so <c>\d</c> is ASCII digits and <c>.</c> is any BMP character but
/// newline: a subset of what ECMAScript and .NET engines accept, so every output matches under both.
/// </remarks>
internal sealed class RegexCompiler
{
    private static readonly (int, int)[] Digits = [('0', '9')];
    private static readonly (int, int)[] Word = [('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    private static readonly (int, int)[] Space = [('\t', '\r'), (' ', ' ')];

    private readonly JsonSyntax _json;
    private readonly GrammarBuilder _b;
    private readonly string _pattern;
    private readonly string _path;
    private int _at;

    private RegexCompiler(JsonSyntax json, string pattern, string path)
    {
        _json = json;
        _b = json.Builder;
        _pattern = pattern;
        _path = path;
    }

    /// <summary>The string content (between the quotes) matching <paramref name="pattern"/> somewhere, as JSON Schema means it.</summary>
    public static int CompileContent(JsonSyntax json, string pattern, string path) => new RegexCompiler(json, pattern, path).Top();

    /// <summary>A whole JSON string (quotes included) matching <paramref name="pattern"/>.</summary>
    public static int CompileString(JsonSyntax json, string pattern, string path)
    {
        var b = json.Builder;
        return b.Sequence(b.Byte((byte)'"'), CompileContent(json, pattern, path), b.Byte((byte)'"'));
    }

    private int Top()
    {
        var branches = new List<int>();
        while (true)
        {
            bool anchoredStart = Peek('^');
            if (anchoredStart) _at++;
            var items = new List<int>();
            if (!anchoredStart) items.Add(AnyText());
            bool anchoredEnd = false;
            while (_at < _pattern.Length && _pattern[_at] != '|')
            {
                if (_pattern[_at] == '$')
                {
                    _at++;
                    if (_at < _pattern.Length && _pattern[_at] != '|') throw Error("'$' is supported only at the end of the pattern or of a top-level alternative");
                    anchoredEnd = true;
                    break;
                }
                if (_pattern[_at] == ')') throw Error("unbalanced ')'");
                items.Add(Quantified());
            }
            if (!anchoredEnd) items.Add(AnyText());
            branches.Add(items.Count == 0 ? _b.Empty() : _b.Sequence([.. items]));
            if (_at >= _pattern.Length) break;
            _at++; // '|'
        }
        return _b.Choice(branches);
    }

    private int AnyText() => _b.Star(Class([(0, 0x10FFFF)]));

    private int Alternation()
    {
        var branches = new List<int>();
        while (true)
        {
            var items = new List<int>();
            while (_at < _pattern.Length && _pattern[_at] is not ('|' or ')'))
            {
                if (_pattern[_at] is '^' or '$') throw Error($"anchor '{_pattern[_at]}' inside a group is not supported");
                items.Add(Quantified());
            }
            branches.Add(items.Count == 0 ? _b.Empty() : _b.Sequence([.. items]));
            if (_at < _pattern.Length && _pattern[_at] == '|')
            {
                _at++;
                continue;
            }
            return _b.Choice(branches);
        }
    }

    private int Quantified()
    {
        int atom = Atom();
        while (_at < _pattern.Length)
        {
            char c = _pattern[_at];
            int min, max;
            if (c == '?') { min = 0; max = 1; _at++; }
            else if (c == '*') { min = 0; max = -1; _at++; }
            else if (c == '+') { min = 1; max = -1; _at++; }
            else if (c == '{' && TryCount(out min, out max)) { }
            else break;
            if (Peek('?')) _at++; // lazy: same language
            if (max > 1000 || min > 1000) throw Error("repetition counts above 1000 are not supported");
            atom = _b.Repeat(atom, min, max);
        }
        return atom;
    }

    private bool TryCount(out int min, out int max)
    {
        min = max = 0;
        int close = _pattern.IndexOf('}', _at);
        if (close < 0) return false;
        string body = _pattern[(_at + 1)..close];
        int comma = body.IndexOf(',');
        if (comma < 0)
        {
            if (!int.TryParse(body, out min)) return false;
            max = min;
        }
        else
        {
            if (!int.TryParse(body[..comma], out min)) return false;
            string upper = body[(comma + 1)..];
            if (upper.Length == 0) max = -1;
            else if (!int.TryParse(upper, out max) || max < min) return false;
        }
        _at = close + 1;
        return true;
    }

    private int Atom()
    {
        char c = _pattern[_at];
        switch (c)
        {
            case '(':
                _at++;
                if (Peek('?'))
                {
                    if (_at + 1 < _pattern.Length && _pattern[_at + 1] == ':') _at += 2;
                    else if (_at + 1 < _pattern.Length && _pattern[_at + 1] == '<' && _at + 2 < _pattern.Length && _pattern[_at + 2] is not ('=' or '!'))
                    {
                        int end = _pattern.IndexOf('>', _at);
                        if (end < 0) throw Error("unterminated group name");
                        _at = end + 1;
                    }
                    else throw Error("lookaround and inline options are not supported");
                }
                int inner = Alternation();
                if (!Peek(')')) throw Error("missing ')'");
                _at++;
                return inner;
            case '[':
                return Class(ParseClass());
            case '.':
                _at++;
                return Class([(0, '\n' - 1), ('\n' + 1, 0x10FFFF)]);
            case '\\':
                _at++;
                return Class(Escape(inClass: false));
            case '*' or '+' or '?' or '{':
                throw Error($"quantifier '{c}' has nothing to repeat");
            default:
                return Class([(ReadScalar(), ReadScalarEnd())]);
        }
    }

    private int _lastScalar;

    private int ReadScalar()
    {
        _lastScalar = char.ConvertToUtf32(_pattern, _at);
        _at += char.IsSurrogatePair(_pattern, _at) ? 2 : 1;
        return _lastScalar;
    }

    private int ReadScalarEnd() => _lastScalar;

    private int Class(IReadOnlyList<(int, int)> ranges) =>
        _json.ClassChar(ranges) ?? throw Error("a character class matches no character the grammar can write");

    private List<(int, int)> ParseClass()
    {
        _at++; // '['
        bool negate = Peek('^');
        if (negate) _at++;
        var ranges = new List<(int, int)>();
        bool first = true;
        while (_at < _pattern.Length && (_pattern[_at] != ']' || first))
        {
            first = false;
            IReadOnlyList<(int, int)> item;
            if (_pattern[_at] == '\\')
            {
                _at++;
                item = Escape(inClass: true);
            }
            else
            {
                int scalar = ReadScalar();
                item = [(scalar, scalar)];
            }
            if (item.Count == 1 && item[0].Item1 == item[0].Item2 && Peek('-') && _at + 1 < _pattern.Length && _pattern[_at + 1] != ']')
            {
                _at++;
                int high;
                if (_pattern[_at] == '\\')
                {
                    _at++;
                    var escaped = Escape(inClass: true);
                    if (escaped.Count != 1 || escaped[0].Item1 != escaped[0].Item2) throw Error("a class range must end in a single character");
                    high = escaped[0].Item1;
                }
                else high = ReadScalar();
                if (high < item[0].Item1) throw Error("class range out of order");
                item = [(item[0].Item1, high)];
            }
            ranges.AddRange(item);
        }
        if (!Peek(']')) throw Error("missing ']'");
        _at++;
        return negate ? Complement(ranges) : ranges;
    }

    private IReadOnlyList<(int, int)> Escape(bool inClass)
    {
        if (_at >= _pattern.Length) throw Error("pattern ends in '\\'");
        char c = _pattern[_at++];
        switch (c)
        {
            case 'd': return Digits;
            case 'D': return Complement(Digits);
            case 'w': return Word;
            case 'W': return Complement(Word);
            case 's': return Space;
            case 'S': return Complement(Space);
            case 'n': return [('\n', '\n')];
            case 't': return [('\t', '\t')];
            case 'r': return [('\r', '\r')];
            case 'f': return [('\f', '\f')];
            case 'v': return [('\v', '\v')];
            case 'u':
                if (_at + 4 > _pattern.Length || !int.TryParse(_pattern.AsSpan(_at, 4), System.Globalization.NumberStyles.HexNumber, null, out int code))
                    throw Error("\\u needs four hex digits");
                _at += 4;
                return [(code, code)];
            case 'b' when !inClass:
            case 'B':
                throw Error($"'\\{c}' (word boundary) is not supported");
            default:
                if (char.IsAsciiLetterOrDigit(c)) throw Error($"escape '\\{c}' is not supported");
                return [(c, c)];
        }
    }

    private static List<(int, int)> Complement(IReadOnlyList<(int, int)> ranges)
    {
        var sorted = new List<(int, int)>(ranges);
        sorted.Sort();
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (low, high) in sorted)
        {
            if (low > next) result.Add((next, low - 1));
            next = Math.Max(next, high + 1);
        }
        if (next <= 0x10FFFF) result.Add((next, 0x10FFFF));
        return result;
    }

    private bool Peek(char c) => _at < _pattern.Length && _pattern[_at] == c;

    private SchemaNotSupportedException Error(string detail) =>
        new("pattern", _path, $"{detail} (in /{_pattern}/ at offset {_at})");
}
