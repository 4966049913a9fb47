using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Embeddings;

namespace BitNet.Server.Tests;

/// <summary>POST /v1/embeddings through the official OpenAI .NET SDK's EmbeddingClient and over raw HTTP.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class EmbeddingsTests(DefaultServer server)
{
    private const string Path = "/v1/embeddings";

    private int Width => server.Host.Engine!.Model.Config.Embedding;

    private EmbeddingClient NewClient() => new(server.ModelId, new ApiKeyCredential("sk-any"), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.Factory.Server.BaseAddress, "v1"),
        Transport = new HttpClientPipelineTransport(server.Factory.CreateClient()),
    });

    private int[] Tokens(string text) => server.Host.Tokenizer!.Encode(text, server.Host.Tokenizer.AddBos, parseSpecial: false);

    private static float[] Vector(JsonElement response, int index = 0) =>
        response.GetProperty("data")[index].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();

    [Fact]
    public async Task OpenAI_sdk_embeds_one_text_and_a_batch()
    {
        var client = NewClient();
        OpenAIEmbedding one = (await client.GenerateEmbeddingAsync("The dog ran in the park.")).Value;
        var vector = one.ToFloats().ToArray();
        Assert.Equal(Width, vector.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(vector), 1e-5f);
        // The engine's own result for the same tokens: the SDK's default base64 transport loses nothing.
        Assert.Equal(await server.Host.Engine!.EmbedAsync(Tokens("The dog ran in the park.")), vector);

        string[] texts = ["The dog ran in the park.", "A bird sang a song in the morning sun.", "The dog ran in the park."];
        OpenAIEmbeddingCollection batch = (await client.GenerateEmbeddingsAsync(texts)).Value;
        Assert.Equal(3, batch.Count);
        Assert.Equal(new[] { 0, 1, 2 }, batch.Select(e => e.Index));
        var v = batch.Select(e => e.ToFloats().ToArray()).ToArray();
        Assert.Equal(1f, TensorPrimitives.CosineSimilarity(v[0], v[2]), 1e-6f);
        Assert.True(TensorPrimitives.CosineSimilarity(v[0], v[1]) < 0.999f);
        Assert.Equal(vector, v[0]);
        Assert.Equal(texts.Sum(t => Tokens(t).Length), batch.Usage.InputTokenCount);
        Assert.Equal(batch.Usage.InputTokenCount, batch.Usage.TotalTokenCount);
        Assert.Equal(server.ModelId, batch.Model);
    }

    [Fact]
    public async Task OpenAI_sdk_accepts_the_models_own_dimensions_and_reports_others()
    {
        var client = NewClient();
        var same = (await client.GenerateEmbeddingAsync("Lily had a red ball.", new EmbeddingGenerationOptions { Dimensions = Width })).Value;
        Assert.Equal(Width, same.ToFloats().Length);
        var e = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.GenerateEmbeddingAsync("Lily had a red ball.", new EmbeddingGenerationOptions { Dimensions = 8 }));
        Assert.Equal(400, e.Status);
        Assert.Contains($"this model's embeddings have {Width} dimensions", e.Message);
    }

    [Fact]
    public async Task Float_and_base64_token_arrays_and_strings_give_the_same_vectors()
    {
        string text = "Tom and his dog went to the sea.";
        var asText = await server.Client.PostOkAsync(Path, new JsonObject { ["input"] = text, ["encoding_format"] = "float" });
        Assert.Equal("list", asText.GetProperty("object").GetString());
        Assert.Equal("embedding", asText.GetProperty("data")[0].GetProperty("object").GetString());
        Assert.Equal(Tokens(text).Length, asText.Usage("prompt_tokens"));
        Assert.Equal(Tokens(text).Length, asText.Usage("total_tokens"));

        var ids = new JsonArray(Tokens(text).Select(t => (JsonNode)t).ToArray());
        var asTokens = await server.Client.PostOkAsync(Path, new JsonObject { ["input"] = ids });
        Assert.Equal(Vector(asText), Vector(asTokens));

        var nested = await server.Client.PostOkAsync(Path, new JsonObject
        {
            ["input"] = new JsonArray(JsonNode.Parse(ids.ToJsonString()), new JsonArray(5, 6, 7)),
        });
        Assert.Equal(2, nested.GetProperty("data").GetArrayLength());
        Assert.Equal(Vector(asText), Vector(nested, 0));
        Assert.Equal(Tokens(text).Length + 3, nested.Usage("prompt_tokens"));

        var b64 = await server.Client.PostOkAsync(Path, new JsonObject { ["input"] = text, ["encoding_format"] = "base64" });
        var bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(Width * 4, bytes.Length);
        var decoded = new float[Width];
        Buffer.BlockCopy(bytes, 0, decoded, 0, bytes.Length);
        Assert.Equal(Vector(asText), decoded);
    }

    [Theory]
    [InlineData("{}", "input")]
    [InlineData("{\"input\": []}", "input")]
    [InlineData("{\"input\": \"\"}", "input")]
    [InlineData("{\"input\": [[]]}", "input")]
    [InlineData("{\"input\": [1, -2]}", "input")]
    [InlineData("{\"input\": [1, 100000]}", "input")]
    [InlineData("{\"input\": [\"a\", 3]}", "input")]
    [InlineData("{\"input\": 7}", "input")]
    [InlineData("{\"input\": \"a\", \"encoding_format\": \"int8\"}", "encoding_format")]
    [InlineData("{\"input\": \"a\", \"dimensions\": 0}", "dimensions")]
    [InlineData("{\"input\": \"a\", \"model\": 5}", "model")]
    public async Task Bad_requests_are_400_naming_the_field(string body, string param)
    {
        using var response = await server.Client.PostRawAsync(Path, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_input_longer_than_the_context_is_a_400_and_one_that_fills_it_works()
    {
        int ctx = server.Host.Engine!.ContextLength;
        var full = new JsonArray(Enumerable.Range(0, ctx).Select(i => (JsonNode)(10 + i % 300)).ToArray());
        var ok = await server.Client.PostOkAsync(Path, new JsonObject { ["input"] = full });
        Assert.Equal(ctx, ok.Usage("prompt_tokens"));

        var tooLong = new JsonArray(Enumerable.Range(0, ctx + 1).Select(i => (JsonNode)(10 + i % 300)).ToArray());
        using var response = await server.Client.PostAsync(Path, new JsonObject { ["input"] = tooLong });
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "context_length_exceeded");
        Assert.Equal($"'input' has {ctx + 1} tokens; this model's maximum context length is {ctx} tokens", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Embeddings_and_chats_run_together()
    {
        // Several embedding requests and streamed chats at once: all complete, each embedding as it is alone.
        var alone = Vector(await server.Client.PostOkAsync(Path, new JsonObject { ["input"] = "Max liked to jump." }));
        var chats = Enumerable.Range(0, 3).Select(_ => server.Client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me about a frog.", 24))).ToArray();
        var embeds = Enumerable.Range(0, 6).Select(_ => server.Client.PostOkAsync(Path, new JsonObject { ["input"] = "Max liked to jump." })).ToArray();
        await Task.WhenAll(chats.Cast<Task>().Concat(embeds));
        foreach (var e in embeds) Assert.Equal(alone, Vector(await e));
        foreach (var c in chats) Assert.NotEmpty((await c).Content());
    }
}
