namespace BitNet.Server.Tests;

/// <summary>Locates the repository (and so the bundled model) wherever the test binaries were built to.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The model the server serves when BitNet:Model is empty.</summary>
    public static string BundledModel => RepoFile("models", "stories3m-b158-i2_s.gguf");

    public static string RepoFile(params string[] parts)
    {
        string path = Path.Combine([RepoRoot, .. parts]);
        if (!File.Exists(path)) throw new FileNotFoundException($"expected file not found in the repository: {path}", path);
        return path;
    }

    private static string FindRepoRoot()
    {
        // Built-in at compile time, so it also works when bin/ lives outside the tree (--artifacts-path).
        foreach (var a in typeof(TestPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false))
        {
            if (a is System.Reflection.AssemblyMetadataAttribute { Key: "RepoRoot", Value: { } root }
                && File.Exists(Path.Combine(root, "BitNet.Server.sln")))
                return root;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BitNet.Server.sln"))) return dir.FullName;
        throw new InvalidOperationException($"BitNet.Server.sln not found above {AppContext.BaseDirectory}");
    }
}
