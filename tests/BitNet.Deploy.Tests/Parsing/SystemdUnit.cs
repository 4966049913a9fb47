namespace BitNet.Deploy.Tests.Parsing;

/// <summary>A systemd unit file: sections of key=value settings; a key may repeat (Environment=, ...).</summary>
internal sealed class SystemdUnit
{
    private readonly Dictionary<string, List<KeyValuePair<string, string>>> _sections = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Sections => _sections.Keys;

    /// <summary>Every value of a key in a section, in file order (empty when absent).</summary>
    public IReadOnlyList<string> Values(string section, string key) =>
        _sections.TryGetValue(section, out var entries) ? entries.Where(e => e.Key == key).Select(e => e.Value).ToList() : [];

    /// <summary>The effective (last) value of a key, or null.</summary>
    public string? Value(string section, string key) => Values(section, key) is { Count: > 0 } v ? v[^1] : null;

    public static SystemdUnit Parse(string text)
    {
        var unit = new SystemdUnit();
        List<KeyValuePair<string, string>>? current = null;
        int n = 0;
        foreach (string raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            n++;
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                if (!line.EndsWith(']')) throw new FormatException($"line {n}: malformed section header '{line}'");
                string name = line[1..^1];
                if (!unit._sections.TryGetValue(name, out current)) unit._sections[name] = current = [];
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0) throw new FormatException($"line {n}: expected Key=Value, found '{line}'");
            if (current is null) throw new FormatException($"line {n}: setting outside a section");
            current.Add(KeyValuePair.Create(line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }
        return unit;
    }
}
