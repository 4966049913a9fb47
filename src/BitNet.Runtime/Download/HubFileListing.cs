using System.Text.Json;

namespace BitNet.Runtime.Download;

/// <summary>One file of a hub repository, as the tree API lists it.</summary>
/// <param name="Path">Path inside the repository ('/'-separated).</param>
/// <param name="Size">Size in bytes, when listed.</param>
/// <param name="Sha256">Lower-case hex sha256 of the content for LFS files (the LFS oid); null for plain git files.</param>
internal sealed record HubFile(string Path, long? Size, string? Sha256);

/// <summary>
/// Reads the hub's tree API (<c>GET /api/models/{owner}/{repo}/tree/{revision}</c>: a JSON array of
/// <c>{type, path, size, lfs: {oid, size}}</c>) and picks the GGUF a reference without a file means.
/// </summary>
internal static class HubFileListing
{
    /// <summary>The files (not directories) of a tree API reply; throws <see cref="InvalidDataException"/> on anything else.</summary>
    public static List<HubFile> Parse(ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the hub's file list is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"the hub's file list is a JSON {document.RootElement.ValueKind}, expected an array");
            var files = new List<HubFile>();
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object) continue;
                if (entry.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "file") continue;
                if (!entry.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String) continue;
                long? size = ReadLong(entry, "size");
                string? sha = null;
                if (entry.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    size = ReadLong(lfs, "size") ?? size;
                    if (lfs.TryGetProperty("oid", out var oid) && oid.ValueKind == JsonValueKind.String)
                        sha = NormalizeSha256(oid.GetString());
                }
                files.Add(new HubFile(path.GetString()!, size, sha));
            }
            return files;
        }
    }

    /// <summary>
    /// The GGUF to use when the reference names none: <see cref="ModelReference.PreferredFileName"/> if present, else
    /// the only <c>*.gguf</c>. Throws <see cref="ModelDownloadException"/> listing the candidates otherwise.
    /// </summary>
    public static string ChooseGguf(IReadOnlyList<string> paths, ModelReference reference, string where)
    {
        var candidates = new List<string>();
        string? preferred = null;
        foreach (var path in paths)
        {
            if (!path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) continue;
            candidates.Add(path);
            if (FileName(path).Equals(ModelReference.PreferredFileName, StringComparison.OrdinalIgnoreCase))
                preferred = preferred is null || path.Length < preferred.Length ? path : preferred;
        }
        if (preferred is not null) return preferred;
        if (candidates.Count == 1) return candidates[0];
        string id = $"{reference.RepositoryId} at revision {reference.Revision}";
        if (candidates.Count == 0)
        {
            throw new ModelDownloadException(ModelDownloadFailure.NotFound,
                $"{id} has no .gguf file and no config.json + model.safetensors ({where} lists {Describe(paths)}): " +
                "pick a GGUF or safetensors repository (e.g. hf:microsoft/bitnet-b1.58-2B-4T-gguf) or pass --model /path/file.gguf");
        }
        candidates.Sort(StringComparer.Ordinal);
        throw new ModelDownloadException(ModelDownloadFailure.AmbiguousFile,
            $"{id} has {candidates.Count} GGUF files: {string.Join(", ", candidates)}; choose one by adding ':file.gguf', " +
            $"e.g. hf:{reference.RepositoryId}:{candidates[0]}");
    }

    /// <summary>Lower-case 64-digit hex, or null when <paramref name="text"/> is not a sha256.</summary>
    public static string? NormalizeSha256(string? text)
    {
        if (text is null) return null;
        string t = text.Trim();
        if (t.StartsWith("W/", StringComparison.Ordinal)) t = t[2..];
        t = t.Trim('"');
        if (t.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase)) t = t[7..];
        if (t.Length != 64) return null;
        foreach (char c in t)
            if (!char.IsAsciiHexDigit(c)) return null;
        return t.ToLowerInvariant();
    }

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string Describe(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) return "no files";
        const int shown = 10;
        string list = string.Join(", ", paths.Take(shown));
        return paths.Count > shown ? $"{list} and {paths.Count - shown} more" : list;
    }

    private static long? ReadLong(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long n) && n >= 0
            ? n : null;
}
