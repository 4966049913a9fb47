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
}
