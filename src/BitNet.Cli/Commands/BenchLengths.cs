namespace BitNet.Cli.Commands;

/// <summary>The prompt and generation lengths of `bitnet bench`, fitted to the model's context.</summary>
public static class BenchLengths
{
    /// <summary>
    /// Prefill needs one more position than its prompt (the first decoded token), decode two more than it generates
    /// (its start token and the last one fed). Lengths that do not fit are clamped; the note says so, naming both.
    /// </summary>
    public static (int Prompt, int Generate, string? Note) Fit(int prompt, int generate, int context)
    {
        int p = Math.Min(prompt, context - 1), n = Math.Min(generate, context - 2);
        if (p == prompt && n == generate) return (p, n, null);
        var changes = new List<string>();
        if (p != prompt) changes.Add($"-p {prompt} -> {p}");
        if (n != generate) changes.Add($"-n {generate} -> {n}");
        return (p, n, $"note: the model's context is {context} tokens; using {string.Join(", ", changes)}");
    }

    /// <summary>
    /// The decode depth (positions already in the cache) fitted so that depth + generated + 2 positions fit the
    /// context; a clamped depth comes with a note.
    /// </summary>
    public static (int Depth, string? Note) FitDepth(int depth, int generate, int context)
    {
        int d = Math.Max(0, Math.Min(depth, context - generate - 2));
        return d == depth ? (d, null) : (d, $"note: the model's context is {context} tokens; using -d {depth} -> {d} (with -n {generate})");
    }
}
