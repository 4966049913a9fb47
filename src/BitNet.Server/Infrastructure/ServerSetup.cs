using BitNet.Runtime.Kernels;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Model;
using BitNet.Server.Endpoints;
using BitNet.Server.Endpoints.Ollama;
using BitNet.Server.Hosting;
using BitNet.Server.Options;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;

namespace BitNet.Server.Infrastructure;

/// <summary>The server's service registrations, one extension method per concern so Program.cs reads as a table of contents.</summary>
public static class ServerSetup
{
    public const string CorsPolicy = "configured-origins";

    /// <summary>
    /// Binds and validates the "BitNet" settings now, whichever source they came from, so a bad value stops the server
    /// before anything starts with one line naming the flag, the setting and the accepted range.
    /// </summary>
    public static WebApplicationBuilder AddServerOptions(this WebApplicationBuilder builder)
    {
        var o = ServerOptionsValidator.BindOrExplain(builder.Configuration);
        if (ServerOptionsValidator.Problems(o).FirstOrDefault() is { } problem) throw new StartupException(problem);
        builder.Services.AddOptions<ServerOptions>()
            .Bind(builder.Configuration.GetSection(ServerOptions.Section))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = o.MaxRequestBodyBytes;
        });
        return builder;
    }

    /// <summary>
    /// A local model must be a readable GGUF model file before the server starts: a missing path, a directory or a file
    /// that is not a model ends the process with one line (exit 1) instead of a server answering 503 forever. Only an
    /// `hf:` reference, downloaded after start-up, goes through /health's loading state.
    /// </summary>
    public static WebApplicationBuilder CheckModelFile(this WebApplicationBuilder builder)
    {
        var o = builder.Configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        if (o.Model.StartsWith("hf:", StringComparison.OrdinalIgnoreCase)) return builder;
        try
        {
            ModelHost.Inspect(ModelHost.ResolveModelPath(o.Model, builder.Environment.ContentRootPath));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupException($"--model {o.Model}: the file cannot be read ({e.Message})", exitCode: 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or IOException or NotSupportedException)
        {
            throw new StartupException(e.Message, exitCode: 1);
        }
        return builder;
    }

    /// <summary>
    /// Runs the server. The listen address is bound before the model loads (<see cref="ModelHost"/> waits for it), so
    /// an address in use ends the process at once with one line (exit 1).
    /// </summary>
    public static void RunServer(this WebApplication app)
    {
        // Only Kestrel binds sockets, so only Kestrel is probed: an in-memory host (the tests' TestServer) binds
        // nothing, and probing its configured address would fail it whenever another process holds that port.
        if (app.Services.GetRequiredService<IServer>().GetType().Assembly == typeof(KestrelServerOptions).Assembly)
            CheckListenAddresses(app.Configuration["urls"]);
        try
        {
            app.Run();
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
            || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            throw new StartupException($"{e.Message.TrimEnd('.')} (another server is listening there: stop it or choose another --port)", exitCode: 1);
        }
    }

    /// <summary>
    /// Binds each configured address once and lets it go, so an address in use is one line before the host starts
    /// (Kestrel's own failure comes with a logged stack trace); the catch in <see cref="RunServer"/> covers the race.
    /// </summary>
    private static void CheckListenAddresses(string? urls)
    {
        foreach (string url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's wildcards (http://*:8080, http://+:8080) are not valid URI hosts: read them as "any address".
            string normalized = System.Text.RegularExpressions.Regex.Replace(url, @"://[*+](:|/|$)", "://0.0.0.0$1");
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.Port <= 0) continue;
            var address = uri.Host switch
            {
                "localhost" => System.Net.IPAddress.Loopback,
                var h when System.Net.IPAddress.TryParse(h.Trim('[', ']'), out var ip) => ip,
                _ => null, // a host name: Kestrel listens on every address
            } ?? System.Net.IPAddress.Any;
            var probe = new System.Net.Sockets.TcpListener(address, uri.Port);
            try
            {
                probe.Start();
            }
            catch (System.Net.Sockets.SocketException e)
            {
                string why = e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse
                    ? "the address is already in use (another server is listening there: stop it or choose another --port)"
                    : e.Message;
                throw new StartupException($"cannot listen on {url}: {why}", exitCode: 1);
            }
            finally
            {
                probe.Stop();
            }
        }
    }

    public static WebApplicationBuilder AddModelRuntime(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        builder.Services.AddSingleton<GenerationService>();
        builder.Services.AddSingleton<EmbeddingService>();
        builder.Services.AddSingleton<ResponseStore>(); // /v1/responses: stored responses for GET and previous_response_id
        int grace = builder.Configuration.GetValue($"{ServerOptions.Section}:{nameof(ServerOptions.ShutdownGraceSeconds)}", 20);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(grace + 10));
        return builder;
    }

    public static WebApplicationBuilder AddLogging(this WebApplicationBuilder builder)
    {
        builder.Services.AddSerilog((services, lc) => lc
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext()
            .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture));
        return builder;
    }

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ServerTelemetry>();
        string otlp = builder.Configuration[$"{ServerOptions.Section}:{nameof(ServerOptions.OtlpEndpoint)}"] ?? "";
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("bitnet-server"))
            .WithMetrics(m =>
            {
                m.AddMeter(ServerTelemetry.MeterName).AddAspNetCoreInstrumentation().AddPrometheusExporter();
                if (otlp.Length > 0) m.AddOtlpExporter(e => e.Endpoint = new Uri(otlp));
            })
            .WithTracing(t =>
            {
                t.AddSource(ServerTelemetry.ActivitySourceName).AddAspNetCoreInstrumentation();
                if (otlp.Length > 0) t.AddOtlpExporter(e => e.Endpoint = new Uri(otlp));
            });
        return builder;
    }

    public static WebApplicationBuilder AddCorsAllowList(this WebApplicationBuilder builder)
    {
        var origins = builder.Configuration.GetSection($"{ServerOptions.Section}:{nameof(ServerOptions.CorsOrigins)}").Get<string[]>() ?? [];
        builder.Services.AddCors(c => c.AddPolicy(CorsPolicy, p =>
        {
            if (origins.Contains("*")) p.AllowAnyOrigin();
            else p.WithOrigins(origins);
            p.AllowAnyHeader().WithMethods("GET", "POST", "OPTIONS");
        }));
        return builder;
    }

    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(s => s.SwaggerDoc("v1", new() { Title = "BitNet.Server", Version = "v1",
            Description = "OpenAI-compatible API for 1.58-bit (ternary) language models on CPUs." }));
        return builder;
    }

    /// <summary>The OpenAI surface under /v1 plus the llama-server utilities.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1").RequireCors(CorsPolicy);
        v1.MapChatCompletions();
        v1.MapCompletions();
        v1.MapResponses();
        v1.MapModels();
        v1.MapEmbeddings();
        app.MapGroup("/api").RequireCors(CorsPolicy).MapOllama();   // Ollama's API on the same engine
        app.MapTokenize();
        app.MapHealth();
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}

/// <summary>
/// Checks of <see cref="ServerOptions"/> from every source (flags, BitNet__* variables, appsettings.json), each reported
/// as one line naming the flag, the setting and the accepted values.
/// </summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions o)
    {
        var errors = Problems(o);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Binds the "BitNet" section; a value of the wrong type ("abc" for a number) is a <see cref="StartupException"/>.</summary>
    public static ServerOptions BindOrExplain(IConfiguration configuration)
    {
        try
        {
            return configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value at 'BitNet:ContextSize' to type 'System.Int32'."
            var match = System.Text.RegularExpressions.Regex.Match(e.Message, "at '([^']+)' to type '([^']+)'");
            if (!match.Success) throw new StartupException($"settings: {e.Message}");
            string key = match.Groups[1].Value;
            string type = match.Groups[2].Value switch
            {
                "System.Int32" or "System.Int64" => "an integer",
                "System.Single" or "System.Double" => "a number",
                "System.Boolean" => "true or false",
                var t => t,
            };
            throw new StartupException($"{Describe(key)}: '{configuration[key]}' is not {type}{RangeText(key)}");
        }
    }

    /// <summary>Every problem, first the out-of-range numbers, then the cross-field checks.</summary>
    public static List<string> Problems(ServerOptions o)
    {
        var errors = new List<string>();
        CheckRanges(o, ServerOptions.Section, errors);
        CheckRanges(o.Sampling, $"{ServerOptions.Section}:{nameof(ServerOptions.Sampling)}", errors);
        if (o.ApiKeyFile.Length > 0 && !File.Exists(o.ApiKeyFile))
            errors.Add($"{Describe("BitNet:ApiKeyFile")}: '{o.ApiKeyFile}' does not exist");
        if (o.ChatFormat.Length > 0 && !ChatFormats.Names.Contains(o.ChatFormat))
            errors.Add($"{Describe("BitNet:ChatFormat")}: '{o.ChatFormat}' is not one of {string.Join(", ", ChatFormats.Names)}");
        if (o.Kernels.Length > 0)
        {
            try { KernelSet.Select(o.Kernels); }
            catch (ArgumentException e) { errors.Add($"{Describe("BitNet:Kernels")}: {e.Message}"); }
        }
        try { ModelLoadOptions.ParseHead(o.Head.Trim()); }
        catch (ArgumentException e) { errors.Add($"{Describe("BitNet:Head")}: {e.Message}"); }
        if (ModelHost.ParseKvCacheType(o.KvCacheType) is null)
            errors.Add($"{Describe("BitNet:KvCacheType")}: '{o.KvCacheType}' is not one of f16, f32, q8_0");
        if (o.DefaultMaxTokens > o.MaxTokensCap)
            errors.Add($"{Describe("BitNet:DefaultMaxTokens")}: {o.DefaultMaxTokens} exceeds BitNet:MaxTokensCap ({o.MaxTokensCap})");
        foreach (var origin in o.CorsOrigins)
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
                errors.Add($"{Describe("BitNet:CorsOrigins")}: '{origin}' is not an absolute origin such as http://host:port");
        if (o.OtlpEndpoint.Length > 0 && !Uri.TryCreate(o.OtlpEndpoint, UriKind.Absolute, out _))
            errors.Add($"BitNet:OtlpEndpoint: '{o.OtlpEndpoint}' is not an absolute URI");
        return errors;
    }

    private static void CheckRanges(object options, string section, List<string> errors)
    {
        foreach (var p in options.GetType().GetProperties())
        {
            if (p.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), false) is not [System.ComponentModel.DataAnnotations.RangeAttribute range]) continue;
            object? value = p.GetValue(options);
            if (range.IsValid(value)) continue;
            string shown = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
            errors.Add($"{Describe($"{section}:{p.Name}")}: {shown} is out of range (accepted: {range.Minimum}..{range.Maximum})");
        }
    }

    /// <summary>"--parallel (BitNet:Parallel)" for a setting with a flag, else the setting's key.</summary>
    private static string Describe(string key)
    {
        string setting = key.StartsWith(ServerOptions.Section + ":", StringComparison.OrdinalIgnoreCase) ? key[(ServerOptions.Section.Length + 1)..] : key;
        return CommandLineArguments.ForSetting(setting) is { } flag ? $"{flag.Name} ({ServerOptions.Section}:{flag.Setting})" : key;
    }

    private static string RangeText(string key)
    {
        string setting = key[(key.LastIndexOf(':') + 1)..];
        var type = key.Contains(":Sampling:", StringComparison.OrdinalIgnoreCase) ? typeof(SamplingDefaults) : typeof(ServerOptions);
        var range = type.GetProperty(setting, System.Reflection.BindingFlags.IgnoreCase | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)?.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), false)
            .OfType<System.ComponentModel.DataAnnotations.RangeAttribute>().FirstOrDefault();
        return range is null ? "" : $" (accepted: {range.Minimum}..{range.Maximum})";
    }
}
