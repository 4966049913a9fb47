using System.CommandLine;
using System.Globalization;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Threading;

namespace BitNet.Cli.Commands;

/// <summary>Options several commands share, with the same names everywhere (scripts depend on them).</summary>
internal static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "Path of a GGUF model file or a Hugging Face model directory",
        Required = true,
    };

    public static Option<int> Threads() => new("--threads", "-t")
    {
        Description = "Worker threads for the kernels (default: processor count)",
        DefaultValueFactory = _ => WorkerPool.DefaultThreadCount,
    };

    public static Option<string> Kernels() => new("--kernels")
    {
        Description = $"Kernel variant: auto (the best this CPU runs), {string.Join(", ", KernelSet.All.Select(k => k.Name))} " +
            $"(default: ${KernelSet.EnvironmentVariable} or auto)",
    };

    /// <summary>The variant named by --kernels, or the default (BITNET_KERNELS, else the best); a bad name is a user error.</summary>
    public static KernelSet ParseKernels(string? name)
    {
        try
        {
            return name is null ? KernelSet.Default : KernelSet.Select(name);
        }
        catch (ArgumentException e)
        {
            throw new CliException(name is null ? $"{KernelSet.EnvironmentVariable}: {e.Message}" : $"--kernels: {e.Message}");
        }
    }

    public static Option<string> KvType() => new("--kv-type")
    {
        Description = "KV cache storage: f16 (default, half the memory), f32 or q8_0 (0.56 of f16)",
        DefaultValueFactory = _ => "f16",
    };

    public static KvCacheType ParseKvType(string text) => text.Trim().ToLowerInvariant() switch
    {
        "f16" => KvCacheType.F16,
        "f32" => KvCacheType.F32,
        "q8_0" => KvCacheType.Q8_0,
        _ => throw new CliException($"--kv-type: '{text}' is not one of f16, f32, q8_0"),
    };

    public static Option<string> Tokens(bool required) => new("--tokens")
    {
        Description = "Comma-separated token ids, e.g. 1,403,407",
        Required = required,
    };

    /// <summary>Parses "1,403,407"; throws a message that names the bad item.</summary>
    public static int[] ParseTokenList(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new CliException("--tokens: no token ids given");
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]))
                throw new CliException($"--tokens: '{parts[i]}' is not a token id");
        }
        return ids;
    }

    public static int CheckThreads(int threads) =>
        threads is >= 1 and <= 1024 ? threads : throw new CliException($"--threads: {threads} is not in 1..1024");
}

/// <summary>A user error: printed without a stack trace, exit code 2.</summary>
internal sealed class CliException(string message) : Exception(message);

internal static class CliRunner
{
    /// <summary>Runs a command body, turning expected failures into one clear line on stderr.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or NotSupportedException
            or ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
