using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace BitNet.Server.Options;

/// <summary>One server flag: its names, the setting it sets, and what the help text says about it.</summary>
/// <param name="Names">Long name first, then short aliases (llama-server's spellings).</param>
/// <param name="Setting">Property of <see cref="ServerOptions"/> it sets, or null for --host / --port / --urls.</param>
/// <param name="Help">One line for --help.</param>
/// <param name="Kind">How the value is read.</param>
/// <param name="Default">Default shown in --help when the property's own value says too little.</param>
public sealed record ServerFlag(string[] Names, string? Setting, string Help, FlagKind Kind = FlagKind.Text, string? Default = null)
{
    public string Name => Names[0];

    /// <summary>The configuration key (BitNet:Parallel), also what BitNet__Parallel sets.</summary>
    public string? Key => Setting is null ? null : $"{ServerOptions.Section}:{Setting}";

    public string? EnvironmentVariable => Setting is null ? null : $"{ServerOptions.Section}__{Setting}";
}

public enum FlagKind
{
    /// <summary>Any text.</summary>
    Text,

    /// <summary>An integer within the property's [Range].</summary>
    Integer,

    /// <summary>No value: present = true.</summary>
    Switch,

    /// <summary>May be given several times; each value becomes an item of a list setting.</summary>
    Repeatable,
}

/// <summary>A start-up problem caused by the user's configuration: printed as one line, never with a stack trace.</summary>
public sealed class StartupException(string message, int exitCode = 2) : Exception(message)
{
    /// <summary>2 for bad flags and settings (as command-line tools do), 1 for a model or address that cannot be used.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>What the command line asked for.</summary>
/// <param name="Settings">Configuration pairs of the recognized flags.</param>
/// <param name="Remaining">Arguments for the standard providers (--urls, --Section:Key=value).</param>
/// <param name="Exit">Set when the process should end at once (--help, --version) with this exit code.</param>
public sealed record CommandLine(Dictionary<string, string?> Settings, string[] Remaining, int? Exit = null);

/// <summary>
/// The server's flags, in one table that parsing, validation messages and --help all read: llama-server's names so
/// people and scripts can switch (`--model PATH`, `--ctx-size`, `--parallel`, repeatable `--api-key`, ...). Values are
/// checked here, so `--parallel 0` or `--ctx-size abc` ends with one line naming the flag and its accepted range.
/// `--urls` and configuration keys (`--BitNet:X=Y`, `--Serilog:...`) pass through to the standard providers.
/// </summary>
public static class CommandLineArguments
{
    public static readonly IReadOnlyList<ServerFlag> Flags =
    [
        new(["--model", "-m"], nameof(ServerOptions.Model), "GGUF model path, or hf:owner/repo[:file.gguf] to download into the cache", Default: "the bundled model"),
        new(["--alias", "-a"], nameof(ServerOptions.Alias), "model id that clients send and /v1/models lists", Default: "the file name"),
        new(["--ctx-size", "-c"], nameof(ServerOptions.ContextSize), "context length per sequence (0 = the model's trained context)", FlagKind.Integer),
        new(["--parallel", "-np"], nameof(ServerOptions.Parallel), "sequences decoded together (KV slots)", FlagKind.Integer),
        new(["--threads", "-t"], nameof(ServerOptions.Threads), "kernel threads (0 = processor count)", FlagKind.Integer),
        new(["--kernels"], nameof(ServerOptions.Kernels), "kernel variant: auto, AVX-512, AVX-VNNI, AVX-512BW, AVX2, AdvSimd+Dp, AdvSimd or scalar", Default: "$BITNET_KERNELS or auto"),
        new(["--kv-type"], nameof(ServerOptions.KvCacheType), "KV cache storage: f16, f32 or q8_0", Default: "f16"),
        new(["--head"], nameof(ServerOptions.Head), "LM head storage: native or q8_0 (requantized at load)", Default: "native"),
        new(["--batch-size", "-b"], nameof(ServerOptions.MaxBatchTokens), "tokens per engine step (decode tokens + prompt chunks)", FlagKind.Integer),
        new(["--n-predict", "-n"], nameof(ServerOptions.DefaultMaxTokens), "max_tokens when a request does not say", FlagKind.Integer),
        new(["--timeout"], nameof(ServerOptions.RequestTimeoutSeconds), "server-wide request deadline in seconds", FlagKind.Integer),
        new(["--api-key"], nameof(ServerOptions.ApiKeys), "accepted bearer key (repeatable; none = auth off)", FlagKind.Repeatable, "none"),
        new(["--api-key-file"], nameof(ServerOptions.ApiKeyFile), "file with one API key per line", Default: "none"),
        new(["--cors-origin"], nameof(ServerOptions.CorsOrigins), "browser origin allowed to call the API (repeatable)", FlagKind.Repeatable, "none"),
        new(["--chat-format"], nameof(ServerOptions.ChatFormat), "bitnet-2b4t, llama3, chatml, falcon3 or plain", Default: "detected from the model"),
        new(["--strict-model-names"], nameof(ServerOptions.StrictModelNames), "answer 404 model_not_found to a model name other than the alias", FlagKind.Switch),
        new(["--log-prompts"], nameof(ServerOptions.LogPrompts), "log prompt text (off: prompts are private)", FlagKind.Switch),
        new(["--cache-dir"], nameof(ServerOptions.CacheDirectory), "where hf: models are downloaded", Default: "$BITNET_CACHE or ~/.cache/bitnet"),
        new(["--hub"], nameof(ServerOptions.HubBaseUrl), "model hub for hf: references"),
        new(["--host"], null, "address to listen on (with --port)", Default: "127.0.0.1"),
        new(["--port"], null, "port to listen on, 1..65535", FlagKind.Integer, "8080"),
        new(["--urls"], null, "listen URLs, e.g. http://0.0.0.0:8080 (env URLS or ASPNETCORE_URLS)", Default: "http://127.0.0.1:8080"),
    ];

    /// <summary>Host settings the standard providers understand as `--name=value` (WebApplicationFactory passes them too).</summary>
    private static readonly HashSet<string> HostKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "environment", "contentRoot", "applicationName", "webroot", "hostingStartupAssemblies",
        "hostingStartupExcludeAssemblies", "preventHostingStartup", "detailedErrors", "shutdownTimeoutSeconds",
        "http_ports", "https_ports", "AllowedHosts",
    };

    /// <summary>The flag that sets <paramref name="setting"/> (a property of <see cref="ServerOptions"/>), if any.</summary>
    public static ServerFlag? ForSetting(string setting) =>
        Flags.FirstOrDefault(f => string.Equals(f.Setting, setting, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads <paramref name="args"/>. --help / -h and --version write to <paramref name="output"/> and set
    /// <see cref="CommandLine.Exit"/>; an unknown flag or a bad value throws a <see cref="StartupException"/>.
    /// </summary>
    public static CommandLine Parse(string[] args, TextWriter output)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var rest = new List<string>();
        var lists = new Dictionary<string, List<string>>();
        string? host = null, port = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                output.Write(Help());
                return new CommandLine(settings, [], Exit: 0);
            }
            if (arg == "--version")
            {
                output.WriteLine($"BitNet.Server {Version}");
                return new CommandLine(settings, [], Exit: 0);
            }
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith('-') && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            var flag = Flags.FirstOrDefault(f => f.Names.Contains(arg, StringComparer.Ordinal));
            if (flag is null)
            {
                string name = arg.TrimStart('-');
                // Configuration keys pass through; WebApplicationFactory also sends each section itself as "--BitNet=".
                if (arg.StartsWith("--", StringComparison.Ordinal) && (name.Contains(':') || HostKeys.Contains(name) || inline == ""))
                {
                    rest.Add(args[i]);
                    if (inline is null && i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) rest.Add(args[++i]);
                    continue;
                }
                throw new StartupException(arg.StartsWith('-')
                    ? $"unknown flag {arg}; see --help for the flags the server accepts"
                    : $"unexpected argument '{arg}'; flags take the form --name value (see --help)");
            }

            if (flag.Kind == FlagKind.Switch)
            {
                settings[flag.Key!] = inline ?? "true";
                if (!bool.TryParse(settings[flag.Key!], out _)) throw new StartupException($"{flag.Name}: '{inline}' is not true or false");
                continue;
            }
            string value = inline ?? (i + 1 < args.Length ? args[++i] : throw new StartupException($"{flag.Name} needs a value ({flag.Help})"));
            if (flag.Kind == FlagKind.Integer) CheckInteger(flag, value);
            switch (flag.Name)
            {
                case "--host": host = value; break;
                case "--port": port = value; break;
                case "--urls": settings["urls"] = value; break;
                default:
                    if (flag.Kind == FlagKind.Repeatable)
                    {
                        if (!lists.TryGetValue(flag.Key!, out var list)) lists[flag.Key!] = list = [];
                        list.Add(value);
                    }
                    else settings[flag.Key!] = value;
                    break;
            }
        }
        foreach (var (key, values) in lists)
            for (int i = 0; i < values.Count; i++) settings[$"{key}:{i}"] = values[i];
        if (host is not null || port is not null)
        {
            string h = host ?? "127.0.0.1";
            if (h.Contains(':') && !h.StartsWith('[')) h = $"[{h}]";
            settings["urls"] = $"http://{h}:{port ?? "8080"}";
        }
        return new CommandLine(settings, rest.ToArray());
    }

    /// <summary>The accepted range of an integer setting or flag, e.g. "1..256".</summary>
    public static (long Min, long Max) RangeOf(ServerFlag flag)
    {
        if (flag.Name == "--port") return (1, 65535);
        var range = typeof(ServerOptions).GetProperty(flag.Setting!)!.GetCustomAttribute<RangeAttribute>()!;
        return (Convert.ToInt64(range.Minimum, CultureInfo.InvariantCulture), Convert.ToInt64(range.Maximum, CultureInfo.InvariantCulture));
    }

    private static void CheckInteger(ServerFlag flag, string value)
    {
        var (min, max) = RangeOf(flag);
        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new StartupException($"{flag.Name}: '{value}' is not an integer (accepted: {min}..{max})");
        if (v < min || v > max)
            throw new StartupException($"{flag.Name}: {value} is out of range (accepted: {min}..{max})");
    }

    public static string Version =>
        typeof(CommandLineArguments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(CommandLineArguments).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Every flag with its environment variable and default.</summary>
    public static string Help()
    {
        var defaults = new ServerOptions();
        var text = new StringBuilder();
        text.AppendLine("BitNet.Server: an OpenAI-compatible server for 1.58-bit (ternary) language models on CPUs.");
        text.AppendLine();
        text.AppendLine("usage: BitNet.Server [flags]");
        text.AppendLine("Every setting can also come from appsettings.json (section BitNet) or an environment variable.");
        text.AppendLine();
        foreach (var f in Flags)
        {
            string names = string.Join(", ", f.Names) + f.Kind switch
            {
                FlagKind.Switch => "",
                FlagKind.Integer => " N",
                _ => " VALUE",
            };
            string env = f.EnvironmentVariable ?? (f.Name == "--urls" ? "URLS" : "");
            string range = f.Kind == FlagKind.Integer ? $" [{RangeOf(f).Min}..{RangeOf(f).Max}]" : "";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {names,-26} {f.Help}{range}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  {"",-26} default: {DefaultText(f, defaults)}{(env.Length > 0 ? $"; env {env}" : "")}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--help, -h",-26} print this help and exit");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {"--version",-26} print the version and exit");
        text.AppendLine();
        text.AppendLine("Other settings (MaxQueuedRequests, MaxRequestBodyBytes, Sampling:Temperature, ...) have no flag: use");
        text.AppendLine("BitNet__Name=value or --BitNet:Name=value. See the README's configuration table.");
        return text.ToString();
    }

    private static string DefaultText(ServerFlag f, ServerOptions defaults)
    {
        if (f.Default is not null) return f.Default;
        object? value = typeof(ServerOptions).GetProperty(f.Setting!)!.GetValue(defaults);
        return value switch
        {
            bool b => b ? "on" : "off",
            null or "" => "none",
            _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        };
    }
}
