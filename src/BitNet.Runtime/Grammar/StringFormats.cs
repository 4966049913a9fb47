namespace BitNet.Runtime.Grammar;

/// <summary>
/// The string formats the grammar enforces, as patterns for <see cref="RegexCompiler"/>. Each is a strict subset
/// of its RFC so every output also passes a format-asserting validator: dates never name a day the month lacks
/// (February stops at 28, years are 1000-9999), times have no leap second, e-mail addresses use the common dot-atom form,
/// URIs are http(s)/ftp URLs with a host name and a plain path.
/// Other formats are annotations (as JSON Schema 2020-12 treats them by default) and compile to plain strings.
/// </summary>
internal static class StringFormats
{
    private const string Date =
        "[1-9][0-9]{3}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";

    private const string Time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";

    private const string Label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?";

    private const string Email = "[A-Za-z0-9_+-]{1,32}(?:\\.[A-Za-z0-9_+-]{1,32}){0,3}@" + Label + "(?:\\." + Label + "){0,3}\\.[A-Za-z]{2,10}";

    private const string Hostname = Label + "(?:\\." + Label + "){0,4}";

    private const string Uri = "(?:https?|ftp)://" + Hostname + "(?:/[A-Za-z0-9._~-]{0,30}){0,6}";

    private const string Octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

    private const string Uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    /// <summary>The anchored pattern for <paramref name="format"/>, false when the format is not enforced.</summary>
    public static bool TryGetPattern(string? format, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? pattern)
    {
        pattern = format switch
        {
            "date" => Date,
            "time" => Time,
            "date-time" => Date + "T" + Time,
            "email" => Email,
            "uuid" => Uuid,
            "uri" => Uri,
            "hostname" => Hostname,
            "ipv4" => Octet + "\\." + Octet + "\\." + Octet + "\\." + Octet,
            _ => null,
        };
        if (pattern is not null) pattern = "^" + pattern + "$";
        return pattern is not null;
    }
}
