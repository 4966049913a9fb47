using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using Serilog;

// BitNet.Server: an OpenAI-compatible server for 1.58-bit (ternary) language models on CPUs.
// A user's mistake (an unknown flag, a bad value, a missing model, a port in use) ends here with one line on stderr
// and exit code 2 (flags and settings) or 1 (model, address); never a stack trace.
try
{
    var commandLine = CommandLineArguments.Parse(args, Console.Out); // llama-server style flags; --help, --version
    if (commandLine.Exit is { } exit) return exit;
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = commandLine.Remaining, ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(commandLine.Settings);

    builder.AddServerOptions()      // appsettings.json "BitNet", BitNet__* variables, flags; validated now
           .CheckModelFile()        // a local model must be a readable GGUF model before anything starts
           .AddLogging()            // Serilog, structured; prompts only when BitNet:LogPrompts
           .AddTelemetry()          // OpenTelemetry GenAI metrics and spans, Prometheus /metrics, optional OTLP
           .AddCorsAllowList()
           .AddApiDocs()            // Swagger at /swagger
           .AddModelRuntime();      // the hosted singleton model runtime and its batching engine

    var app = builder.Build();

    app.UseMiddleware<RequestBodyDrainMiddleware>(); // an unread body is read, so the client gets its status, not a reset
    app.UseSerilogRequestLogging();
    app.UseMiddleware<ErrorHandlingMiddleware>();   // every failure becomes an OpenAI-shaped error
    app.UseStatusCodePages(StatusCodeErrors.WriteAsync); // unknown routes (404) and wrong methods (405) too
    app.UseMiddleware<JsonContentTypeMiddleware>(); // bodies are JSON whatever the client's Content-Type says
    app.UseRouting();
    app.UseCors();
    app.UseMiddleware<ApiKeyMiddleware>();          // Bearer keys on /v1 and the tokenizer endpoints
    app.UseSwagger();
    app.UseSwaggerUI();
    app.UseDefaultFiles();
    app.UseStaticFiles();                           // the demo chat page at /
    app.MapApi();                                   // /v1/chat/completions, /v1/completions, /v1/responses, /v1/models, /tokenize, /health, /metrics

    app.RunServer();                                // binds the listen address, then the model loads
    return 0;
}
catch (StartupException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return e.ExitCode;
}

/// <summary>Entry point type, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
