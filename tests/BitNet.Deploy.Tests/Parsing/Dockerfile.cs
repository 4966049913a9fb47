namespace BitNet.Deploy.Tests.Parsing;

/// <summary>One Dockerfile instruction with continuation lines joined and comments removed.</summary>
internal sealed record DockerInstruction(string Keyword, string Arguments, int Line);

/// <summary>A build stage: its FROM image (global ARGs substituted), its name and its instructions.</summary>
internal sealed record DockerStage(string Image, string? Name, IReadOnlyList<DockerInstruction> Instructions)
{
    public IEnumerable<DockerInstruction> All(string keyword) =>
        Instructions.Where(i => i.Keyword.Equals(keyword, StringComparison.OrdinalIgnoreCase));

    /// <summary>Variables set by ENV in this stage (both the KEY=value and the legacy "KEY value" forms).</summary>
    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var i in All("ENV"))
            {
                var words = ShellWords.Split(i.Arguments);
                if (words.Count == 2 && !words[0].Contains('=')) { env[words[0]] = words[1]; continue; }
                foreach (var w in words)
                {
                    int eq = w.IndexOf('=');
                    if (eq > 0) env[w[..eq]] = w[(eq + 1)..];
                }
            }
            return env;
        }
    }
}

/// <summary>A minimal Dockerfile reader: stages, instructions, global ARG defaults.</summary>
internal sealed class Dockerfile
{
    public required IReadOnlyList<DockerStage> Stages { get; init; }
    public required IReadOnlyDictionary<string, string> GlobalArgs { get; init; }

    public DockerStage Final => Stages[^1];

    public DockerStage Stage(string name) =>
        Stages.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new Xunit.Sdk.XunitException($"Dockerfile has no stage named '{name}' (stages: {string.Join(", ", Stages.Select(s => s.Name ?? s.Image))})");

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var current = new System.Text.StringBuilder();
        int startLine = 0;
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].TrimEnd();
            string trimmed = line.TrimStart();
            if (trimmed.StartsWith('#')) continue;          // comments (also inside continuations)
            if (current.Length == 0)
            {
                if (trimmed.Length == 0) continue;
                startLine = n + 1;
            }
            bool continues = line.EndsWith('\\');
            current.Append(continues ? line[..^1] : line).Append(' ');
            if (continues) continue;
            string joined = current.ToString().Trim();
            current.Clear();
            int space = joined.IndexOfAny([' ', '\t']);
            instructions.Add(space < 0
                ? new DockerInstruction(joined.ToUpperInvariant(), "", startLine)
                : new DockerInstruction(joined[..space].ToUpperInvariant(), joined[(space + 1)..].Trim(), startLine));
        }
        if (current.Length > 0) throw new FormatException("Dockerfile ends inside a line continuation");

        var globalArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<DockerStage>();
        List<DockerInstruction>? body = null;
        string? image = null, name = null;
        foreach (var i in instructions)
        {
            if (i.Keyword == "FROM")
            {
                if (body is not null) stages.Add(new DockerStage(image!, name, body));
                var words = ShellWords.Split(i.Arguments).Where(w => !w.StartsWith("--platform", StringComparison.Ordinal)).ToList();
                image = Substitute(words[0], globalArgs);
                name = words.Count >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                body = [];
            }
            else if (body is null)
            {
                if (i.Keyword != "ARG") throw new FormatException($"line {i.Line}: {i.Keyword} before the first FROM");
                int eq = i.Arguments.IndexOf('=');
                if (eq > 0) globalArgs[i.Arguments[..eq].Trim()] = i.Arguments[(eq + 1)..].Trim();
            }
            else body.Add(i);
        }
        if (body is not null) stages.Add(new DockerStage(image!, name, body));
        return new Dockerfile { Stages = stages, GlobalArgs = globalArgs };
    }

    private static string Substitute(string text, IReadOnlyDictionary<string, string> args)
    {
        foreach (var (k, v) in args) text = text.Replace("${" + k + "}", v).Replace("$" + k, v);
        return text;
    }
}

/// <summary>Splits a shell-like argument string on whitespace, honouring double and single quotes.</summary>
internal static class ShellWords
{
    public static IReadOnlyList<string> Split(string text)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        char quote = '\0';
        bool inWord = false;
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else word.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; inWord = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(word.ToString()); word.Clear(); inWord = false; }
            }
            else { word.Append(c); inWord = true; }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }
}
