using BitNet.Extensions.AI;

namespace BitNet.Extensions.AI.Tests;

/// <summary>The repository and its bundled model (models/stories3m-b158-i2_s.gguf, 512-token context and vocabulary).</summary>
internal static class TestModel
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string BundledModelPath => Path.Combine(RepoRoot, "models", "stories3m-b158-i2_s.gguf");

    public static string Configuration => Metadata("Configuration") ?? "Debug";

    /// <summary>Two worker threads: the development machines have two cores shared by several test runs.</summary>
    public static BitNetModelHost Load(int parallel = 4, int batchTokens = 64) => BitNetModelHost.Load(BundledModelPath,
        new BitNetModelHostOptions { MaxParallelSequences = parallel, Threads = 2, MaxBatchTokens = batchTokens });

    private static string? Metadata(string key)
    {
        foreach (var a in typeof(TestModel).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false))
            if (a is System.Reflection.AssemblyMetadataAttribute m && m.Key == key) return m.Value;
        return null;
    }

    private static string FindRepoRoot()
    {
        if (Metadata("RepoRoot") is { } root && File.Exists(Path.Combine(root, "BitNet.Server.sln"))) return root;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BitNet.Server.sln"))) return dir.FullName;
        throw new InvalidOperationException($"BitNet.Server.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>One host per test class: loading the bundled model takes milliseconds, but the engine thread is per host.</summary>
public sealed class HostFixture : IDisposable
{
    public BitNetModelHost Host { get; } = TestModel.Load();

    public void Dispose() => Host.Dispose();
}
