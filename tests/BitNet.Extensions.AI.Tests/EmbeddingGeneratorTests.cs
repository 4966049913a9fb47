using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Extensions.AI.Tests;

/// <summary>IEmbeddingGenerator as RAG code uses it: unit vectors of the model's width, batched on the chat engine.</summary>
public sealed class EmbeddingGeneratorTests(HostFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<HostFixture>
{
    private IEmbeddingGenerator<string, Embedding<float>> Generator => fixture.Host.EmbeddingGenerator;

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    [Fact]
    public async Task Vectors_are_unit_length_of_the_model_width_and_follow_the_input()
    {
        string[] texts = ["The cat sat on the mat.", "A dragon flew over the hills.", "The cat sat on the mat."];
        var embeddings = await Generator.GenerateAsync(texts);

        Assert.Equal(3, embeddings.Count);
        int width = fixture.Host.Model.Config.Embedding;
        Assert.Equal(width, Generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        foreach (var e in embeddings)
        {
            Assert.Equal(width, e.Dimensions);
            Assert.Equal(1f, Dot(e.Vector.Span, e.Vector.Span), 3);
            Assert.Equal(fixture.Host.ModelId, e.ModelId);
        }
        Assert.Equal(embeddings[0].Vector.ToArray(), embeddings[2].Vector.ToArray());
        Assert.True(Dot(embeddings[0].Vector.Span, embeddings[1].Vector.Span) < 0.999f, "different texts, same vector");

        var tokenizer = fixture.Host.Tokenizer;
        int tokens = texts.Sum(t => tokenizer.Encode(t, addBos: tokenizer.AddBos, parseSpecial: false).Length);
        Assert.Equal(tokens, embeddings.Usage!.InputTokenCount);

        // The generator is the engine's embedding, nothing added: same tokens, same vector.
        var direct = await fixture.Host.Engine.EmbedAsync(tokenizer.Encode(texts[1], addBos: tokenizer.AddBos, parseSpecial: false));
        Assert.Equal(direct, embeddings[1].Vector.ToArray());
    }

    [Fact]
    public async Task Many_inputs_share_forward_passes()
    {
        string[] texts = Enumerable.Range(0, 8).Select(i => $"Story number {i} is about a little dog.").ToArray();
        using var host = TestModel.Load(parallel: 8, batchTokens: 256);
        long before = host.Engine.Steps;
        foreach (var t in texts) await host.EmbeddingGenerator.GenerateAsync([t]);
        long oneByOne = host.Engine.Steps - before;

        before = host.Engine.Steps;
        var batch = await host.EmbeddingGenerator.GenerateAsync(texts);
        long together = host.Engine.Steps - before;
        output.WriteLine($"8 inputs: {oneByOne} steps one at a time, {together} steps in one call");
        Assert.Equal(8, batch.Count);
        Assert.True(together * 2 < oneByOne, $"one call {together} steps vs one at a time {oneByOne}");
    }

    [Fact]
    public async Task Embeddings_and_chats_run_on_the_same_engine_at_once()
    {
        var chat = fixture.Host.ChatClient.GetStreamingResponseAsync("Tell me a story about a dragon.", new ChatOptions { Temperature = 0, MaxOutputTokens = 48 });
        var chatTask = Task.Run(async () => { string s = ""; await foreach (var u in chat) s += u.Text; return s; });
        var embedTask = Generator.GenerateAsync(["A dragon.", "A dog.", "A cat."]);
        await Task.WhenAll(chatTask, embedTask);
        Assert.False(string.IsNullOrEmpty(await chatTask));
        Assert.Equal(3, (await embedTask).Count);
    }

    [Fact]
    public async Task Mistakes_are_clear_and_nothing_is_an_empty_batch()
    {
        Assert.Empty(await Generator.GenerateAsync([]));
        var e = await Assert.ThrowsAsync<NotSupportedException>(() => Generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 3 }));
        Assert.StartsWith("EmbeddingGenerationOptions.Dimensions = 3: this model's embeddings have", e.Message);
        Assert.Equal(fixture.Host.Model.Config.Embedding,
            (await Generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = fixture.Host.Model.Config.Embedding }))[0].Dimensions);
        string huge = string.Join(' ', Enumerable.Repeat("dragon", 600));
        Assert.Contains("the context holds 512", (await Assert.ThrowsAsync<ArgumentException>(() => Generator.GenerateAsync(["ok", huge]))).Message);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Generator.GenerateAsync(["a", "b"], null, cancelled.Token));
    }

    [Fact]
    public async Task The_container_shares_one_host_between_chat_and_embeddings()
    {
        await using var provider = new ServiceCollection()
            .AddBitNetChatClient(TestModel.BundledModelPath, new BitNetModelHostOptions { Threads = 2, MaxParallelSequences = 2 })
            .AddBitNetEmbeddingGenerator(TestModel.BundledModelPath)
            .BuildServiceProvider();
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var chat = provider.GetRequiredService<IChatClient>();
        Assert.Same(chat.GetService<Runtime.Scheduling.InferenceEngine>(), generator.GetService<Runtime.Scheduling.InferenceEngine>());
        Assert.Single(await generator.GenerateAsync(["hello"]));
    }
}
