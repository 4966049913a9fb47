namespace BitNet.Runtime.Grammar;

/// <summary>
/// Grammars for decimal numbers within bounds, so <c>minimum</c>/<c>maximum</c> hold by construction instead of
/// being checked afterwards. Integers are exact: the digit strings of [lo, hi] split into runs of equal length and
/// then into digit-range sequences (e.g. 17..253 is 1[7-9] | [2-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-3]).
/// Numbers with a fraction use the same integer part plus a fraction, with the edge cases at integer bounds handled
/// exactly; non-integer bounds are rounded inward to integers (see <see cref="BuildNumber"/>).
/// </summary>
internal static class IntegerRangeGrammar
{
    /// <summary>
    /// Integers in [<paramref name="low"/>, <paramref name="high"/>] (null: unbounded, limited to
    /// <paramref name="maxDigits"/> digits), without leading zeros or "-0". Null result: the range is empty.
    /// </summary>
    public static int Build(GrammarBuilder b, long? low, long? high, int maxDigits)
    {
        long limit = Pow10(maxDigits) - 1;
        long lo = Math.Max(low ?? -limit, -limit), hi = Math.Min(high ?? limit, limit);
        if (lo > hi) throw new SchemaNotSupportedException("minimum", "#", $"no integer of at most {maxDigits} digits lies in [{low}, {high}]");
        var alternatives = new List<int>();
        if (hi >= 0) alternatives.Add(NonNegative(b, Math.Max(lo, 0), hi));
        if (lo < 0) alternatives.Add(b.Sequence(b.Byte((byte)'-'), NonNegative(b, Math.Max(1, -Math.Min(hi, -1)), -lo)));
        return b.Choice(alternatives);
    }

    /// <summary>
    /// Numbers (optionally with a fraction, never an exponent) in the interval given by the bounds. Integer bounds
    /// are exact, inclusive or exclusive; a non-integer bound is rounded inward to the nearest integer, inclusive,
    /// which keeps every output valid but leaves out values between the bound and that integer. When no integer lies
    /// inside (e.g. [0.2, 0.8]) the grammar is the single number at the middle of the interval.
    /// </summary>
    public static int BuildNumber(JsonSyntax json, Bound lower, Bound upper, int maxDigits)
    {
        var b = json.Builder;
        long limit = Pow10(maxDigits) - 1;
        lower = lower.RoundInward(isLower: true, limit);
        upper = upper.RoundInward(isLower: false, limit);
        if (lower.Value > upper.Value || (lower.Value == upper.Value && (lower.Exclusive || upper.Exclusive)))
        {
            double middle = (lower.Original + upper.Original) / 2;
            return b.Literal(middle.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        }
        var alternatives = new List<int>();
        // x >= 0: magnitude bounds are x's bounds (clipped at 0).
        if (upper.Value > 0 || (upper.Value == 0 && !upper.Exclusive))
        {
            var low = lower.Value >= 0 ? lower : new Bound(0, false, 0);
            alternatives.Add(Magnitude(json, low, upper));
        }
        // x < 0: magnitude m = -x > 0, bounded below by -upper and above by -lower.
        if (lower.Value < 0)
        {
            var low = upper.Value < 0 ? new Bound(-upper.Value, upper.Exclusive, 0) : new Bound(0, true, 0);
            var high = new Bound(-lower.Value, lower.Exclusive, 0);
            if (low.Value < high.Value || (low.Value == high.Value && !low.Exclusive && !high.Exclusive))
                alternatives.Add(b.Sequence(b.Byte((byte)'-'), Magnitude(json, low, high)));
        }
        return b.Choice(alternatives);
    }

    /// <summary>A bound of a number interval; <see cref="Original"/> keeps the schema's value for the fallback.</summary>
    public readonly record struct Bound(long Value, bool Exclusive, double Original)
    {
        public Bound RoundInward(bool isLower, long limit)
        {
            double rounded = isLower ? Math.Ceiling(Original) : Math.Floor(Original);
            bool exclusive = Exclusive && rounded == Original;
            double clamped = Math.Clamp(rounded, -limit, limit);
            if (clamped != rounded) exclusive = false;
            return new Bound((long)clamped, exclusive, Original);
        }
    }

    /// <summary>Non-negative numbers m with low ≤/&lt; m ≤/&lt; high, written I or I.F.</summary>
    private static int Magnitude(JsonSyntax json, Bound low, Bound high)
    {
        var b = json.Builder;
        var alternatives = new List<int>();
        long freeLow = low.Exclusive ? low.Value + 1 : low.Value;
        long freeHigh = high.Value - 1; // integer parts that may take any fraction
        if (freeLow <= freeHigh)
            alternatives.Add(b.Sequence(NonNegative(b, freeLow, freeHigh), b.Optional(json.Fraction)));
        if (low.Exclusive && low.Value < high.Value)
        {
            // low.Value itself with a fraction that is not all zeros.
            int nonZero = b.Sequence(b.Byte((byte)'.'), b.Repeat(b.Byte((byte)'0'), 0, 4), b.Terminal(ByteSet.Range('1', '9')), b.Repeat(json.Digit, 0, 5));
            alternatives.Add(b.Sequence(NonNegative(b, low.Value, low.Value), nonZero));
        }
        if (!high.Exclusive && high.Value >= freeLow)
        {
            // high.Value itself, possibly written with zeros after the point.
            alternatives.Add(b.Sequence(NonNegative(b, high.Value, high.Value), b.Optional(b.Sequence(b.Byte((byte)'.'), b.Repeat(b.Byte((byte)'0'), 1, 3)))));
        }
        return b.Choice(alternatives);
    }

    /// <summary>Decimal strings (no leading zeros) of the integers in [lo, hi], 0 ≤ lo ≤ hi.</summary>
    private static int NonNegative(GrammarBuilder b, long lo, long hi)
    {
        var alternatives = new List<int>();
        int loDigits = DigitCount(lo), hiDigits = DigitCount(hi);
        for (int length = loDigits; length <= hiDigits; length++)
        {
            long first = Math.Max(lo, length == 1 ? 0 : Pow10(length - 1));
            long last = Math.Min(hi, Pow10(length) - 1);
            if (first > last) continue;
            SameLength(b, first.ToString(), last.ToString(), [], alternatives);
        }
        return b.Choice(alternatives);
    }

    /// <summary>Digit-range sequences covering the equal-length decimal strings from <paramref name="a"/> to <paramref name="z"/>.</summary>
    private static void SameLength(GrammarBuilder b, string a, string z, List<int> prefix, List<int> output)
    {
        if (a.Length == 0)
        {
            output.Add(b.Sequence([.. prefix]));
            return;
        }
        if (a[0] == z[0])
        {
            SameLength(b, a[1..], z[1..], [.. prefix, b.Byte((byte)a[0])], output);
            return;
        }
        string aRest = a[1..], zRest = z[1..];
        char middleLow = a[0], middleHigh = z[0];
        if (aRest.Any(c => c != '0'))
        {
            SameLength(b, aRest, new string('9', aRest.Length), [.. prefix, b.Byte((byte)a[0])], output);
            middleLow++;
        }
        if (zRest.Any(c => c != '9'))
        {
            SameLength(b, new string('0', zRest.Length), zRest, [.. prefix, b.Byte((byte)z[0])], output);
            middleHigh--;
        }
        if (middleLow <= middleHigh)
        {
            var symbols = new List<int>(prefix) { b.Terminal(ByteSet.Range(middleLow, middleHigh)) };
            for (int i = 0; i < aRest.Length; i++) symbols.Add(b.Terminal(ByteSet.Range('0', '9')));
            output.Add(b.Sequence([.. symbols]));
        }
    }

    private static int DigitCount(long value) => value < 10 ? 1 : 1 + DigitCount(value / 10);

    private static long Pow10(int exponent)
    {
        long result = 1;
        for (int i = 0; i < exponent; i++) result *= 10;
        return result;
    }
}
