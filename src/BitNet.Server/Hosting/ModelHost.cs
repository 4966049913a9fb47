using BitNet.Runtime.Kernels;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Download;
using BitNet.Runtime.Model;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Hosting;

public enum ModelState { Loading, Ready, Failed, Stopping }

/// <summary>
/// The hosted singleton model runtime: loads the model off the request path, then owns the inference engine (whose
/// own thread runs the batching loop) until shutdown. HTTP handlers only see <see cref="Engine"/> once
/// <see cref="State"/> is Ready; /health reports Loading (503), Failed with the reason (503), or Ready (200).
/// </summary>
public sealed class ModelHost(IOptions<ServerOptions> options, IHostEnvironment environment, IHostApplicationLifetime lifetime,
    ILogger<ModelHost> logger) : BackgroundService
{
    public const string BundledModelPath = "models/stories3m-b158-i2_s.gguf";

    private readonly ServerOptions _options = options.Value;
    private volatile ModelState _state = ModelState.Loading;
    private BitNetModel? _model;
    private readonly object _stopLock = new();
    private Task? _stopping;

    public ModelState State => _state;
    public string? Error { get; private set; }
    public InferenceEngine? Engine { get; private set; }
    public TextTokenizer? Tokenizer { get; private set; }
    public ChatFormat? ChatFormat { get; private set; }
    public string ModelId { get; private set; } = "";
    public string ModelPath { get; private set; } = "";
    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Completes when the model is ready or has failed (tests and the demo page wait on it).</summary>
    public Task Loaded => _loaded.Task;

    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(async () =>
    {
        try
        {
            // Only once the listen address is bound: an address in use ends the process before minutes of loading.
            await WhenStartedAsync(stoppingToken);
            ModelPath = await ResolveModelAsync(stoppingToken);
            Load(stoppingToken);
            // Ready only once the kernels are warm: a load balancer's first request is then as fast as the rest.
            var warmUp = await Engine!.WarmedUp.WaitAsync(stoppingToken);
            if (Engine.WarmUpError is { } warmUpError) logger.LogWarning("Warm-up forward pass failed: {Reason}", warmUpError);
            else logger.LogInformation("Warmed up in {Seconds:F2} s", warmUp.TotalSeconds);
            _state = ModelState.Ready;
            logger.LogInformation("Model {ModelId} ready: {Path}, context {Context}, {Parallel} parallel sequences, {Threads} threads, {Kernels} kernels, head {Head}, " +
                "KV cache {KvType} {KvMb:F0} MB per sequence ({KvTotalMb:F0} MB), chat format {Format}",
                ModelId, ModelPath, Engine!.ContextLength, _options.Parallel, Engine.Options.Threads, _model!.Weights.Kernels.Name, _model.Weights.Head.FormatName,
                Engine.Options.KvCache, Engine.KvBytesPerSlot / 1e6, Engine.KvBytesPerSlot * _options.Parallel / 1e6, ChatFormat!.Name);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped before or while loading (e.g. the listen address could not be bound): nothing to report.
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Error = e.Message;
            _state = ModelState.Failed;
            logger.LogError("Model failed to load: {Reason}", e.Message);
        }
        finally
        {
            _loaded.TrySetResult();
        }
    }, stoppingToken);

    private async Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStart = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStop = stoppingToken.Register(() => started.TrySetCanceled(stoppingToken));
        await started.Task;
    }

    private void Load(CancellationToken ct)
    {
        logger.LogInformation("Loading model {Path}", ModelPath);
        // Settings were validated at start; Select honours BITNET_KERNELS when the setting is empty.
        var kernels = string.IsNullOrWhiteSpace(_options.Kernels) ? KernelSet.Default : KernelSet.Select(_options.Kernels);
        _model = BitNetModel.Load(ModelPath, new ModelLoadOptions
        {
            Kernels = kernels,
            Head = ModelLoadOptions.ParseHead(_options.Head.Trim()),
            HugePages = _options.HugePages,
            Progress = new LogProgress(logger),
        });
        logger.LogInformation(_model.InHugePages ? "Weights read into transparent huge pages" : "Weights mapped from the file");
        ct.ThrowIfCancellationRequested();
        Tokenizer = TextTokenizer.FromGguf(_model.File.Metadata);
        ChatFormat = string.IsNullOrWhiteSpace(_options.ChatFormat)
            ? ChatFormats.Detect(_model.Config.Architecture, _model.File.Metadata.GetStringOrNull("tokenizer.chat_template"),
                text => Tokenizer.TryGetSpecialTokenId(text, out _))
            : ChatFormats.Get(_options.ChatFormat);
        ModelId = string.IsNullOrWhiteSpace(_options.Alias) ? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(ModelPath)) : _options.Alias;
        int context = _options.ContextSize > 0 ? Math.Min(_options.ContextSize, _model.Config.Context) : _model.Config.Context;
        if (_options.ContextSize > _model.Config.Context)
            logger.LogWarning("--ctx-size {Requested} exceeds the model's trained context of {Trained} tokens; using {Trained} (positions beyond it were never trained)",
                _options.ContextSize, _model.Config.Context, _model.Config.Context);
        Engine = new InferenceEngine(_model, Tokenizer, new EngineOptions
        {
            MaxSequences = _options.Parallel,
            ContextLength = context,
            MaxBatchTokens = Math.Max(_options.MaxBatchTokens, _options.Parallel),
            MaxQueuedRequests = _options.MaxQueuedRequests,
            Threads = _options.Threads > 0 ? _options.Threads : WorkerPool.DefaultThreadCount,
            KvCache = ParseKvCacheType(_options.KvCacheType) ?? KvCacheType.F16,
            WarmUp = _options.WarmUp,
        });
        LoadedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>A local path, or an `hf:` reference downloaded (resumably, checksum-verified) into the cache first.</summary>
    private async Task<string> ResolveModelAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(_options.Model) || !_options.Model.StartsWith("hf:", StringComparison.OrdinalIgnoreCase))
            return ResolveModelPath(_options.Model, environment.ContentRootPath);
        var reference = ModelReference.Parse(_options.Model);
        var downloadOptions = new ModelDownloadOptions
        {
            HubBaseUrl = _options.HubBaseUrl,
            CacheDirectory = string.IsNullOrWhiteSpace(_options.CacheDirectory) ? ModelDownloadOptions.DefaultCacheDirectory() : _options.CacheDirectory,
            Token = string.IsNullOrWhiteSpace(_options.HubToken) ? null : _options.HubToken,
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var downloader = new ModelDownloader(http, downloadOptions);
        logger.LogInformation("Resolving {Reference} (cache {Cache})", reference, downloadOptions.CacheDirectory);
        long lastLogged = 0;
        var progress = new Progress<DownloadProgress>(p =>
        {
            if (p.BytesDone - lastLogged < 64L << 20 && p.BytesDone != p.TotalBytes) return;
            lastLogged = p.BytesDone;
            logger.LogInformation("Downloading {File}: {Done:F0} / {Total} MB ({Rate:F1} MB/s)",
                p.FileName, p.BytesDone / 1e6, p.TotalBytes is { } t ? (t / 1e6).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) : "?", p.BytesPerSecond / 1e6);
        });
        return await downloader.EnsureLocalAsync(reference, progress, ct);
    }

    /// <summary>An explicit path (absolute, or relative to the working directory / content root), else the bundled model.</summary>
    public static string ResolveModelPath(string configured, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            foreach (var candidate in new[] { configured, Path.Combine(contentRoot, configured) })
            {
                if (File.Exists(candidate) || Directory.Exists(candidate)) return Path.GetFullPath(candidate);
            }
            throw new FileNotFoundException($"--model {configured}: model file not found (set --model / BitNet__Model to a GGUF file or a Hugging Face model directory)");
        }
        foreach (var root in new[] { AppContext.BaseDirectory, contentRoot, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, BundledModelPath);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new FileNotFoundException($"no model configured and the bundled model ({BundledModelPath}) was not found");
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is a readable GGUF model (header, tensor table, a supported architecture)
    /// without loading its weights: the file is only mapped, so this is quick even for a 2B model.
    /// </summary>
    /// <returns>The model's trained context length.</returns>
    public static int Inspect(string path)
    {
        if (Directory.Exists(path)) return InspectDirectory(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            Span<byte> magic = stackalloc byte[4];
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || BitConverter.ToUInt32(magic) != Runtime.Gguf.GgufFile.Magic)
                throw new InvalidDataException($"--model {path} is not a GGUF model file (it does not start with 'GGUF')");
        }
        try
        {
            using var file = Runtime.Gguf.GgufFile.Open(path);
            var embedding = file.Tensors.FirstOrDefault(t => t.Name == "token_embd.weight")
                ?? throw new InvalidDataException("it has no token_embd.weight tensor (a vocabulary-only file?)");
            if (embedding.Shape.Length != 2) throw new InvalidDataException($"token_embd.weight has {embedding.Shape.Length} dimensions, expected 2");
            return ModelConfig.FromGguf(file.Metadata, embedding.Shape[1]).Context;
        }
        catch (InvalidDataException e)
        {
            string reason = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new InvalidDataException($"--model {path} is not a usable model: {reason}", e);
        }
    }

    /// <summary>A Hugging Face model directory: config.json, tensors and tokenizer are opened and checked (nothing repacked).</summary>
    private static int InspectDirectory(string path)
    {
        try
        {
            using var dir = Runtime.Weights.HuggingFaceDirectory.Open(path);
            var embedding = dir.GetTensor("token_embd.weight");
            return ModelConfig.FromGguf(dir.Metadata, embedding.Shape[1], ((Runtime.Weights.IWeightSource)dir).Traits).Context;
        }
        catch (InvalidDataException e)
        {
            string reason = e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message;
            throw new InvalidDataException($"--model {path} is {(reason.StartsWith("is a directory", StringComparison.Ordinal) ? reason[3..] : $"not a usable model directory: {reason}")}", e);
        }
    }

    /// <summary>
    /// Graceful shutdown (SIGTERM): new requests get 503 at once, requests in flight may finish for up to
    /// BitNet:ShutdownGraceSeconds, then whatever is left ends with an error event and the model is unloaded.
    /// </summary>
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        // The host can stop us more than once, even concurrently (WebApplication.Run's shutdown wait plus an explicit
        // StopAsync, as WebApplicationFactory does): every caller awaits the one shutdown, so the grace period holds
        // and the engine's native buffers are freed once (freeing them twice corrupts the heap).
        lock (_stopLock) return _stopping ??= StopOnceAsync(cancellationToken);
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        bool wasReady = _state == ModelState.Ready;
        _state = ModelState.Stopping;
        if (wasReady && Engine is { } engine)
        {
            var deadline = DateTime.UtcNow.AddSeconds(_options.ShutdownGraceSeconds);
            while (DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
            {
                var stats = engine.Stats;
                if (stats.Running == 0 && stats.Waiting == 0) break;
                await Task.Delay(50, CancellationToken.None);
            }
            var left = engine.Stats;
            if (left.Running + left.Waiting > 0)
                logger.LogWarning("Shutdown grace period over: ending {Running} running and {Waiting} waiting requests", left.Running, left.Waiting);
        }
        await base.StopAsync(cancellationToken);
        Engine?.Dispose();
        _model?.Dispose();
    }

    /// <summary>"f16" / "f32" / "q8_0" (any case); null for anything else.</summary>
    public static KvCacheType? ParseKvCacheType(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "" or null or "f16" => KvCacheType.F16,
        "f32" => KvCacheType.F32,
        "q8_0" => KvCacheType.Q8_0,
        _ => null,
    };
}

/// <summary>Load progress (repacking an HF directory) as log lines; synchronous, unlike Progress&lt;T&gt;.</summary>
internal sealed class LogProgress(ILogger logger) : IProgress<string>
{
    public void Report(string value) => logger.LogInformation("{Progress}", value);
}
