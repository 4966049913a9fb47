namespace BitNet.Runtime.Download;

/// <summary>Where <see cref="ModelDownloader"/> downloads from and caches to.</summary>
public sealed record ModelDownloadOptions
{
    /// <summary>Hugging Face's hub.</summary>
    public const string DefaultHubBaseUrl = "https://huggingface.co";

    /// <summary>The hub's base URL (a mirror or a test server may replace it).</summary>
    public string HubBaseUrl { get; init; } = DefaultHubBaseUrl;

    /// <summary>Root of the cache: files land in <c>{cache}/{owner}/{repo}/{revision}/{file}</c>.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>Hub access token for gated or private repositories; null falls back to the <c>HF_TOKEN</c> environment variable.</summary>
    public string? Token { get; init; }

    /// <summary>
    /// Hash a cached file that has a <c>.sha256</c> sidecar before using it (about a second per GB). A file that fails
    /// is deleted and downloaded again.
    /// </summary>
    public bool VerifyCachedFiles { get; init; } = true;

    /// <summary>How many times a download cut off mid-file is resumed automatically before giving up (the part stays).</summary>
    public int MaxResumeAttempts { get; init; } = 3;

    /// <summary>Pause before an automatic resume.</summary>
    public TimeSpan ResumeDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A transfer that delivers no byte for this long is treated as cut off (HttpClient's timeout stops at the headers).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The environment variable that holds the cache directory.</summary>
    public const string CacheEnvironmentVariable = "BITNET_CACHE";

    /// <summary>The environment variable that holds the hub token when <see cref="Token"/> is not set.</summary>
    public const string TokenEnvironmentVariable = "HF_TOKEN";

    /// <summary><see cref="Token"/>, else <c>$HF_TOKEN</c>, else null.</summary>
    public string? ResolveToken()
    {
        string? token = string.IsNullOrWhiteSpace(Token) ? Environment.GetEnvironmentVariable(TokenEnvironmentVariable) : Token;
        return string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    /// <summary><c>$BITNET_CACHE</c>, else <c>$XDG_CACHE_HOME/bitnet</c>, else <c>~/.cache/bitnet</c>.</summary>
    public static string DefaultCacheDirectory() =>
        DefaultCacheDirectory(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The same rule with the environment and home directory given (for tests).</summary>
    public static string DefaultCacheDirectory(Func<string, string?> environment, string homeDirectory)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? explicitDir = environment(CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitDir)) return Path.GetFullPath(explicitDir);
        // The XDG spec says relative values are invalid and must be ignored.
        string? xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg)) return Path.Combine(xdg, "bitnet");
        if (string.IsNullOrEmpty(homeDirectory))
            throw new InvalidOperationException($"no cache directory: set {CacheEnvironmentVariable} (the home directory is unknown)");
        return Path.Combine(homeDirectory, ".cache", "bitnet");
    }
}

/// <summary>A download's progress: bytes on disk so far (a resumed part counts), the file's size when known, the current speed.</summary>
/// <param name="FileName">The file being downloaded (its path inside the repository).</param>
/// <param name="BytesDone">Bytes of the file on disk so far.</param>
/// <param name="TotalBytes">The file's size, when the hub said it.</param>
/// <param name="BytesPerSecond">Transfer speed over this request so far (0 before the first bytes).</param>
public readonly record struct DownloadProgress(string FileName, long BytesDone, long? TotalBytes, double BytesPerSecond)
{
    /// <summary>Done as a fraction in [0, 1], when the size is known.</summary>
    public double? Fraction => TotalBytes is > 0 ? Math.Min(1.0, (double)BytesDone / TotalBytes.Value) : null;
}

/// <summary>Why a download failed (the message says what to do).</summary>
public enum ModelDownloadFailure
{
    /// <summary>The repository, revision or file does not exist (HTTP 404), or the repository holds no usable GGUF.</summary>
    NotFound,
    /// <summary>The hub refused access (HTTP 401/403): the repository is gated or private and needs a token.</summary>
    Unauthorized,
    /// <summary>The hub could not be reached at all (offline, DNS, refused, timed out).</summary>
    Unreachable,
    /// <summary>The transfer was cut off and the automatic resumes ran out; the part file is kept for the next try.</summary>
    Interrupted,
    /// <summary>The repository holds several GGUF files and the reference named none.</summary>
    AmbiguousFile,
    /// <summary>Any other HTTP error (rate limit, server error, unexpected reply).</summary>
    HttpError,
}

/// <summary>A download failure with a message that says what to do about it.</summary>
public sealed class ModelDownloadException(ModelDownloadFailure failure, string message, Exception? inner = null)
    : IOException(message, inner)
{
    /// <summary>What went wrong, for callers that react differently (e.g. retry only <see cref="ModelDownloadFailure.Interrupted"/>).</summary>
    public ModelDownloadFailure Failure { get; } = failure;
}
