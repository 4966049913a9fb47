using BitNet.Runtime.Gguf;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Weights;

/// <summary>
/// Writes a weight source (a Hugging Face directory) as an I2_S GGUF in bitnet.cpp's conventions: arch bitnet-b1.58
/// (or llama), the seven projections as type 36 (codes, then the f32 scale, padded to 32 bytes), norms in F32, the
/// embedding/head in F32 or F16, and the source's tokenizer.ggml.* metadata. A llama GGUF is read with NORM rope
/// (adjacent pairs), so the HF (rotate_half, NEOX) q/k rows are permuted the way llama.cpp's converter does.
/// </summary>
public static class GgufConverter
{
    public static void Convert(IWeightSource source, string outputPath, IProgress<string>? progress = null)
    {
        var emb = source.GetTensor("token_embd.weight");
        if (emb.Shape.Length != 2) throw new InvalidDataException($"token_embd.weight has {emb.Shape.Length} dimensions, expected 2");
        var config = ModelConfig.FromGguf(source.Metadata, emb.Shape[1], source.Traits);
        bool permuteQk = config.Architecture == "llama" && config.Rope == RopeStyle.Neox;
        if (config.Architecture == "llama" && !permuteQk && source.Traits is not null)
            throw new InvalidDataException("unexpected rope style for a llama source");

        var writer = new GgufWriter();
        foreach (var (key, value) in source.Metadata.Values)
        {
            if (key == "general.alignment") continue;
            writer.AddValue(key, value);
        }
        if (!source.Metadata.Contains("general.name"))
            writer.Add("general.name", Path.GetFileName(Path.TrimEndingDirectorySeparator(source.Source)));

        AddFloat(writer, source, "token_embd.weight", matrix: true);
        int total = config.Layers * 7, done = 0;
        for (int i = 0; i < config.Layers; i++)
        {
            string p = $"blk.{i}.";
            AddFloat(writer, source, p + "attn_norm.weight", matrix: false);
            AddFloat(writer, source, p + "ffn_norm.weight", matrix: false);
            if (config.SubLayerNorms)
            {
                AddFloat(writer, source, p + "attn_sub_norm.weight", matrix: false);
                AddFloat(writer, source, p + "ffn_sub_norm.weight", matrix: false);
            }
            foreach (var (name, k, n, heads) in new[]
            {
                ("attn_q", config.Embedding, config.QDim, permuteQk ? config.Heads : 0),
                ("attn_k", config.Embedding, config.KvDim, permuteQk ? config.KvHeads : 0),
                ("attn_v", config.Embedding, config.KvDim, 0),
                ("attn_output", config.QDim, config.Embedding, 0),
                ("ffn_gate", config.Embedding, config.FeedForward, 0),
                ("ffn_up", config.Embedding, config.FeedForward, 0),
                ("ffn_down", config.FeedForward, config.Embedding, 0),
            })
            {
                string baseName = p + name;
                int h = heads;
                writer.AddTensor(baseName + ".weight", [k, n], GgmlType.I2_S, s =>
                {
                    WriteI2S(source, baseName, k, n, h, config.Traits.LatentFloatWeights, s);
                    if (++done == total || done % ((total + 3) / 4) == 0) progress?.Report($"converting: {done}/{total} ternary tensors");
                });
            }
        }
        AddFloat(writer, source, "output_norm.weight", matrix: false);
        if (source.TryGetTensor("output.weight", out _)) AddFloat(writer, source, "output.weight", matrix: true);

        string temp = outputPath + ".partial";
        try
        {
            writer.Write(temp);
            File.Move(temp, outputPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Norms become F32 (what bitnet.cpp's graph expects); matrices stay F32/F16, BF16 becomes F16.</summary>
    private static unsafe void AddFloat(GgufWriter writer, IWeightSource source, string name, bool matrix)
    {
        var info = source.GetTensor(name);
        var format = info.Format ?? throw new InvalidDataException($"tensor '{name}' has unsupported type {info.TypeId}");
        if (format.IsTernary) throw new InvalidDataException($"tensor '{name}' is {format.Name}; expected a float tensor");
        if (matrix && format.Type is GgmlType.F32 or GgmlType.F16)
        {
            writer.AddTensor(name, info.Shape, format.Type, s => s.Write(source.GetTensorData(info)));
            return;
        }
        var target = matrix ? GgmlType.F16 : GgmlType.F32;
        writer.AddTensor(name, info.Shape, target, s =>
        {
            long ne0 = info.Shape[0], rows = info.Rows;
            var row = new float[ne0];
            var bytes = new byte[ne0 * (target == GgmlType.F32 ? 4 : 2)];
            var data = source.GetTensorData(info);
            for (long r = 0; r < rows; r++)
            {
                format.DequantizeRow(data, r, row);
                for (int j = 0; j < ne0; j++)
                {
                    if (target == GgmlType.F32) BitConverter.TryWriteBytes(bytes.AsSpan(j * 4), row[j]);
                    else BitConverter.TryWriteBytes(bytes.AsSpan(j * 2), (Half)row[j]);
                }
                s.Write(bytes);
            }
        });
    }

    /// <summary>One projection as I2_S bytes; with <paramref name="heads"/> &gt; 0 the rows are reordered from HF's
    /// rotate_half layout to llama.cpp's: new row h*hd + 2i + j = old row h*hd + j*hd/2 + i.</summary>
    private static unsafe void WriteI2S(IWeightSource source, string baseName, int k, int n, int heads, bool latent, Stream s)
    {
        using var m = TernaryLoader.Load(source, baseName, k, n, latent);
        if (m.Layout != TernaryLayout.I2S)
            throw new InvalidDataException($"tensor '{baseName}.weight' is {m.Layout}; converting needs I2_S or float weights");
        if (m.OutputScale != 1f)
            throw new InvalidDataException($"tensor '{baseName}' has a separate .scale tensor, which bitnet.cpp's I2_S does not carry");
        int rowBytes = k / 4;
        if (heads == 0)
        {
            s.Write(new ReadOnlySpan<byte>(m.Data, checked(rowBytes * n)));
        }
        else
        {
            int hd = n / heads;
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < hd / 2; i++)
                    for (int j = 0; j < 2; j++)
                        s.Write(new ReadOnlySpan<byte>(m.Row(h * hd + j * (hd / 2) + i), rowBytes));
        }
        Span<byte> tail = stackalloc byte[32];
        tail.Clear();
        BitConverter.TryWriteBytes(tail, m.TensorScale);
        s.Write(tail);
    }
}
