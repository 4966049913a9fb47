using System.Runtime.InteropServices;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Synthesis;

/// <summary>
/// Writes random-weight BitNet models with exactly the layout of the official 2B4T GGUF and of the reference files
/// (same metadata keys and types, same tensor table order, names, shapes and encodings), streamed to disk tensor by
/// tensor. Weights are ternary codes (about a third zeros) times a per-tensor f16-exact scale of order 1/sqrt(K), so
/// every encoding of the same seed decodes to the same values and activations stay in a sane range; norm weights lie
/// in [0.9, 1.1]; embeddings are normal with sigma 2/sqrt(n_embd) clamped to [0.02, 0.1], rounded to f16 values.
/// </summary>
public static class ModelSynthesizer
{
    private const int ChunkElements = 1 << 22;
    private const ulong VocabularySeed = 0xB17E7;

    /// <summary>Writes the model to <paramref name="path"/> (deleted again if writing fails).</summary>
    /// <param name="progress">Receives the fraction of tensor data written, 0..1.</param>
    public static void Write(SynthesisOptions options, string path, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var writer = BuildWriter(options, dryRun: false, progress);
        try
        {
            writer.Write(path);
        }
        catch
        {
            try { File.Delete(path); } catch (IOException) { } // best effort: do not leave a half-written model behind
            throw;
        }
        progress?.Report(1.0);
    }

    /// <summary>The exact size in bytes of the file <see cref="Write"/> would produce, computed without generating weights.</summary>
    public static long ComputeFileSize(SynthesisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var counter = new CountingStream();
        BuildWriter(options, dryRun: true, progress: null).Write(counter);
        return counter.Length;
    }

    /// <summary>general.file_type as llama.cpp / bitnet.cpp write it for a model whose projections use <paramref name="weightType"/>.</summary>
    public static uint FileTypeOf(GgmlType weightType) => weightType switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.TQ1_0 => 36,
        GgmlType.TQ2_0 => 37,
        GgmlType.I2_S => 40,
        _ => throw new ArgumentException($"no file type for weight type {weightType}", nameof(weightType)),
    };

    private enum TensorKind { Embedding, Norm, Ternary }

    private sealed record TensorPlan(string Name, long[] Shape, GgmlType Type, TensorKind Kind)
    {
        public long Ne0 => Shape[0];
        public long Rows => Shape.Length > 1 ? Shape[1] : 1;
        public long Bytes => TensorFormats.Get(Type).TensorBytes(Ne0, Rows)!.Value;
    }

    private static List<TensorPlan> PlanTensors(SynthesisShape s, string arch, GgmlType weightType, GgmlType embeddingType)
    {
        long e = s.Embedding, f = s.FeedForward, kv = s.KvDim;
        // The llama graph (Falcon3, Llama3-1.58) has no SubLN and an untied head, as those models ship.
        bool llama = arch == "llama";
        var t = new List<TensorPlan>(3 + 11 * s.Layers)
        {
            new("token_embd.weight", [e, s.Vocab], embeddingType, TensorKind.Embedding),
            new("output_norm.weight", [e], GgmlType.F32, TensorKind.Norm),
        };
        if (llama) t.Add(new("output.weight", [e, s.Vocab], embeddingType, TensorKind.Embedding));
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"blk.{l}.";
            t.Add(new(p + "attn_norm.weight", [e], GgmlType.F32, TensorKind.Norm));
            t.Add(new(p + "attn_q.weight", [e, e], weightType, TensorKind.Ternary));
            t.Add(new(p + "attn_k.weight", [e, kv], weightType, TensorKind.Ternary));
            t.Add(new(p + "attn_v.weight", [e, kv], weightType, TensorKind.Ternary));
            if (!llama) t.Add(new(p + "attn_sub_norm.weight", [e], GgmlType.F32, TensorKind.Norm));
            t.Add(new(p + "attn_output.weight", [e, e], weightType, TensorKind.Ternary));
            t.Add(new(p + "ffn_norm.weight", [e], GgmlType.F32, TensorKind.Norm));
            t.Add(new(p + "ffn_gate.weight", [e, f], weightType, TensorKind.Ternary));
            t.Add(new(p + "ffn_up.weight", [e, f], weightType, TensorKind.Ternary));
            if (!llama) t.Add(new(p + "ffn_sub_norm.weight", [f], GgmlType.F32, TensorKind.Norm));
            t.Add(new(p + "ffn_down.weight", [f, e], weightType, TensorKind.Ternary));
        }
        return t;
    }

    private static GgufWriter BuildWriter(SynthesisOptions o, bool dryRun, IProgress<double>? progress)
    {
        var shape = o.ResolveShape();
        var embeddingType = o.ResolveEmbeddingType();
        // The vocabulary depends on its size only, not on the seed: models that differ in weights share a tokenizer.
        var vocab = SyntheticVocabulary.Create(shape.Vocab, VocabularySeed);
        string a = o.Arch;
        var w = new GgufWriter();
        // Key order and value types mirror the reference files (tiny-random/*.gguf), which mirror the official file.
        w.Add("general.architecture", a);
        w.Add("general.name", $"{a}-{o.Shape.ToLowerInvariant()}-synthetic");
        w.Add($"{a}.vocab_size", (uint)shape.Vocab);
        w.Add($"{a}.context_length", (uint)shape.Context);
        w.Add($"{a}.embedding_length", (uint)shape.Embedding);
        w.Add($"{a}.block_count", (uint)shape.Layers);
        w.Add($"{a}.feed_forward_length", (uint)shape.FeedForward);
        w.Add($"{a}.rope.dimension_count", (uint)shape.HeadDim);
        w.Add($"{a}.attention.head_count", (uint)shape.Heads);
        w.Add($"{a}.attention.head_count_kv", (uint)shape.KvHeads);
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add($"{a}.attention.layer_norm_rms_epsilon", shape.RmsEpsilon);
        w.Add($"{a}.rope.freq_base", shape.RopeTheta);
        w.Add("general.file_type", FileTypeOf(o.WeightType));
        if (a == "bitnet") w.Add("bitnet.hidden_activation", "relu2"); // llama.cpp's `bitnet` defaults to SiLU otherwise
        w.Add("tokenizer.ggml.model", "gpt2");
        w.Add("tokenizer.ggml.tokens", vocab.Tokens);
        w.Add("tokenizer.ggml.scores", vocab.Scores);
        w.Add("tokenizer.ggml.token_type", vocab.TokenTypes);
        w.Add("tokenizer.ggml.merges", vocab.Merges);
        w.Add("tokenizer.ggml.bos_token_id", (uint)vocab.Bos);
        w.Add("tokenizer.ggml.eos_token_id", (uint)vocab.Eos);
        w.Add("tokenizer.ggml.eot_token_id", (uint)vocab.Eot);
        if (TensorFormats.Get(o.WeightType).IsTernary) w.Add("general.quantization_version", 2u);
        w.AddValue("synth.seed", new GgufValue(GgufValueType.UInt64, o.Seed));
        w.Add("synth.generator", "BitNet.Runtime.Synthesis.ModelSynthesizer value-model=ternary*fp16scale");

        var tensors = PlanTensors(shape, a, o.WeightType, embeddingType);
        long total = 0;
        foreach (var t in tensors) total += t.Bytes;
        var state = new WriteState(total, progress);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            ulong stream = (ulong)i;
            Action<Stream> write = dryRun ? s => WriteZeros(s, t.Bytes) : t.Kind switch
            {
                TensorKind.Embedding => s => WriteEmbedding(s, t, new SynthesisRandom(o.Seed, stream), shape.Embedding, state),
                TensorKind.Norm => s => WriteNorm(s, t, new SynthesisRandom(o.Seed, stream), state),
                _ => s => WriteTernary(s, t, new SynthesisRandom(o.Seed, stream), state),
            };
            w.AddTensor(t.Name, t.Shape, t.Type, write);
        }
        return w;
    }

    /// <summary>Buffers shared by the tensor callbacks (GgufWriter calls them one after another) and progress.</summary>
    private sealed class WriteState(long totalBytes, IProgress<double>? progress)
    {
        private long _done;
        private byte[]? _codes, _output;

        public Span<byte> Codes(int n) => (_codes is { } c && c.Length >= n ? c : _codes = new byte[n]).AsSpan(0, n);

        public Span<byte> Output(int n) => (_output is { } b && b.Length >= n ? b : _output = new byte[n]).AsSpan(0, n);

        public void Written(Stream s, ReadOnlySpan<byte> bytes)
        {
            s.Write(bytes);
            _done += bytes.Length;
            progress?.Report(totalBytes == 0 ? 1 : (double)_done / totalBytes);
        }
    }

    // token_embd: N(0, sigma^2) through a 65536-entry table of f16 values, indexed by random 16-bit numbers.
    private static void WriteEmbedding(Stream s, TensorPlan t, SynthesisRandom rng, int embedding, WriteState state)
    {
        float sigma = Math.Clamp(2f / MathF.Sqrt(embedding), 0.02f, 0.1f);
        var quantiles = NormalTable.StandardQuantiles;
        var table = new Half[NormalTable.Size];
        for (int u = 0; u < table.Length; u++) table[u] = (Half)(quantiles[u] * sigma);
        int elementBytes = t.Type == GgmlType.F16 ? 2 : 4;
        long remaining = t.Ne0 * t.Rows;
        while (remaining > 0)
        {
            int n = (int)Math.Min(remaining, ChunkElements / 4);
            var indices = MemoryMarshal.Cast<byte, ushort>(state.Codes(n * 2));
            rng.NextBytes(MemoryMarshal.AsBytes(indices));
            var output = state.Output(n * elementBytes);
            if (t.Type == GgmlType.F16)
            {
                var halves = MemoryMarshal.Cast<byte, Half>(output);
                for (int i = 0; i < n; i++) halves[i] = table[indices[i]];
            }
            else
            {
                var floats = MemoryMarshal.Cast<byte, float>(output);
                for (int i = 0; i < n; i++) floats[i] = (float)table[indices[i]];
            }
            state.Written(s, output);
            remaining -= n;
        }
    }

    // Norm weights: uniform in [0.9, 1.1], rounded to f16 values, stored as F32.
    private static void WriteNorm(Stream s, TensorPlan t, SynthesisRandom rng, WriteState state)
    {
        int n = (int)t.Ne0;
        var output = state.Output(n * 4);
        var floats = MemoryMarshal.Cast<byte, float>(output);
        for (int i = 0; i < n; i++) floats[i] = (float)(Half)(0.9f + 0.2f * rng.NextFloat());
        state.Written(s, output);
    }

    /// <summary>
    /// A projection: scale s = f16(u / sqrt(K)) with u uniform in [0.75, 1.25) (so s*sqrt(2K/3) ~ 0.8 keeps a unit-RMS
    /// input at unit-order output), codes from random bytes (<see cref="SynthesisRandom.NextTernaryCodes"/>).
    /// Rows are generated in chunks and encoded with the reference packers; I2_S ends with its scale tail.
    /// </summary>
    private static void WriteTernary(Stream s, TensorPlan t, SynthesisRandom rng, WriteState state)
    {
        int k = (int)t.Ne0;
        var scale = (Half)((0.75f + 0.5f * rng.NextFloat()) / MathF.Sqrt(k));
        int rowsPerChunk = Math.Max(1, ChunkElements / k);
        var format = TensorFormats.Get(t.Type);
        for (long row = 0; row < t.Rows; row += rowsPerChunk)
        {
            int rows = (int)Math.Min(rowsPerChunk, t.Rows - row);
            int n = rows * k;
            var codes = state.Codes(n);
            rng.NextTernaryCodes(codes);
            var output = state.Output(checked((int)(format.RowBytes(k) * rows)));
            EncodeCodes(t.Type, codes, scale, output);
            state.Written(s, output);
        }
        if (t.Type == GgmlType.I2_S)
        {
            var tail = state.Output(32);
            ReferenceQuantizer.I2_STail((float)scale, tail);
            state.Written(s, tail);
        }
    }

    private static void EncodeCodes(GgmlType type, ReadOnlySpan<byte> codes, Half scale, Span<byte> output)
    {
        switch (type)
        {
            case GgmlType.I2_S:
                ReferenceQuantizer.I2_SPack(codes, output);
                break;
            case GgmlType.TQ2_0:
                for (int b = 0; b < codes.Length / 256; b++)
                    ReferenceQuantizer.TQ2_0Block(codes.Slice(b * 256, 256), scale, output.Slice(b * 66, 66));
                break;
            case GgmlType.TQ1_0:
                for (int b = 0; b < codes.Length / 256; b++)
                    ReferenceQuantizer.TQ1_0Block(codes.Slice(b * 256, 256), scale, output.Slice(b * 54, 54));
                break;
            case GgmlType.F16:
            {
                Span<Half> values = [-scale, Half.Zero, scale];
                var halves = MemoryMarshal.Cast<byte, Half>(output);
                for (int i = 0; i < codes.Length; i++) halves[i] = values[codes[i]];
                break;
            }
            case GgmlType.F32:
            {
                float sf = (float)scale;
                Span<float> values = [-sf, 0f, sf];
                var floats = MemoryMarshal.Cast<byte, float>(output);
                for (int i = 0; i < codes.Length; i++) floats[i] = values[codes[i]];
                break;
            }
            default:
                throw new NotSupportedException($"cannot synthesize {type} weights");
        }
    }

    private static readonly byte[] Zeros = new byte[1 << 20];

    private static void WriteZeros(Stream s, long n)
    {
        for (; n > 0; n -= Zeros.Length) s.Write(Zeros, 0, (int)Math.Min(n, Zeros.Length));
    }

    /// <summary>A write-only stream that only counts, to size a file without writing it.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
        public override void WriteByte(byte value) => _length++;
    }
}
