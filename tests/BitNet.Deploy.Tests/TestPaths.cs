namespace BitNet.Deploy.Tests;

/// <summary>Locates the repository root and files in it.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The absolute path of a repository file; fails with the path when it does not exist.</summary>
    public static string File(string relativePath)
    {
        string path = Path.Combine(RepoRoot, relativePath.Replace('/', Path.DirectorySeparatorChar));
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"expected repository file {relativePath} at {path}", path);
        return path;
    }

    public static string ReadText(string relativePath) => System.IO.File.ReadAllText(File(relativePath));

    private static string FindRepoRoot()
    {
        // Built in at compile time, so it also works when bin/ lives outside the tree (--artifacts-path).
        foreach (var a in typeof(TestPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false))
        {
            if (a is System.Reflection.AssemblyMetadataAttribute { Key: "RepoRoot", Value: { } root }
                && System.IO.File.Exists(Path.Combine(root, "BitNet.Server.sln")))
                return root;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "BitNet.Server.sln"))) return dir.FullName;
        throw new InvalidOperationException($"BitNet.Server.sln not found above {AppContext.BaseDirectory}");
    }
}
