using System.Text;
using System.Text.RegularExpressions;

namespace BitNet.Deploy.Tests.Parsing;

/// <summary>
/// .dockerignore semantics, enough to ask "is this file sent to the builder?": patterns are matched against the
/// path relative to the context (and against each parent directory), `*` stays inside one path segment, `**`
/// spans segments, a leading `!` re-includes, and the last matching pattern wins.
/// </summary>
internal sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude, string Source)> _rules = [];

    public static DockerIgnore Parse(string text)
    {
        var ignore = new DockerIgnore();
        foreach (string raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            bool exclude = !line.StartsWith('!');
            string pattern = (exclude ? line : line[1..]).Trim().Trim('/');
            if (pattern.StartsWith("./", StringComparison.Ordinal)) pattern = pattern[2..];
            ignore._rules.Add((new Regex("^" + ToRegex(pattern) + "$"), exclude, line));
        }
        return ignore;
    }

    /// <summary>True when the file at this context-relative path ('/'-separated) is left out of the build context.</summary>
    public bool Excludes(string path)
    {
        // A file is excluded when it or any of its parent directories matches; the last rule that matches decides.
        string[] parts = path.Split('/');
        bool excluded = false;
        foreach (var (pattern, exclude, _) in _rules)
        {
            for (int n = 1; n <= parts.Length; n++)
            {
                if (pattern.IsMatch(string.Join('/', parts, 0, n)))
                {
                    excluded = exclude;
                    break;
                }
            }
        }
        return excluded;
    }

    private static string ToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                i++;
                if (i + 1 < glob.Length && glob[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                else sb.Append(".*");
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
