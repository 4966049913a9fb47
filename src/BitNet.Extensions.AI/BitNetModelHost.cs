using BitNet.Runtime.Chat;
using BitNet.Runtime.Download;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Extensions.AI;

/// <summary>
/// A BitNet model loaded in this process: the weights (read into huge pages or mapped), the tokenizer, one <see cref="InferenceEngine"/>
/// (its own thread batches every caller into each forward pass) and the two clients over it, <see cref="ChatClient"/>
/// and <see cref="EmbeddingGenerator"/>. Dispose it to stop the
/// engine and unmap the model; clients handed out stop working then.
/// </summary>
/// <example>
/// <code>
/// using var bitnet = BitNetModelHost.Load("models/stories3m-b158-i2_s.gguf");
/// IChatClient chat = bitnet.ChatClient;
/// Console.WriteLine(await chat.GetResponseAsync("Tell me a story."));
/// </code>
/// </example>
public sealed class BitNetModelHost : IDisposable
{
    private readonly BitNetModel _model;
    private int _disposed;

    private BitNetModelHost(BitNetModel model, TextTokenizer tokenizer, ChatFormat format, InferenceEngine engine, string modelId,
        BitNetChatClientOptions chatOptions)
    {
        _model = model;
        Tokenizer = tokenizer;
        ChatFormat = format;
        Engine = engine;
        ModelId = modelId;
        ChatClient = new BitNetChatClient(engine, format, modelId, chatOptions);
        EmbeddingGenerator = new BitNetEmbeddingGenerator(engine, modelId);
    }

    /// <summary>The loaded model (weights, configuration, path).</summary>
    public BitNetModel Model => _model;

    /// <summary>The model's tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>The chat format conversations are rendered in.</summary>
    public ChatFormat ChatFormat { get; }

    /// <summary>The batching engine every client of this host submits to.</summary>
    public InferenceEngine Engine { get; }

    /// <summary>The id the clients report.</summary>
    public string ModelId { get; }

    /// <summary>The chat client over <see cref="Engine"/>.</summary>
    public BitNetChatClient ChatClient { get; }

    /// <summary>The embedding generator over <see cref="Engine"/> (same engine: embeddings and chats batch together).</summary>
    public BitNetEmbeddingGenerator EmbeddingGenerator { get; }

    /// <summary>
    /// Loads a GGUF file, a Hugging Face model directory, or an <c>hf:owner/repo[:file]</c> reference (downloaded first,
    /// resumably and checksum-verified, into the cache of <see cref="BitNetModelHostOptions.Download"/>). Blocks until
    /// the model is ready; see <see cref="LoadAsync"/> for downloads with progress.
    /// </summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    /// <exception cref="InvalidDataException">The file or directory is not a usable model.</exception>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public static BitNetModelHost Load(string model, BitNetModelHostOptions? options = null) =>
        IsHubReference(model)
            ? Task.Run(() => LoadAsync(model, options)).GetAwaiter().GetResult()
            : LoadLocal(model, options ?? new BitNetModelHostOptions());

    /// <summary>As <see cref="Load"/>, reporting download progress of an <c>hf:</c> reference and honouring cancellation while downloading.</summary>
    public static async Task<BitNetModelHost> LoadAsync(string model, BitNetModelHostOptions? options = null,
        IProgress<DownloadProgress>? downloadProgress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        options ??= new BitNetModelHostOptions();
        string path = model;
        if (IsHubReference(model))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
            var downloader = new ModelDownloader(http, options.Download ?? new ModelDownloadOptions());
            path = await downloader.EnsureLocalAsync(ModelReference.Parse(model), downloadProgress, cancellationToken).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
        return LoadLocal(path, options);
    }

    private static bool IsHubReference(string model) =>
        model?.StartsWith("hf:", StringComparison.OrdinalIgnoreCase) == true;

    private static BitNetModelHost LoadLocal(string path, BitNetModelHostOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options.Chat, nameof(options.Chat));
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"model not found: {path} (expected a GGUF file, a Hugging Face model directory or hf:owner/repo)", path);
        // Checked before the weights are mapped, so a bad option costs nothing.
        var kernels = string.IsNullOrWhiteSpace(options.Kernels) ? KernelSet.Default : KernelSet.Select(options.Kernels);
        var format = string.IsNullOrWhiteSpace(options.ChatFormat) ? null : ChatFormats.Get(options.ChatFormat);

        var model = BitNetModel.Load(path, new ModelLoadOptions { Kernels = kernels, Head = options.Head, Progress = options.LoadProgress });
        InferenceEngine? engine = null;
        try
        {
            var tokenizer = TextTokenizer.FromGguf(model.File.Metadata);
            format ??= ChatFormats.Detect(model.Config.Architecture, model.File.Metadata.GetStringOrNull("tokenizer.chat_template"),
                text => tokenizer.TryGetSpecialTokenId(text, out _));
            engine = new InferenceEngine(model, tokenizer, new EngineOptions
            {
                MaxSequences = options.MaxParallelSequences,
                ContextLength = options.ContextLength,
                MaxBatchTokens = options.MaxBatchTokens,
                MaxQueuedRequests = options.MaxQueuedRequests,
                Threads = options.Threads > 0 ? options.Threads : WorkerPool.DefaultThreadCount,
                KvCache = options.KvCache,
            });
            string id = string.IsNullOrWhiteSpace(options.ModelId)
                ? System.IO.Path.GetFileNameWithoutExtension(System.IO.Path.TrimEndingDirectorySeparator(path))
                : options.ModelId;
            return new BitNetModelHost(model, tokenizer, format, engine, id, options.Chat);
        }
        catch
        {
            engine?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>Stops the engine (requests still running end with an error) and unmaps the model; idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ChatClient.Dispose();
        EmbeddingGenerator.Dispose();
        Engine.Dispose();
        _model.Dispose();
    }
}
