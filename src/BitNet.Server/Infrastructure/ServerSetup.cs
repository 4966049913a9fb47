using BitNet.Runtime.Chat;
using BitNet.Server.Endpoints;
using BitNet.Server.Hosting;
using BitNet.Server.Options;
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

    public static WebApplicationBuilder AddServerOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ServerOptions>()
            .Bind(builder.Configuration.GetSection(ServerOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        var o = builder.Configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = o.MaxRequestBodyBytes;
        });
        return builder;
    }

    public static WebApplicationBuilder AddModelRuntime(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        builder.Services.AddSingleton<GenerationService>();
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
        v1.MapModels();
        app.MapTokenize();
        app.MapHealth();
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}

/// <summary>Cross-field checks of <see cref="ServerOptions"/>, reported at startup with the setting's name.</summary>
public sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions o)
    {
        var errors = new List<string>();
        if (o.ApiKeyFile.Length > 0 && !File.Exists(o.ApiKeyFile))
            errors.Add($"BitNet:ApiKeyFile '{o.ApiKeyFile}' does not exist");
        if (o.ChatFormat.Length > 0 && !ChatFormats.Names.Contains(o.ChatFormat))
            errors.Add($"BitNet:ChatFormat '{o.ChatFormat}' is not one of {string.Join(", ", ChatFormats.Names)}");
        if (o.DefaultMaxTokens > o.MaxTokensCap)
            errors.Add($"BitNet:DefaultMaxTokens ({o.DefaultMaxTokens}) exceeds BitNet:MaxTokensCap ({o.MaxTokensCap})");
        foreach (var origin in o.CorsOrigins)
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
                errors.Add($"BitNet:CorsOrigins entry '{origin}' is not an absolute origin such as http://host:port");
        if (o.OtlpEndpoint.Length > 0 && !Uri.TryCreate(o.OtlpEndpoint, UriKind.Absolute, out _))
            errors.Add($"BitNet:OtlpEndpoint '{o.OtlpEndpoint}' is not an absolute URI");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
