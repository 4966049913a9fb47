using System.Text.Json;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Safetensors;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Weights;

/// <summary>
/// A Hugging Face model directory (config.json, model.safetensors or model.safetensors.index.json + shards,
/// tokenizer.json, tokenizer_config.json, generation_config.json) presented as a GGUF would present the same model:
/// GGUF tensor names, ggml shape order ([in, out]), GGUF-style metadata. Float tensors are views into the memory maps;
/// packed uint8 projections (the 2B4T layout) are repacked into I2_S the first time they are asked for, one tensor at a
/// time, so memory peaks at the final weights plus the mapped file.
/// </summary>
public sealed unsafe class HuggingFaceDirectory : IWeightSource
{
    private sealed class Entry
    {
        public required GgufTensorInfo Info;
        public required SafetensorsFile File;
        public required SafetensorsTensor Tensor;
        public SafetensorsTensor? Scale;       // packed projections: their weight_scale
        public SafetensorsFile? ScaleFile;     // (possibly in another shard)
        public NativeBuffer<byte>? Repacked;   // packed projections, once repacked
    }

    private readonly SafetensorsFile[] _shards;
    private readonly Dictionary<string, Entry> _entries;
    private readonly IProgress<string>? _progress;
    private readonly int _packedCount;
    private int _repackedCount;

    private HuggingFaceDirectory(string directory, HuggingFaceConfig config, SafetensorsFile[] shards, Dictionary<string, Entry> entries,
        GgufMetadata metadata, IReadOnlyList<string> ignored, IProgress<string>? progress)
    {
        Source = directory;
        Config = config;
        _shards = shards;
        _entries = entries;
        Metadata = metadata;
        Ignored = ignored;
        _progress = progress;
        Tensors = entries.Values.Select(e => e.Info).ToArray();
        _packedCount = entries.Values.Count(e => e.Scale is not null);
    }

    public string Source { get; }
    public HuggingFaceConfig Config { get; }
    public long Length => _shards.Sum(s => s.Length);
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public ArchitectureTraits? Traits => Config.Traits;

    /// <summary>HF tensors with no place in the graph (e.g. rotary_emb.inv_freq), skipped.</summary>
    public IReadOnlyList<string> Ignored { get; }

    /// <summary>The safetensors files, in shard order.</summary>
    public IReadOnlyList<string> Files => _shards.Select(s => s.Source).ToArray();

    /// <summary>Whether <paramref name="path"/> is a directory with a config.json (a Hugging Face model folder).</summary>
    public static bool IsModelDirectory(string path) => Directory.Exists(path) && System.IO.File.Exists(System.IO.Path.Combine(path, "config.json"));

    /// <summary>Opens and validates a model directory; problems surface as <see cref="InvalidDataException"/> naming the file.</summary>
    public static HuggingFaceDirectory Open(string directory, IProgress<string>? progress = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"model directory not found: {directory}");
        string configPath = System.IO.Path.Combine(directory, "config.json");
        if (!System.IO.File.Exists(configPath)) throw new InvalidDataException(
            $"{directory} is a directory without config.json: name a .gguf file, or a Hugging Face model directory (config.json + model.safetensors)");
        var config = HuggingFaceConfig.Load(configPath);

        var shards = OpenShards(directory);
        try
        {
            var (entries, ignored) = MapTensors(config, shards);
            var md = new Dictionary<string, GgufValue>(config.Metadata, StringComparer.Ordinal);
            int[] eos = config.EosTokenIds;
            string genPath = System.IO.Path.Combine(directory, "generation_config.json");
            if (System.IO.File.Exists(genPath))
            {
                using var gen = Json.ParseFile(genPath);
                try
                {
                    if (gen.RootElement.ValueKind == JsonValueKind.Object && Json.Ids(gen.RootElement, "eos_token_id") is { Length: > 0 } g)
                        eos = [.. eos, .. g.Where(id => !eos.Contains(id))];
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"{genPath}: {e.Message}", e);
                }
            }
            if (System.IO.File.Exists(System.IO.Path.Combine(directory, "tokenizer.json")))
            {
                int? vocab = md.TryGetValue($"{config.Architecture}.vocab_size", out var v) ? (int)v.AsInt64() : null;
                foreach (var (k, value) in HuggingFaceTokenizerLoader.ReadMetadata(directory, vocab, config.BosTokenId, eos)) md[k] = value;
            }
            return new HuggingFaceDirectory(directory, config, shards, entries, new GgufMetadata(md), ignored, progress);
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    private static SafetensorsFile[] OpenShards(string directory)
    {
        string single = System.IO.Path.Combine(directory, "model.safetensors");
        if (System.IO.File.Exists(single)) return [SafetensorsFile.Open(single)];
        string indexPath = System.IO.Path.Combine(directory, "model.safetensors.index.json");
        if (!System.IO.File.Exists(indexPath))
            throw new InvalidDataException($"{directory}: neither model.safetensors nor model.safetensors.index.json is present");

        var weightMap = ReadWeightMap(indexPath);
        var files = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var shards = new List<SafetensorsFile>();
        try
        {
            foreach (var f in files)
            {
                if (f.Contains('/') || f.Contains('\\') || f.StartsWith('.'))
                    throw new InvalidDataException($"{indexPath}: shard name '{f}' is not a plain file name");
                shards.Add(SafetensorsFile.Open(System.IO.Path.Combine(directory, f)));
            }
            // The index must describe the shards: every mapped tensor is in the shard it names.
            var byName = shards.ToDictionary(s => System.IO.Path.GetFileName(s.Source), StringComparer.Ordinal);
            foreach (var (tensor, file) in weightMap)
                if (!byName[file].TryGetTensor(tensor, out _))
                    throw new InvalidDataException($"{indexPath}: tensor '{tensor}' is mapped to {file}, which does not contain it");
            return shards.ToArray();
        }
        catch
        {
            foreach (var s in shards) s.Dispose();
            throw;
        }
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        using var doc = Json.ParseFile(indexPath);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map)
            || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{indexPath}: no 'weight_map' object");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{indexPath}: weight_map '{p.Name}' is not a file name");
            if (!result.TryAdd(p.Name, p.Value.GetString()!)) throw new InvalidDataException($"{indexPath}: tensor '{p.Name}' is mapped twice");
        }
        if (result.Count == 0) throw new InvalidDataException($"{indexPath}: weight_map is empty");
        return result;
    }

    private static (Dictionary<string, Entry>, List<string>) MapTensors(HuggingFaceConfig config, SafetensorsFile[] shards)
    {
        var all = new Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)>(StringComparer.Ordinal);
        foreach (var s in shards)
            foreach (var t in s.Tensors)
                if (!all.TryAdd(t.Name, (s, t)))
                    throw new InvalidDataException($"tensor '{t.Name}' is in both {all[t.Name].File.Source} and {s.Source}");

        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var (hfName, (file, tensor)) in all)
        {
            if (hfName.EndsWith(".weight_scale", StringComparison.Ordinal)) continue; // read with its projection
            string? name = HuggingFaceTensorNames.ToGguf(hfName);
            if (name is null || (name == "output.weight" && config.TieWordEmbeddings))
            {
                ignored.Add(hfName);
                continue;
            }
            string Where() => $"{file.Source}: tensor '{hfName}'";
            all.TryGetValue(hfName[..^".weight".Length] + ".weight_scale", out var scale);
            bool projection = HuggingFaceTensorNames.IsProjection(name);
            if (tensor.Shape.Length is < 1 or > 2) throw new InvalidDataException($"{Where()} has {tensor.Shape.Length} dimensions");
            long[] shape = tensor.Shape.Reverse().ToArray(); // row-major [out, in] -> ggml [in, out]

            if (projection && tensor.Dtype == "U8")
            {
                if (scale.Tensor is null) throw new InvalidDataException($"{Where()} is packed U8 but has no weight_scale");
                if (config.LinearClass is null)
                    throw new InvalidDataException($"{Where()} is packed, and config.json has no quantization_config.linear_class: it decides " +
                        "whether weight_scale multiplies (autobitlinear) or divides (bitlinear), so it is not guessed");
                if (tensor.Shape.Length != 2) throw new InvalidDataException($"{Where()} is packed but not 2-dimensional");
                if (scale.Tensor.ElementCount != 1 || FloatFormat(scale.Tensor.Dtype) is null)
                    throw new InvalidDataException($"{scale.File.Source}: tensor '{scale.Tensor.Name}' is {scale.Tensor}, expected one float");
                long k = tensor.Shape[1], n = tensor.Shape[0] * 4;
                if (k % 128 != 0) throw new InvalidDataException($"{Where()}: {k} inputs is not a multiple of 128, required for ternary kernels");
                var info = new GgufTensorInfo(name, [k, n], (uint)GgmlType.I2_S, TensorFormats.I2_S, 0, TensorFormats.I2_S.TensorBytes(k, n)!.Value);
                entries[name] = new Entry { Info = info, File = file, Tensor = tensor, Scale = scale.Tensor, ScaleFile = scale.File };
                continue;
            }
            if (projection && scale.Tensor is not null)
                throw new InvalidDataException($"{Where()} is {tensor.Dtype} with a weight_scale: only packed U8 weights carry one");
            var format = FloatFormat(tensor.Dtype)
                ?? throw new InvalidDataException($"{Where()} has dtype {tensor.Dtype}; expected F32, F16 or BF16{(projection ? " (or packed U8)" : "")}");
            entries[name] = new Entry
            {
                Info = new GgufTensorInfo(name, shape.Length == 0 ? [1] : shape, (uint)format.Type, format, 0, tensor.ByteSize),
                File = file,
                Tensor = tensor,
            };
        }
        if (!config.TieWordEmbeddings && !entries.ContainsKey("output.weight"))
            throw new InvalidDataException("tie_word_embeddings is false but lm_head.weight is missing");
        return (entries, ignored);
    }

    private static TensorFormat? FloatFormat(string dtype) => dtype switch
    {
        "F32" => TensorFormats.F32,
        "F16" => TensorFormats.F16,
        "BF16" => TensorFormats.BF16,
        _ => null,
    };

    public bool TryGetTensor(string name, out GgufTensorInfo info)
    {
        bool found = _entries.TryGetValue(name, out var e);
        info = e?.Info!;
        return found;
    }

    public GgufTensorInfo GetTensor(string name) => _entries.TryGetValue(name, out var e)
        ? e.Info
        : throw new InvalidDataException($"{Source}: tensor '{name}' ({HuggingFaceTensorNames.ToHf(name)}) is missing");

    public byte* GetTensorPointer(GgufTensorInfo info)
    {
        var e = _entries.TryGetValue(info.Name, out var found) && ReferenceEquals(found.Info, info)
            ? found
            : throw new ArgumentException($"tensor '{info.Name}' does not belong to {Source}");
        if (e.Scale is null) return e.File.GetPointer(e.Tensor);
        if (e.Repacked is null)
        {
            e.Repacked = RepackToI2S(e);
            _repackedCount++;
            if (_progress is not null && (_repackedCount == _packedCount || _repackedCount % ((_packedCount + 3) / 4) == 0))
                _progress.Report($"repacking ternary weights into I2_S: {_repackedCount}/{_packedCount}");
        }
        return e.Repacked.Pointer;
    }

    public ReadOnlySpan<byte> GetTensorData(GgufTensorInfo info)
    {
        byte* p = GetTensorPointer(info);
        if (info.ByteSize > int.MaxValue) throw new NotSupportedException($"{Source}: tensor '{info.Name}' is larger than 2 GiB; use a pointer view");
        return new ReadOnlySpan<byte>(p, (int)info.ByteSize);
    }

    /// <summary>
    /// HF packed [out/4, in] (byte row p holds output rows p, p+R, p+2R, p+3R at shifts 0, 2, 4, 6; codes t+1) into
    /// I2_S (per output row, 32 bytes per 128 inputs: byte i holds w[i] bits 7:6, w[32+i] 5:4, w[64+i] 3:2, w[96+i] 1:0;
    /// codes t+1), then the one f32 scale and padding to 32 bytes.
    /// </summary>
    private NativeBuffer<byte> RepackToI2S(Entry e)
    {
        long k = e.Info.Shape[0], n = e.Info.Shape[1], rowsPerGroup = n / 4;
        float stored = ReadScalar(e.ScaleFile!, e.Scale!);
        if (!float.IsFinite(stored) || stored == 0)
            throw new InvalidDataException($"{e.ScaleFile!.Source}: tensor '{e.Scale!.Name}' = {stored} is not a usable scale");
        // The trap (docs/bitnet-runtime.md §4): AutoBitLinear stores s, BitLinear stores 1/s.
        float scale = Config.LinearClass == LinearClass.AutoBitLinear ? stored : 1f / stored;

        var buffer = new NativeBuffer<byte>(e.Info.ByteSize);
        nint src = (nint)e.File.GetPointer(e.Tensor), dst = (nint)buffer.Pointer;
        int bad = -1;
        Parallel.For(0, n, row =>
        {
            byte* s = (byte*)src + row % rowsPerGroup * k;
            int shift = (int)(row / rowsPerGroup) * 2;
            byte* d = (byte*)dst + row * (k / 4);
            for (long blk = 0; blk < k; blk += 128, d += 32)
            {
                for (int i = 0; i < 32; i++)
                {
                    int c0 = (s[blk + i] >> shift) & 3, c1 = (s[blk + 32 + i] >> shift) & 3;
                    int c2 = (s[blk + 64 + i] >> shift) & 3, c3 = (s[blk + 96 + i] >> shift) & 3;
                    if (c0 == 3 || c1 == 3 || c2 == 3 || c3 == 3) bad = (int)row;
                    d[i] = (byte)((c0 << 6) | (c1 << 4) | (c2 << 2) | c3);
                }
            }
        });
        if (bad >= 0)
        {
            buffer.Dispose();
            throw new InvalidDataException($"{e.File.Source}: tensor '{e.Tensor.Name}' holds code 3 (not t+1 for t in -1..1) in output row {bad}");
        }
        *(float*)(buffer.Pointer + k * n / 4) = scale;
        return buffer;
    }

    private static float ReadScalar(SafetensorsFile file, SafetensorsTensor t)
    {
        var v = new float[1];
        FloatFormat(t.Dtype)!.DequantizeRow(file.GetData(t), 0, v);
        return v[0];
    }

    public void Dispose()
    {
        foreach (var e in _entries.Values) e.Repacked?.Dispose();
        foreach (var s in _shards) s.Dispose();
    }
}
