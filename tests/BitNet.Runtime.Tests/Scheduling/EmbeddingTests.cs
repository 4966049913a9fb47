using System.Numerics.Tensors;
using System.Threading.Channels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Scheduling;

/// <summary>InferenceEngine.EmbedAsync on the bundled real model: pooling, batching with generation, limits, cancellation.</summary>
public sealed class EmbeddingTests : IDisposable
{
    private readonly BitNetModel _model = BitNetModel.Load(TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf"));
    private readonly TextTokenizer _tokenizer;

    public EmbeddingTests() => _tokenizer = TextTokenizer.FromGguf(_model.File.Metadata);

    public void Dispose() => _model.Dispose();

    private InferenceEngine NewEngine(int sequences = 4, int batch = 64) =>
        new(_model, _tokenizer, new EngineOptions { MaxSequences = sequences, MaxBatchTokens = batch, MaxQueuedRequests = 64, Threads = 2 });

    private int[] Tokens(string text) => _tokenizer.Encode(text, addBos: true, parseSpecial: false);

    private const string LongText = "Once upon a time there was a little girl named Lily. She loved to play in the park with her red ball. "
        + "One day she saw a big dog under a tree, and the dog wanted to play too. They ran and laughed until the sun went down.";

    /// <summary>The pooling computed without the engine: one forward pass over all tokens in a fresh cache.</summary>
    private float[] DirectEmbedding(int[] tokens, out float[] lastLogits, out float[] lastHidden)
    {
        using var pool = new WorkerPool(1);
        using var cache = new KvCachePool(_model.Config, 1, _model.Config.Context);
        using var transformer = new Transformer(_model.Weights, pool, tokens.Length);
        var positions = Enumerable.Range(0, tokens.Length).ToArray();
        var slots = new int[tokens.Length];
        var want = new bool[tokens.Length];
        want[^1] = true;
        lastLogits = new float[_model.Config.Vocab];
        transformer.Forward(tokens, positions, slots, want, cache, lastLogits);
        int d = _model.Config.Embedding;
        var sum = new double[d];
        var row = new float[d];
        for (int t = 0; t < tokens.Length; t++)
        {
            transformer.FinalHidden(t, row);
            for (int j = 0; j < d; j++) sum[j] += row[j];
        }
        lastHidden = row;
        double norm = Math.Sqrt(sum.Sum(v => v * v));
        return sum.Select(v => (float)(v / norm)).ToArray();
    }

    private static float Cosine(float[] a, float[] b) => TensorPrimitives.CosineSimilarity(a, b);

    [Fact]
    public async Task EmbeddingEqualsDirectForwardPassWhileBatchedWithGeneration()
    {
        var tokens = Tokens(LongText);
        Assert.True(tokens.Length > 64, "the text must span several engine chunks");
        var expected = DirectEmbedding(tokens, out _, out _);

        using var engine = NewEngine();
        // A generation running at the same time shares the forward passes with the embedding's prefill chunks.
        Assert.True(engine.TrySubmit(new GenerationRequest
        {
            PromptTokens = Tokens("The cat"),
            MaxTokens = 40,
            Sampling = new SamplingParameters { Temperature = 0 },
        }, out var generation));
        var embedding = await engine.EmbedAsync(tokens);
        var events = new List<GenerationEvent>();
        await foreach (var e in generation.ReadAllAsync()) events.Add(e);

        Assert.Equal(_model.Config.Embedding, embedding.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(embedding), 1e-5f);
        for (int j = 0; j < expected.Length; j++) Assert.Equal(expected[j], embedding[j], 1e-5f);
        Assert.Equal(GenerationEventKind.Completed, events[^1].Kind);
        Assert.True(events[^1].Usage!.CompletionTokens > 0);
        // The cost meter: the generation was charged its share of the CPU time of the passes it took part in.
        Assert.True(events[^1].Usage!.CpuSeconds > 0);
        Assert.True(engine.Stats.CpuSeconds >= events[^1].Usage!.CpuSeconds);
        Assert.True(engine.Stats.CpuSecondsPerGeneratedToken > 0);
    }

    [Fact]
    public void FinalHiddenIsTheHeadsInput()
    {
        // The pooled vectors are the states the head turns into logits: head(last hidden) == the last token's logits.
        var tokens = Tokens("Lily had a red ball");
        DirectEmbedding(tokens, out var logits, out var hidden);
        var head = _model.Weights.Head;
        var recomputed = new float[head.N];
        var scratch = new float[head.K];
        unsafe
        {
            fixed (float* x = hidden)
            fixed (float* y = recomputed)
                head.MatMul(_model.Weights.Kernels, x, 1, head.K, y, head.N, 0, head.N, scratch);
        }
        for (int v = 0; v < logits.Length; v++) Assert.Equal(logits[v], recomputed[v], 1e-4f);
    }

    [Fact]
    public async Task IdenticalTextsHaveCosineOneAndDifferentTextsDiffer()
    {
        using var engine = NewEngine();
        var results = await Task.WhenAll(
            engine.EmbedAsync(Tokens("The dog ran in the park.")),
            engine.EmbedAsync(Tokens("The dog ran in the park.")),
            engine.EmbedAsync(Tokens("A bird sang a song in the morning sun.")));
        Assert.Equal(1f, Cosine(results[0], results[1]), 1e-6f);
        Assert.Equal(results[0], results[1]);
        float different = Cosine(results[0], results[2]);
        Assert.True(different < 0.999f, $"different texts gave cosine {different}");
    }

    [Fact]
    public async Task InputFillingTheWholeContextWorksAndOneMoreTokenIsRefused()
    {
        using var engine = NewEngine(sequences: 2, batch: 128);
        var full = Enumerable.Range(0, engine.ContextLength).Select(i => 10 + i % 200).ToArray();
        var embedding = await engine.EmbedAsync(full);
        Assert.Equal(1f, TensorPrimitives.Norm(embedding), 1e-5f);

        var tooLong = full.Append(11).ToArray();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => engine.EmbedAsync(tooLong));
        Assert.Equal($"the input has {engine.ContextLength + 1} tokens; the context holds {engine.ContextLength}", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => engine.EmbedAsync([]));
        await Assert.ThrowsAsync<ArgumentException>(() => engine.EmbedAsync([_model.Config.Vocab]));
    }

    [Fact]
    public async Task EmbeddingsTakeABoundedSliceOfEachStepWhileAStreamDecodes()
    {
        const int slice = 8, length = 200;
        var input = Enumerable.Range(0, length).Select(i => 10 + i % 200).ToArray();
        // The bound holds only while a stream decodes: on a loaded machine the test thread can wake after the stream's
        // last token, so an attempt whose stream ended before the embedding did proves nothing and is run again.
        for (int attempt = 0; ; attempt++)
        {
            using var engine = new InferenceEngine(_model, _tokenizer, new EngineOptions
            {
                MaxSequences = 2, MaxBatchTokens = 64, MaxQueuedRequests = 4, Threads = 2, EmbeddingTokensBesideDecoding = slice,
            });
            // A stream that cannot end early (no stop tokens) and is decoding before the embedding arrives.
            using var cts = new CancellationTokenSource();
            Assert.True(engine.TrySubmit(new GenerationRequest
            {
                PromptTokens = Tokens("Once upon a time"), MaxTokens = 400, Sampling = new SamplingParameters { Temperature = 0 },
                Cancellation = cts.Token,
            }, out var stream));
            int tokens = 0;
            await foreach (var e in stream.ReadAllAsync())
                if (e.Kind == GenerationEventKind.Token && ++tokens == 2) break;
            long before = engine.Steps;
            var embedding = await engine.EmbedAsync(input);
            long steps = engine.Steps - before;
            int during = 0;
            bool ended = false;
            while (stream.TryRead(out var e))
            {
                if (e.Kind == GenerationEventKind.Token) during++;
                ended |= e.Kind == GenerationEventKind.Completed;
            }
            cts.Cancel();
            Assert.Equal(DirectEmbedding(input, out _, out _), embedding, new ToleranceComparer(1e-5f));
            if (ended && attempt < 4) continue;
            // At most `slice` embedding tokens per step beside the decode token, so the stream got a token in each of them.
            Assert.False(ended, "the stream ended before the embedding in every attempt");
            Assert.True(steps >= length / slice, $"the embedding took {steps} steps; at least {length / slice} expected");
            Assert.True(during >= length / slice - 2, $"the stream decoded {during} tokens during the embedding's {steps} steps");
            break;
        }

        // With nothing decoding, an embedding uses whole steps.
        using var idle = NewEngine(sequences: 2, batch: 64);
        await idle.EmbedAsync(input);
        Assert.True(idle.Steps <= (length + 63) / 64, $"an idle engine took {idle.Steps} steps for {length} tokens");
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }

    [Fact]
    public async Task CancelledEmbeddingThrowsAndFreesItsSlot()
    {
        using var engine = NewEngine(sequences: 1, batch: 16);
        using var cts = new CancellationTokenSource();
        var pending = engine.EmbedAsync(Enumerable.Range(0, 500).Select(i => 10 + i % 200).ToArray(), cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        // The only slot is free again: a second embedding completes.
        var next = await engine.EmbedAsync(Tokens("The cat"));
        Assert.Equal(_model.Config.Embedding, next.Length);
    }
}
