using System.Text.RegularExpressions;

namespace BitNet.Deploy.Tests.Parsing;

/// <summary>
/// Just enough PromQL lexing to list the metric names and label names an expression uses, so the dashboard can be
/// checked against the metrics the server really exports. Not a parser: it strips what cannot be a metric name
/// (strings, label matchers, ranges, grouping clauses, variables, numbers, functions, keywords) and keeps the rest.
/// </summary>
internal static partial class PromQl
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless", "inf", "nan", "Inf", "NaN",
    };

    /// <summary>Distinct metric names referenced by the expression, in order of appearance.</summary>
    public static IReadOnlyList<string> MetricNames(string expr)
    {
        string s = StringLiteral().Replace(expr, "\"\"");
        s = LabelMatchers().Replace(s, " ");
        s = RangeSelector().Replace(s, " ");
        s = GroupingClause().Replace(s, " ");
        var names = new List<string>();
        foreach (Match m in Identifier().Matches(s))
        {
            string name = m.Value;
            int next = m.Index + m.Length;
            while (next < s.Length && char.IsWhiteSpace(s[next])) next++;
            bool isCall = next < s.Length && s[next] == '(';
            if (isCall || Keywords.Contains(name) || names.Contains(name)) continue;
            names.Add(name);
        }
        return names;
    }

    /// <summary>Label matchers used in the expression as (label, operator, value) triples.</summary>
    public static IReadOnlyList<(string Label, string Op, string Value)> LabelMatchersOf(string expr)
    {
        var result = new List<(string, string, string)>();
        foreach (Match block in LabelMatchers().Matches(expr))
            foreach (Match m in Matcher().Matches(block.Value))
                result.Add((m.Groups["label"].Value, m.Groups["op"].Value, m.Groups["value"].Value));
        return result;
    }

    /// <summary>Labels named in <c>by (...)</c> / <c>without (...)</c> clauses.</summary>
    public static IReadOnlyList<string> GroupingLabels(string expr)
    {
        var result = new List<string>();
        foreach (Match m in GroupingClause().Matches(StringLiteral().Replace(expr, "\"\"")))
            foreach (string label in m.Groups["labels"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                result.Add(label);
        return result;
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^{}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex RangeSelector();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\((?<labels>[^()]*)\)")]
    private static partial Regex GroupingClause();

    // Not preceded by a word character, '.', ':' or '$': excludes the "m" of "5m", parts of 0.95, and $variables.
    [GeneratedRegex(@"(?<![\w.:$])[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();

    [GeneratedRegex("(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\\s*(?<op>=~|!~|!=|=)\\s*\"(?<value>(?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex Matcher();
}
