using System.Reflection;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>One llama.cpp tokenizer test vector: the text and its ids without BOS.</summary>
public sealed record GoldenCase(int Index, string Text, int[] Ids)
{
    public override string ToString() => $"case {Index}: \"{Text}\"";
}

/// <summary>
/// Finds /work/shared-style reference data: the folder <c>shared</c> beside the repository (the directory holding
/// BitNet.Server.sln). Missing data fails the test with the path it looked for; nothing is skipped silently.
/// </summary>
internal static class TokenizerTestData
{
    public const int GoldenCaseCount = 46;
    private const string Separator = "__ggml_vocab_test__\n";

    private static readonly Lazy<string> SharedDirectory = new(FindSharedDirectory);

    public static string SharedFile(string relativePath)
    {
        string path = Path.Combine(SharedDirectory.Value, relativePath);
        if (!File.Exists(path))
            throw new FileNotFoundException($"tokenizer test data not found: {path} (expected in the 'shared' folder beside the repository)", path);
        return path;
    }

    /// <summary>Reads <c>golden.inp</c> / <c>golden.out</c> of a vocabulary folder (format: tokenizers/README.md).</summary>
    public static IReadOnlyList<GoldenCase> ReadGolden(string vocabularyFolder)
    {
        string input = File.ReadAllText(SharedFile(Path.Combine("tokenizers", vocabularyFolder, "golden.inp")));
        string[] output = File.ReadAllLines(SharedFile(Path.Combine("tokenizers", vocabularyFolder, "golden.out")));
        string[] parts = input.Split(Separator);
        Assert.True(parts[^1].Length == 0, "golden.inp must end with a separator line");
        var cases = new List<GoldenCase>();
        for (int i = 0; i < parts.Length - 1; i++)
        {
            string text = parts[i].EndsWith('\n') ? parts[i][..^1] : parts[i];
            string line = output[i].Trim();
            int[] ids = line.Length == 0 ? [] : Array.ConvertAll(line.Split(' '), int.Parse);
            cases.Add(new GoldenCase(i, text, ids));
        }
        Assert.Equal(output.Length, cases.Count);
        return cases;
    }

    public static TheoryData<int> CaseIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < GoldenCaseCount; i++) data.Add(i);
        return data;
    }

    private static string FindSharedDirectory()
    {
        var tried = new List<string>();
        foreach (string start in StartingPoints())
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "BitNet.Server.sln"))) continue;
                string shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                if (Directory.Exists(shared)) return shared;
                tried.Add(shared);
                break;
            }
        }
        throw new DirectoryNotFoundException(
            "tokenizer test data: no 'shared' folder beside the repository (the folder containing BitNet.Server.sln). " +
            $"Looked for: {(tried.Count > 0 ? string.Join(", ", tried) : "BitNet.Server.sln above " + string.Join(", ", StartingPoints()))}");
    }

    private static IEnumerable<string> StartingPoints()
    {
        // The build output may live outside the tree (--artifacts-path), so also start from this source file's path.
        foreach (var a in typeof(TokenizerTestData).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>())
            if (a is { Key: "RepoRoot", Value: { } root }) yield return root;
        yield return AppContext.BaseDirectory;
        yield return Path.GetDirectoryName(SourceFile()) ?? ".";
    }

    private static string SourceFile([CallerFilePath] string path = "") => path;
}
