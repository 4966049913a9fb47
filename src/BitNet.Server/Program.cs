using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using Serilog;

// BitNet.Server: an OpenAI-compatible server for 1.58-bit (ternary) language models on CPUs.
var (flags, rest) = CommandLineArguments.Translate(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = rest, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(flags);

builder.AddServerOptions()      // appsettings.json "BitNet", BITNET__* variables, llama-server style flags; validated at start
       .AddLogging()            // Serilog, structured; prompts only when BitNet:LogPrompts
       .AddTelemetry()          // OpenTelemetry GenAI metrics and spans, Prometheus /metrics, optional OTLP
       .AddCorsAllowList()
       .AddApiDocs()            // Swagger at /swagger
       .AddModelRuntime();      // the hosted singleton model runtime and its batching engine

var app = builder.Build();

app.UseSerilogRequestLogging();
app.UseMiddleware<ErrorHandlingMiddleware>();   // every failure becomes an OpenAI-shaped error
app.UseMiddleware<JsonContentTypeMiddleware>(); // bodies are JSON whatever the client's Content-Type says
app.UseRouting();
app.UseCors();
app.UseMiddleware<ApiKeyMiddleware>();          // Bearer keys on /v1 and the tokenizer endpoints
app.UseSwagger();
app.UseSwaggerUI();
app.UseDefaultFiles();
app.UseStaticFiles();                           // the demo chat page at /
app.MapApi();                                   // /v1/chat/completions, /v1/completions, /v1/models, /tokenize, /health, /metrics

app.Run();

/// <summary>Entry point type, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
