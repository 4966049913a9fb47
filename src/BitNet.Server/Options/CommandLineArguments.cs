namespace BitNet.Server.Options;

/// <summary>
/// Accepts llama-server's flag names so people and scripts can switch (`--model PATH`, `--alias`, `--host`, `--port`,
/// `--ctx-size`, `--parallel`, `--threads`, repeatable `--api-key`, `--api-key-file`) and turns them into
/// configuration keys; anything else (`--urls`, `--BitNet:X=Y`) passes through to the standard providers.
/// </summary>
public static class CommandLineArguments
{
    private static readonly Dictionary<string, string> Keys = new(StringComparer.Ordinal)
    {
        ["--model"] = "BitNet:Model", ["-m"] = "BitNet:Model",
        ["--alias"] = "BitNet:Alias", ["-a"] = "BitNet:Alias",
        ["--ctx-size"] = "BitNet:ContextSize", ["-c"] = "BitNet:ContextSize",
        ["--parallel"] = "BitNet:Parallel", ["-np"] = "BitNet:Parallel",
        ["--threads"] = "BitNet:Threads", ["-t"] = "BitNet:Threads",
        ["--batch-size"] = "BitNet:MaxBatchTokens", ["-b"] = "BitNet:MaxBatchTokens",
        ["--api-key-file"] = "BitNet:ApiKeyFile",
        ["--chat-format"] = "BitNet:ChatFormat",
        ["--cache-dir"] = "BitNet:CacheDirectory",
        ["--hub"] = "BitNet:HubBaseUrl",
        ["--n-predict"] = "BitNet:DefaultMaxTokens", ["-n"] = "BitNet:DefaultMaxTokens",
        ["--timeout"] = "BitNet:RequestTimeoutSeconds",
    };

    /// <summary>Returns configuration pairs for the known flags and the arguments left for the default parser.</summary>
    public static (Dictionary<string, string?> Settings, string[] Remaining) Translate(string[] args)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var rest = new List<string>();
        var apiKeys = new List<string>();
        var corsOrigins = new List<string>();
        string? host = null, port = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith('-') && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            string Value() => inline ?? (i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value"));

            if (Keys.TryGetValue(arg, out var key)) settings[key] = Value();
            else if (arg == "--api-key") apiKeys.Add(Value());
            else if (arg == "--cors-origin") corsOrigins.Add(Value());
            else if (arg == "--host") host = Value();
            else if (arg == "--port") port = Value();
            else if (arg == "--log-prompts") settings["BitNet:LogPrompts"] = "true";
            else rest.Add(args[i]);
        }
        for (int i = 0; i < apiKeys.Count; i++) settings[$"BitNet:ApiKeys:{i}"] = apiKeys[i];
        for (int i = 0; i < corsOrigins.Count; i++) settings[$"BitNet:CorsOrigins:{i}"] = corsOrigins[i];
        if (host is not null || port is not null)
        {
            if (port is not null && !ushort.TryParse(port, out _)) throw new ArgumentException($"--port: '{port}' is not a port number");
            string h = host ?? "127.0.0.1";
            if (h.Contains(':') && !h.StartsWith('[')) h = $"[{h}]";
            settings["urls"] = $"http://{h}:{port ?? "8080"}";
        }
        return (settings, rest.ToArray());
    }
}
