using BitNet.Server.Contracts;
using BitNet.Server.Hosting;

namespace BitNet.Server.Endpoints;

/// <summary>GET /health: 200 when the model is ready, 503 while loading or after a failed load (with the reason). No auth.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (ModelHost host) => host.State switch
        {
            ModelState.Ready => Results.Json(new HealthResponse("ok", host.ModelId), Infrastructure.JsonDefaults.Options),
            ModelState.Loading => Results.Json(new HealthResponse("loading", Error: new OpenAIErrorDetail("the model is loading", "unavailable", null, "model_loading")),
                Infrastructure.JsonDefaults.Options, statusCode: 503),
            ModelState.Stopping => Results.Json(new HealthResponse("stopping", Error: new OpenAIErrorDetail("the server is shutting down", "unavailable", null, "shutting_down")),
                Infrastructure.JsonDefaults.Options, statusCode: 503),
            _ => Results.Json(new HealthResponse("error", Error: new OpenAIErrorDetail($"the model failed to load: {host.Error}", "unavailable", null, "model_load_failed")),
                Infrastructure.JsonDefaults.Options, statusCode: 503),
        }).WithName("Health").Produces<HealthResponse>().Produces<HealthResponse>(503);
        return app;
    }
}
