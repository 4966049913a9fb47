namespace BitNet.Runtime.Tests;

/// <summary>Locates the repository and the shared reference folder (../shared beside the repo).</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string SharedFile(params string[] parts)
    {
        string path = Path.Combine([Shared, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException(
                $"reference data not found at {path}: the tests expect the shared folder beside the repository (../shared)", path);
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
