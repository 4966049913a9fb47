using System.Text;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// The JSON pieces every front end shares, built once per grammar: bounded whitespace, strings (free, length
/// bounded, or over a character class), numbers, the literals, and the generic recursive value.
/// </summary>
internal sealed class JsonSyntax
{
    private readonly GrammarBuilder _b;
    private readonly GrammarOptions _options;
    private int _ws = int.MinValue, _freeChar = int.MinValue, _countedChar = int.MinValue, _freeString = int.MinValue;
    private int _value = int.MinValue, _digit = int.MinValue, _fraction = int.MinValue, _number = int.MinValue;

    public JsonSyntax(GrammarBuilder builder, GrammarOptions options)
    {
        _b = builder;
        _options = options;
    }

    public GrammarBuilder Builder => _b;

    /// <summary>0..MaxWhitespace bytes of insignificant whitespace.</summary>
    public int Whitespace
    {
        get
        {
            if (_ws == int.MinValue) _ws = _b.Repeat(_b.Terminal(ByteSet.OfChars(" \t\n\r")), 0, _options.MaxWhitespace);
            return _ws;
        }
    }

    public int Digit => _digit == int.MinValue ? _digit = _b.Terminal(ByteSet.Range('0', '9')) : _digit;

    /// <summary>One character of a JSON string: any scalar as raw UTF-8 except <c>"</c>, <c>\</c> and controls, or an escape.</summary>
    public int FreeChar
    {
        get
        {
            if (_freeChar != int.MinValue) return _freeChar;
            var alternatives = new List<int>();
            AddRawChars(0x20, 0x10FFFF, alternatives);
            int hex = _b.Terminal(ByteSet.Range('0', '9').Union(ByteSet.Range('a', 'f')).Union(ByteSet.Range('A', 'F')));
            alternatives.Add(_b.Sequence(_b.Byte((byte)'\\'), _b.Terminal(ByteSet.OfChars("\"\\/bfnrt"))));
            // \uXXXX without surrogates: a lone or mismatched surrogate escape makes parsers reject the text.
            var notD = ByteSet.Range('0', '9').Union(ByteSet.Range('a', 'c')).Union(ByteSet.Range('A', 'C')).Union(ByteSet.OfChars("efEF"));
            alternatives.Add(_b.Sequence(_b.Literal("\\u"), _b.Terminal(notD), hex, hex, hex));
            alternatives.Add(_b.Sequence(_b.Literal("\\u"), _b.Terminal(ByteSet.OfChars("dD")), _b.Terminal(ByteSet.Range('0', '7')), hex, hex));
            _freeChar = _b.Choice(alternatives);
            return _freeChar;
        }
    }

    /// <summary>
    /// One character of a length-bounded string, drawn from scalars where every validator counts the same length:
    /// code points, UTF-16 units and grapheme clusters coincide (printable ASCII, Latin-1 to Latin Extended-B,
    /// Greek, Cyrillic, kana, CJK ideographs; escapes other than <c>\r</c> and <c>\u</c>). Combining marks, emoji
    /// and CR LF would make "length" depend on who counts.
    /// </summary>
    public int CountedChar
    {
        get
        {
            if (_countedChar != int.MinValue) return _countedChar;
            var alternatives = new List<int>();
            foreach (var (low, high) in (ReadOnlySpan<(int, int)>)[(0x20, 0x7E), (0xA0, 0x2FF), (0x391, 0x3C9), (0x400, 0x481), (0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FFF)])
                AddRawChars(low, high, alternatives);
            alternatives.Add(_b.Sequence(_b.Byte((byte)'\\'), _b.Terminal(ByteSet.OfChars("\"\\/bfnt"))));
            _countedChar = _b.Choice(alternatives);
            return _countedChar;
        }
    }

    /// <summary>A JSON string with any content.</summary>
    public int FreeString => _freeString == int.MinValue
        ? _freeString = _b.Sequence(_b.Byte((byte)'"'), _b.Star(FreeChar), _b.Byte((byte)'"'))
        : _freeString;

    /// <summary>A JSON string of <paramref name="min"/>..<paramref name="max"/> characters (max &lt; 0: unbounded).</summary>
    public int String(int min, int max)
    {
        if (min == 0 && max < 0) return FreeString;
        return _b.Sequence(_b.Byte((byte)'"'), _b.Repeat(CountedChar, min, max), _b.Byte((byte)'"'));
    }

    /// <summary>
    /// One character from a class of scalars (inclusive ranges), encoded the way JSON needs: raw UTF-8 for
    /// ordinary characters, <c>\"</c> <c>\\</c> <c>\n</c> <c>\t</c> for those four. Other control characters and
    /// scalars beyond the BMP are left out, so regex semantics agree between UTF-16 and code-point engines.
    /// Returns null when nothing is left.
    /// </summary>
    public int? ClassChar(IReadOnlyList<(int Low, int High)> ranges)
    {
        var alternatives = new List<int>();
        foreach (var (low, high) in ranges)
        {
            foreach (var (l, h) in Subtract(Math.Max(low, 0x20), Math.Min(high, 0xFFFF), '"', '\\'))
                AddRawChars(l, h, alternatives);
            AddEscapeIfIn(low, high, '"', "\\\"", alternatives);
            AddEscapeIfIn(low, high, '\\', "\\\\", alternatives);
            AddEscapeIfIn(low, high, '\n', "\\n", alternatives);
            AddEscapeIfIn(low, high, '\t', "\\t", alternatives);
        }
        return alternatives.Count == 0 ? null : _b.Choice(alternatives);
    }

    /// <summary>An unbounded JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]{1,2})? with bounded digit counts.</summary>
    public int Number
    {
        get
        {
            if (_number != int.MinValue) return _number;
            var parts = new List<int> { Integer(), _b.Optional(Fraction) };
            if (_options.AllowExponent)
                parts.Add(_b.Optional(_b.Sequence(_b.Terminal(ByteSet.OfChars("eE")), _b.Optional(_b.Terminal(ByteSet.OfChars("+-"))), _b.Repeat(Digit, 1, 2))));
            _number = _b.Sequence([.. parts]);
            return _number;
        }
    }

    /// <summary>"." and 1..MaxFractionDigits digits.</summary>
    public int Fraction => _fraction == int.MinValue
        ? _fraction = _b.Sequence(_b.Byte((byte)'.'), _b.Repeat(Digit, 1, _options.MaxFractionDigits))
        : _fraction;

    /// <summary>An integer with up to MaxIntegerDigits digits, optionally negative.</summary>
    public int Integer() => IntegerRangeGrammar.Build(_b, null, null, _options.MaxIntegerDigits);

    /// <summary>Any JSON value (objects, arrays, strings, numbers, literals), recursively.</summary>
    public int Value
    {
        get
        {
            if (_value != int.MinValue) return _value;
            int rule = _b.NewRule();
            _value = GrammarBuilder.RuleSymbol(rule);
            _b.Add(rule, Object(FreeString, _value));
            _b.Add(rule, Array(_value, 0, -1));
            _b.Add(rule, FreeString);
            _b.Add(rule, Number);
            _b.Add(rule, _b.Literal("true"));
            _b.Add(rule, _b.Literal("false"));
            _b.Add(rule, _b.Literal("null"));
            return _value;
        }
    }

    /// <summary>An object whose members have keys from <paramref name="key"/> and values from <paramref name="value"/>.</summary>
    public int Object(int key, int value)
    {
        int member = Member(key, value);
        int more = _b.Star(_b.Sequence(Whitespace, _b.Byte((byte)','), Whitespace, member));
        return _b.Sequence(_b.Byte((byte)'{'), Whitespace, _b.Optional(_b.Sequence(member, more, Whitespace)), _b.Byte((byte)'}'));
    }

    /// <summary><paramref name="key"/> ws ":" ws <paramref name="value"/>.</summary>
    public int Member(int key, int value) => _b.Sequence(key, Whitespace, _b.Byte((byte)':'), Whitespace, value);

    /// <summary>An array of <paramref name="min"/>..<paramref name="max"/> items (max &lt; 0: unbounded).</summary>
    public int Array(int item, int min, int max)
    {
        int open = _b.Byte((byte)'['), close = _b.Byte((byte)']');
        if (max == 0) return _b.Sequence(open, Whitespace, close);
        int separated = _b.Sequence(Whitespace, _b.Byte((byte)','), Whitespace, item);
        int items = _b.Sequence(item, _b.Repeat(separated, Math.Max(min - 1, 0), max < 0 ? -1 : max - 1), Whitespace);
        return _b.Sequence(open, Whitespace, min == 0 ? _b.Optional(items) : items, close);
    }

    /// <summary>Compact JSON text of <paramref name="element"/> with non-ASCII kept as raw UTF-8.</summary>
    public static byte[] Serialize(System.Text.Json.JsonElement element)
    {
        var text = new StringBuilder();
        Write(element, text);
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>The JSON string literal for <paramref name="value"/>, escaping only what JSON requires.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2);
        WriteString(value, text);
        return text.ToString();
    }

    private static void Write(System.Text.Json.JsonElement element, StringBuilder text)
    {
        switch (element.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Object:
                text.Append('{');
                bool first = true;
                foreach (var property in element.EnumerateObject())
                {
                    if (!first) text.Append(',');
                    first = false;
                    WriteString(property.Name, text);
                    text.Append(':');
                    Write(property.Value, text);
                }
                text.Append('}');
                break;
            case System.Text.Json.JsonValueKind.Array:
                text.Append('[');
                int i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (i++ > 0) text.Append(',');
                    Write(item, text);
                }
                text.Append(']');
                break;
            case System.Text.Json.JsonValueKind.String:
                WriteString(element.GetString()!, text);
                break;
            default:
                text.Append(element.GetRawText());
                break;
        }
    }

    private static void WriteString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("x4"));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }

    /// <summary>Raw UTF-8 alternatives for scalars in low..high, minus <c>"</c> and <c>\</c> (which JSON must escape).</summary>
    private void AddRawChars(int low, int high, List<int> alternatives)
    {
        var sequences = new List<(byte Low, byte High)[]>();
        foreach (var (l, h) in Subtract(low, high, '"', '\\')) Utf8Ranges.Append(l, h, sequences);
        foreach (var sequence in sequences)
        {
            var symbols = new int[sequence.Length];
            for (int i = 0; i < sequence.Length; i++) symbols[i] = _b.Terminal(ByteSet.Range(sequence[i].Low, sequence[i].High));
            alternatives.Add(_b.Sequence(symbols));
        }
    }

    private void AddEscapeIfIn(int low, int high, char c, string escape, List<int> alternatives)
    {
        if (low <= c && c <= high) alternatives.Add(_b.Literal(escape));
    }

    private static List<(int, int)> Subtract(int low, int high, char a, char b)
    {
        var result = new List<(int, int)>();
        int start = low;
        foreach (int cut in (ReadOnlySpan<int>)[Math.Min(a, b), Math.Max(a, b)])
        {
            if (cut < start || cut > high) continue;
            if (cut > start) result.Add((start, cut - 1));
            start = cut + 1;
        }
        if (start <= high) result.Add((start, high));
        return result;
    }
}
