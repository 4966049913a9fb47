using System.Text.Json.Nodes;
using BitNet.Runtime.Safetensors;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>Variants of ../shared/reference/tiny-hf written to temporary directories (the shared folder is read-only).</summary>
internal sealed class HfFixtures : IDisposable
{
    public HfFixtures() => Root = Directory.CreateTempSubdirectory("bitnet-hf-").FullName;

    public string Root { get; }

    public static string Packed => TestPaths.SharedFile("reference", "tiny-hf", "packed");
    public static string Bf16 => TestPaths.SharedFile("reference", "tiny-hf", "bf16");

    /// <summary>A copy of <paramref name="source"/> with config.json edited, and tensors rewritten by <paramref name="rewrite"/>
    /// (name, dtype, shape, bytes) -> bytes, optionally split into <paramref name="shards"/> files with an index.</summary>
    public string Variant(string name, string source, Action<JsonObject>? editConfig = null,
        Func<SafetensorsWriter.Entry, SafetensorsWriter.Entry?>? rewrite = null, int shards = 1,
        Func<SafetensorsWriter.Entry, SafetensorsWriter.Entry?>? add = null)
    {
        string dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(source))
            if (!f.EndsWith(".safetensors", StringComparison.Ordinal)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        if (editConfig is not null)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
            editConfig(config);
            File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        }

        var entries = new List<SafetensorsWriter.Entry>();
        using (var file = SafetensorsFile.Open(Path.Combine(source, "model.safetensors")))
        {
            foreach (var t in file.Tensors)
            {
                var e = new SafetensorsWriter.Entry(t.Name, t.Dtype, t.Shape, file.GetData(t).ToArray());
                var r = rewrite is null ? e : rewrite(e);
                if (r is not null) entries.Add(r);
                if (add?.Invoke(e) is { } extra) entries.Add(extra); // a tensor derived from this one (e.g. an untied head)
            }
        }
        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), entries);
            return dir;
        }
        var map = new JsonObject();
        int per = (entries.Count + shards - 1) / shards;
        for (int s = 0; s < shards; s++)
        {
            string shard = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var part = entries.Skip(s * per).Take(per).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, shard), part);
            foreach (var e in part) map[e.Name] = shard;
        }
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        return dir;
    }

    /// <summary>Replaces every F32 weight_scale s by 1/s (what the BitLinear class stores).</summary>
    public static SafetensorsWriter.Entry? InvertScales(SafetensorsWriter.Entry e)
    {
        if (!e.Name.EndsWith(".weight_scale", StringComparison.Ordinal)) return e;
        Assert.Equal("F32", e.Dtype);
        float s = BitConverter.ToSingle(e.Data);
        return e with { Data = BitConverter.GetBytes(1f / s) };
    }

    /// <summary>F32 tensor bytes as BF16, rounded to nearest even (what torch's .to(bfloat16) does).</summary>
    public static byte[] ToBf16(byte[] f32)
    {
        var bf16 = new byte[f32.Length / 2];
        for (int i = 0; i < f32.Length / 4; i++)
        {
            uint bits = BitConverter.ToUInt32(f32, i * 4);
            ushort half = (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
            BitConverter.TryWriteBytes(bf16.AsSpan(i * 2), half);
        }
        return bf16;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
