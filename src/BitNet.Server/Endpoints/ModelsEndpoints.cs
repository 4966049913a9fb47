using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>GET /v1/models and /v1/models/{id}: the one loaded model under its alias.</summary>
public static class ModelsEndpoints
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder v1)
    {
        v1.MapGet("/models", (GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            return TypedResults.Json(new ModelList("list", [Card(service, options.Value)]), Infrastructure.JsonDefaults.Options);
        }).WithName("ListModels").Produces<ModelList>();

        v1.MapGet("/models/{id}", (string id, GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            service.CheckModel(id);
            return TypedResults.Json(Card(service, options.Value), Infrastructure.JsonDefaults.Options);
        }).WithName("RetrieveModel").Produces<ModelCard>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static ModelCard Card(GenerationService service, ServerOptions o)
    {
        var host = service.Host;
        var engine = host.Engine!;
        var c = engine.Model.Config;
        return new ModelCard(host.ModelId, "model", host.LoadedAt.ToUnixTimeSeconds(), "bitnet-server",
            new ModelMeta(c.Architecture, engine.ContextLength, c.Context, c.Vocab, c.Embedding, c.Layers, host.ChatFormat!.Name,
                o.Parallel, engine.Model.Weights.Kernels.Name, engine.Model.File.Length));
    }
}
