using System.Security.Cryptography;

namespace BitNet.Runtime.Download;

/// <summary>
/// The on-disk cache: <c>{root}/{owner}/{repo}/{revision}/{file}</c> ('/' in a revision escaped so it stays one
/// directory), a <c>{file}.part</c> while downloading and a <c>{file}.sha256</c> sidecar (sha256sum format) once
/// verified. A file only appears under its final name after it was verified, so its presence means complete.
/// </summary>
internal sealed class ModelCache(string root)
{
    public const string PartSuffix = ".part";
    public const string SidecarSuffix = ".sha256";

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The directory of one repository revision.</summary>
    public string RevisionDirectory(ModelReference reference) =>
        Path.Combine(Root, reference.Owner!, reference.Repository!, Uri.EscapeDataString(reference.Revision!));

    /// <summary>Where the reference's file lives (or will) in the cache.</summary>
    public string FilePath(ModelReference reference)
    {
        if (reference.FilePath is null) throw new InvalidOperationException($"{reference} names no file yet");
        return Path.Combine([RevisionDirectory(reference), .. reference.FilePath.Split('/')]);
    }

    /// <summary>The repository paths of the complete GGUF files cached for the reference's revision.</summary>
    public List<string> CachedGgufFiles(ModelReference reference)
    {
        var files = new List<string>();
        string dir = RevisionDirectory(reference);
        if (!Directory.Exists(dir)) return files;
        foreach (var path in Directory.EnumerateFiles(dir, "*.gguf", SearchOption.AllDirectories))
            files.Add(Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/'));
        return files;
    }

    /// <summary>The sha256 the sidecar records, or null when there is none (or it is unreadable).</summary>
    public static string? ReadSidecar(string filePath)
    {
        string sidecar = filePath + SidecarSuffix;
        if (!File.Exists(sidecar)) return null;
        try
        {
            string text = File.ReadAllText(sidecar);
            int end = text.IndexOfAny([' ', '\t', '\r', '\n']);
            return HubFileListing.NormalizeSha256(end < 0 ? text : text[..end]);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Writes the sidecar atomically (temp file + rename) so a crash never leaves half a hash.</summary>
    public static void WriteSidecar(string filePath, string sha256)
    {
        string sidecar = filePath + SidecarSuffix;
        string temp = sidecar + ".tmp";
        File.WriteAllText(temp, $"{sha256}  {Path.GetFileName(filePath)}\n");
        File.Move(temp, sidecar, overwrite: true);
    }

    public static void DeleteWithSidecar(string filePath)
    {
        File.Delete(filePath);
        File.Delete(filePath + SidecarSuffix);
    }

    /// <summary>Lower-case hex sha256 of a whole file.</summary>
    public static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}
