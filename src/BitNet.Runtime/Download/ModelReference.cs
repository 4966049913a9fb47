using System.Diagnostics.CodeAnalysis;

namespace BitNet.Runtime.Download;

/// <summary>
/// Where a model comes from: a local GGUF path, or a file in a Hugging Face repository.
/// Accepted forms (the <c>@revision</c> is optional, default <c>main</c>):
/// <code>
/// /models/ggml-model-i2_s.gguf                       a local path (anything not starting with "hf:")
/// hf:owner/repo                                      the repository's GGUF, chosen from its file list
/// hf:owner/repo:file.gguf   hf:owner/repo@rev:dir/file.gguf   hf:owner/repo:file.gguf@rev
/// hf://owner/repo/file.gguf hf://owner/repo@rev/dir/file.gguf
/// </code>
/// </summary>
public sealed record ModelReference
{
    /// <summary>The revision used when a reference names none.</summary>
    public const string DefaultRevision = "main";

    /// <summary>The file preferred when a reference names none (the official BitNet b1.58 GGUF's name).</summary>
    public const string PreferredFileName = "ggml-model-i2_s.gguf";

    private const string Prefix = "hf:";
    private const string UrlPrefix = "hf://";

    private ModelReference() { }

    /// <summary>The local path, for a local reference; null for a hub reference.</summary>
    public string? LocalPath { get; private init; }

    /// <summary>The repository's owner (user or organization), for a hub reference.</summary>
    public string? Owner { get; private init; }

    /// <summary>The repository's name, for a hub reference.</summary>
    public string? Repository { get; private init; }

    /// <summary>Branch, tag or commit (a hub reference always has one).</summary>
    public string? Revision { get; private init; }

    /// <summary>The file's path inside the repository ('/'-separated); null when the repository's GGUF is to be chosen.</summary>
    public string? FilePath { get; private init; }

    /// <summary>True for a local path.</summary>
    [MemberNotNullWhen(true, nameof(LocalPath))]
    [MemberNotNullWhen(false, nameof(Owner), nameof(Repository), nameof(Revision))]
    public bool IsLocal => LocalPath is not null;

    /// <summary><c>owner/repo</c>, for a hub reference.</summary>
    public string? RepositoryId => IsLocal ? null : $"{Owner}/{Repository}";

    /// <summary>A local file reference (the path is not checked here).</summary>
    public static ModelReference Local(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ModelReference { LocalPath = path };
    }

    /// <summary>A hub reference; every part is validated as <see cref="Parse"/> would.</summary>
    public static ModelReference HuggingFace(string owner, string repository, string? filePath = null, string revision = DefaultRevision)
    {
        string text = $"hf:{owner}/{repository}@{revision}" + (filePath is null ? "" : ":" + filePath);
        CheckName(owner, "owner", text);
        CheckName(repository, "repository", text);
        CheckRevision(revision, text);
        if (filePath is not null) CheckFilePath(filePath, text);
        return new ModelReference { Owner = owner, Repository = repository, Revision = revision, FilePath = filePath };
    }

    /// <summary>Parses a model setting; throws <see cref="ArgumentException"/> saying what is wrong and what is expected.</summary>
    public static ModelReference Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        if (trimmed.Length == 0) throw new ArgumentException("model reference is empty: give a GGUF path or hf:owner/repo[:file.gguf]");
        if (!trimmed.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)) return Local(trimmed);

        bool url = trimmed.StartsWith(UrlPrefix, StringComparison.OrdinalIgnoreCase);
        string body = trimmed[(url ? UrlPrefix.Length : Prefix.Length)..];
        string repoPart, filePart;
        if (url)
        {
            // hf://owner/repo[@rev][/dir/file.gguf]: the repository is the first two segments.
            int first = body.IndexOf('/');
            int second = first < 0 ? -1 : body.IndexOf('/', first + 1);
            repoPart = second < 0 ? body : body[..second];
            filePart = second < 0 ? "" : body[(second + 1)..];
        }
        else
        {
            int colon = body.IndexOf(':');
            repoPart = colon < 0 ? body : body[..colon];
            filePart = colon < 0 ? "" : body[(colon + 1)..];
            if (colon >= 0 && filePart.Length == 0)
                throw Malformed(text, "nothing follows ':'; name a file (hf:owner/repo:file.gguf) or drop the ':'");
        }

        string? revision = null;
        int at = repoPart.IndexOf('@');
        if (at >= 0)
        {
            revision = repoPart[(at + 1)..];
            repoPart = repoPart[..at];
            if (revision.Length == 0) throw Malformed(text, "'@' is not followed by a revision");
        }
        int fileAt = filePart.LastIndexOf('@');
        if (fileAt >= 0)
        {
            if (revision is not null) throw Malformed(text, "two revisions given; put one '@revision' after the repository");
            revision = filePart[(fileAt + 1)..];
            filePart = filePart[..fileAt];
            if (revision.Length == 0) throw Malformed(text, "'@' is not followed by a revision");
        }

        var names = repoPart.Split('/');
        if (names.Length != 2 || names[0].Length == 0 || names[1].Length == 0)
            throw Malformed(text, $"'{repoPart}' is not owner/repo");
        CheckName(names[0], "owner", text);
        CheckName(names[1], "repository", text);
        revision ??= DefaultRevision;
        CheckRevision(revision, text);
        string? file = filePart.Length == 0 ? null : filePart;
        if (file is not null) CheckFilePath(file, text);
        return new ModelReference { Owner = names[0], Repository = names[1], Revision = revision, FilePath = file };
    }

    /// <summary>The same reference with <paramref name="filePath"/> as its file (used once the GGUF is chosen).</summary>
    public ModelReference WithFile(string filePath)
    {
        if (IsLocal) throw new InvalidOperationException("a local reference has no repository file");
        CheckFilePath(filePath, ToString());
        return this with { FilePath = filePath };
    }

    /// <summary>The same reference naming one file of a Hugging Face model directory (config.json, a safetensors shard):
    /// checked like a GGUF path but with any extension.</summary>
    internal ModelReference WithDirectoryFile(string filePath)
    {
        if (IsLocal) throw new InvalidOperationException("a local reference has no repository file");
        CheckFilePath(filePath, ToString(), requireGguf: false);
        return this with { FilePath = filePath };
    }

    /// <summary>The canonical form: the path, or <c>hf:owner/repo@revision[:file]</c> (parses back to an equal reference).</summary>
    public override string ToString() =>
        IsLocal ? LocalPath : $"hf:{Owner}/{Repository}@{Revision}" + (FilePath is null ? "" : ":" + FilePath);

    // Hub names are [A-Za-z0-9._-], at most 96 characters; "." and ".." would escape the cache directory.
    private static void CheckName(string name, string what, string text)
    {
        if (name.Length is 0 or > 96) throw Malformed(text, $"the {what} name must have 1 to 96 characters");
        if (name is "." or "..") throw Malformed(text, $"'{name}' is not a valid {what} name");
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                throw Malformed(text, $"the {what} name '{name}' contains '{c}'; only letters, digits, '-', '_' and '.' are allowed");
        }
    }

    // Branches, tags, commit hashes and refs/pr/N; the cache escapes '/' so a revision stays one directory.
    private static void CheckRevision(string revision, string text)
    {
        if (revision.Length is 0 or > 200) throw Malformed(text, "the revision must have 1 to 200 characters");
        foreach (char c in revision)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
                throw Malformed(text, $"the revision '{revision}' contains '{c}'");
        }
        foreach (var segment in revision.Split('/'))
        {
            if (segment is "" or "." or "..") throw Malformed(text, $"the revision '{revision}' has an empty, '.' or '..' segment");
        }
    }

    // The file path becomes a path under the cache directory: no absolute paths, no '..', no backslashes.
    private static void CheckFilePath(string path, string text, bool requireGguf = true)
    {
        if (path.Length > 1000) throw Malformed(text, "the file path is longer than 1000 characters");
        foreach (char c in path)
        {
            if (char.IsControl(c) || c is '\\' or ':' or '*' or '?' or '"' or '<' or '>' or '|')
                throw Malformed(text, $"the file path '{path}' contains '{c}'");
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or "." or "..") throw Malformed(text, $"the file path '{path}' has an empty, '.' or '..' segment");
        }
        if (requireGguf && !path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            throw Malformed(text, $"'{path}' is not a .gguf file; models are loaded from GGUF files");
    }

    private static ArgumentException Malformed(string text, string problem) =>
        new($"model reference '{text}' is malformed: {problem}. Expected a GGUF path, hf:owner/repo[@revision][:file.gguf] " +
            "or hf://owner/repo[@revision]/file.gguf");
}
