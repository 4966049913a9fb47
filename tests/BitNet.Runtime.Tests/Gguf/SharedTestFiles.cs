using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Tests.Gguf;

/// <summary>
/// Locates the shared model files: the folder <c>shared</c> beside the repository (the directory holding
/// BitNet.Server.sln). Missing files fail the test with the path that was looked for; nothing is skipped silently.
/// </summary>
internal static class SharedTestFiles
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string Path(string relative)
    {
        string path = System.IO.Path.Combine(Root.Value, relative);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"shared test file not found: {path}", path);
        return path;
    }

    /// <summary>Every GGUF file under shared/reference and shared/models, relative to the shared folder.</summary>
    public static TheoryData<string> AllGgufFiles()
    {
        var data = new TheoryData<string>();
        foreach (string folder in new[] { "reference", "models" })
            foreach (string file in Directory.EnumerateFiles(Path(folder), "*.gguf", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                data.Add(System.IO.Path.GetRelativePath(Root.Value, file));
        return data;
    }

    private static string FindRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, System.IO.Path.GetDirectoryName(SourceFile()) ?? "." })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "BitNet.Server.sln")))
                {
                    string shared = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared"));
                    if (Directory.Exists(shared)) return shared;
                    throw new DirectoryNotFoundException($"no 'shared' folder beside the repository: looked for {shared}");
                }
        throw new DirectoryNotFoundException("BitNet.Server.sln not found above the test assembly or its source file");
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
