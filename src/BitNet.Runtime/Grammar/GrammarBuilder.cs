namespace BitNet.Runtime.Grammar;

/// <summary>
/// Collects a context-free grammar over bytes: rules with alternatives, each alternative a sequence of symbols.
/// A symbol is a terminal (a <see cref="ByteSet"/> matching one byte) or a reference to a rule. Front ends (JSON
/// syntax, regular expressions, JSON Schema) build through the combinators here; <see cref="Build"/> freezes the
/// result into the flat arrays the recognizer runs on.
/// </summary>
/// <remarks>
/// Symbol encoding, shared with <see cref="CompiledGrammar"/>: a terminal is its byte-set index (≥ 0), a rule
/// reference is <c>-(rule + 2)</c>, and -1 ends an alternative in the compiled element array.
/// </remarks>
internal sealed class GrammarBuilder
{
    private readonly List<ByteSet> _sets = [];
    private readonly Dictionary<ByteSet, int> _setIds = [];
    private readonly List<List<int[]>> _rules = [];
    private readonly Dictionary<string, int> _literals = new(StringComparer.Ordinal);
    private int _empty = -1;

    public static int RuleSymbol(int rule) => -(rule + 2);

    public static bool IsTerminal(int symbol) => symbol >= 0;

    public int RuleCount => _rules.Count;

    /// <summary>A rule with no alternatives yet; add them with <see cref="Add"/> (so rules can refer to themselves).</summary>
    public int NewRule()
    {
        _rules.Add([]);
        return _rules.Count - 1;
    }

    public void Add(int rule, params int[] symbols) => _rules[rule].Add(symbols);

    /// <summary>The terminal matching the bytes in <paramref name="set"/>.</summary>
    public int Terminal(ByteSet set)
    {
        if (!_setIds.TryGetValue(set, out int id))
        {
            id = _sets.Count;
            _sets.Add(set);
            _setIds.Add(set, id);
        }
        return id;
    }

    public int Byte(byte value) => Terminal(ByteSet.Of(value));

    /// <summary>The empty string.</summary>
    public int Empty()
    {
        if (_empty < 0)
        {
            int rule = NewRule();
            Add(rule);
            _empty = RuleSymbol(rule);
        }
        return _empty;
    }

    /// <summary>Exactly the bytes of <paramref name="bytes"/>; identical literals share one rule.</summary>
    public int Literal(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return Empty();
        if (bytes.Length == 1) return Byte(bytes[0]);
        string key = Convert.ToHexString(bytes);
        if (_literals.TryGetValue(key, out int symbol)) return symbol;
        var symbols = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) symbols[i] = Byte(bytes[i]);
        symbol = Sequence(symbols);
        _literals.Add(key, symbol);
        return symbol;
    }

    public int Literal(string text) => Literal(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>The symbols one after another.</summary>
    public int Sequence(params int[] symbols)
    {
        if (symbols.Length == 1) return symbols[0];
        int rule = NewRule();
        Add(rule, symbols);
        return RuleSymbol(rule);
    }

    /// <summary>Any one of the symbols.</summary>
    public int Choice(IReadOnlyList<int> symbols)
    {
        if (symbols.Count == 1) return symbols[0];
        int rule = NewRule();
        foreach (int symbol in symbols) Add(rule, symbol);
        return RuleSymbol(rule);
    }

    public int Choice(params int[] symbols) => Choice((IReadOnlyList<int>)symbols);

    public int Optional(int symbol)
    {
        int rule = NewRule();
        Add(rule, symbol);
        Add(rule);
        return RuleSymbol(rule);
    }

    /// <summary>Zero or more repetitions (right-recursive, so the recognizer's stacks stay flat).</summary>
    public int Star(int symbol)
    {
        int rule = NewRule();
        Add(rule, symbol, RuleSymbol(rule));
        Add(rule);
        return RuleSymbol(rule);
    }

    /// <summary>
    /// <paramref name="min"/> to <paramref name="max"/> repetitions (<paramref name="max"/> &lt; 0: unbounded). The
    /// optional tail nests (x (x (x)?)?)? so each count has exactly one parse, which keeps stack sets small.
    /// </summary>
    public int Repeat(int symbol, int min, int max)
    {
        if (max >= 0 && max < min) throw new ArgumentOutOfRangeException(nameof(max));
        var parts = new List<int>(min + 1);
        for (int i = 0; i < min; i++) parts.Add(symbol);
        if (max < 0)
        {
            parts.Add(Star(symbol));
        }
        else if (max > min)
        {
            int tail = Optional(symbol);
            for (int i = 1; i < max - min; i++) tail = Optional(Sequence(symbol, tail));
            parts.Add(tail);
        }
        return parts.Count == 0 ? Empty() : Sequence([.. parts]);
    }

    /// <summary>
    /// Freezes the grammar with <paramref name="root"/> as start symbol. Alternatives that can never derive a finite
    /// string (an empty byte set, or recursion with no way out) are dropped, so every state the recognizer reaches
    /// can still be completed; that is what makes "every allowed token keeps the output a valid prefix" hold.
    /// </summary>
    /// <exception cref="SchemaNotSupportedException">The grammar derives no finite string at all.</exception>
    public CompiledGrammar Build(int root)
    {
        int rootRule = NewRule();
        Add(rootRule, root);
        int[] ruleMin = MinimumLengths();
        if (ruleMin[rootRule] >= CompiledGrammar.Infinite)
            throw new SchemaNotSupportedException("schema", "#", "the schema admits no finite JSON value");

        var elements = new List<int>();
        var altStarts = new List<int>();
        var ruleFirstAlt = new int[_rules.Count + 1];
        for (int r = 0; r < _rules.Count; r++)
        {
            ruleFirstAlt[r] = altStarts.Count;
            if (ruleMin[r] >= CompiledGrammar.Infinite) continue;
            foreach (int[] alt in _rules[r])
            {
                if (AlternativeMin(alt, ruleMin) >= CompiledGrammar.Infinite) continue;
                altStarts.Add(elements.Count);
                elements.AddRange(alt);
                elements.Add(CompiledGrammar.End);
            }
        }
        ruleFirstAlt[_rules.Count] = altStarts.Count;

        int[] elementArray = [.. elements];
        var minRest = new int[elementArray.Length + 1];
        for (int pos = elementArray.Length - 1; pos >= 0; pos--)
        {
            int e = elementArray[pos];
            minRest[pos] = e == CompiledGrammar.End ? 0 : Saturate(minRest[pos + 1] + SymbolMin(e, ruleMin));
        }
        var sets = new ulong[_sets.Count * 4];
        for (int i = 0; i < _sets.Count; i++)
            for (int w = 0; w < 4; w++) sets[i * 4 + w] = _sets[i].Word(w);
        return new CompiledGrammar(elementArray, [.. altStarts], ruleFirstAlt, sets, minRest, rootRule, ByteClasses());
    }

    /// <summary>
    /// Bytes no terminal tells apart (same membership in every byte set) behave alike in every state, so one
    /// transition computed for a byte serves its whole class. Returns, per byte, the next byte of its class (a cycle).
    /// </summary>
    private byte[] ByteClasses()
    {
        var classes = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var signature = new char[_sets.Count];
        for (int b = 0; b < 256; b++)
        {
            for (int t = 0; t < _sets.Count; t++) signature[t] = _sets[t].Contains(b) ? '1' : '0';
            string key = new(signature);
            if (!classes.TryGetValue(key, out var members)) classes[key] = members = [];
            members.Add(b);
        }
        var next = new byte[256];
        foreach (var members in classes.Values)
            for (int i = 0; i < members.Count; i++) next[members[i]] = (byte)members[(i + 1) % members.Count];
        return next;
    }

    /// <summary>Fewest bytes each rule derives, by fixpoint iteration (Infinite when it derives nothing finite).</summary>
    private int[] MinimumLengths()
    {
        var min = new int[_rules.Count];
        Array.Fill(min, CompiledGrammar.Infinite);
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int r = 0; r < _rules.Count; r++)
            {
                foreach (int[] alt in _rules[r])
                {
                    int length = AlternativeMin(alt, min);
                    if (length < min[r])
                    {
                        min[r] = length;
                        changed = true;
                    }
                }
            }
        }
        return min;
    }

    private int AlternativeMin(int[] alt, int[] ruleMin)
    {
        int sum = 0;
        foreach (int symbol in alt) sum = Saturate(sum + SymbolMin(symbol, ruleMin));
        return sum;
    }

    private int SymbolMin(int symbol, int[] ruleMin) =>
        symbol >= 0 ? (_sets[symbol].IsEmpty ? CompiledGrammar.Infinite : 1) : ruleMin[-symbol - 2];

    private static int Saturate(int value) => Math.Min(value, CompiledGrammar.Infinite);
}

/// <summary>
/// A frozen byte-level grammar: alternatives laid out one after another in <see cref="Elements"/>, each ended by
/// <see cref="End"/>. A position is an index into that array; <see cref="MinRest"/> says how many bytes at least
/// it takes from a position to the end of its alternative. Immutable and shared by all constraints.
/// </summary>
internal sealed class CompiledGrammar(int[] elements, int[] altStarts, int[] ruleFirstAlt, ulong[] byteSets, int[] minRest, int rootRule, byte[] nextInClass)
{
    public const int End = -1;

    /// <summary>Stands for "no finite completion"; small enough that adding two never overflows.</summary>
    public const int Infinite = int.MaxValue / 4;

    public int[] Elements { get; } = elements;

    public int[] AltStarts { get; } = altStarts;

    public int[] RuleFirstAlt { get; } = ruleFirstAlt;

    public ulong[] ByteSets { get; } = byteSets;

    public int[] MinRest { get; } = minRest;

    public int RootRule { get; } = rootRule;

    /// <summary>For each byte, the next byte of its equivalence class (bytes every terminal treats alike), cyclic.</summary>
    public byte[] NextInClass { get; } = nextInClass;

    public bool TerminalMatches(int terminal, byte b) => (ByteSets[terminal * 4 + (b >> 6)] >> (b & 63) & 1) != 0;
}
