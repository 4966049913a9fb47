namespace BitNet.Runtime.Grammar;

/// <summary>Knobs for compiling a JSON grammar. The defaults suit LLM output; all bounds keep generation finite.</summary>
public sealed record GrammarOptions
{
    /// <summary>The defaults.</summary>
    public static GrammarOptions Default { get; } = new();

    /// <summary>
    /// Most insignificant whitespace bytes (space, tab, CR, LF) allowed in a row between tokens of the JSON text,
    /// so a model cannot loop on whitespace. 0 forces compact JSON. Default 6 (a newline plus some indentation).
    /// </summary>
    public int MaxWhitespace { get; init; } = 6;

    /// <summary>Most digits in the integer part of a number whose schema sets no bound. Default 15 (exact in a double).</summary>
    public int MaxIntegerDigits { get; init; } = 15;

    /// <summary>Most digits after the decimal point. Default 10.</summary>
    public int MaxFractionDigits { get; init; } = 10;

    /// <summary>Whether unbounded numbers may use an exponent (<c>1e-5</c>, at most two exponent digits). Default true.</summary>
    public bool AllowExponent { get; init; } = true;

    internal void Validate()
    {
        if (MaxWhitespace < 0) throw new ArgumentOutOfRangeException(nameof(MaxWhitespace), MaxWhitespace, "must be >= 0");
        if (MaxIntegerDigits is < 1 or > 18) throw new ArgumentOutOfRangeException(nameof(MaxIntegerDigits), MaxIntegerDigits, "must be 1..18");
        if (MaxFractionDigits is < 1 or > 30) throw new ArgumentOutOfRangeException(nameof(MaxFractionDigits), MaxFractionDigits, "must be 1..30");
    }
}
