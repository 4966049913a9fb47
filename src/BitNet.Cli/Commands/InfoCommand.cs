using System.CommandLine;
using System.Globalization;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Weights;

namespace BitNet.Cli.Commands;

/// <summary>`bitnet info MODEL.gguf|DIR`: architecture, hyper-parameters, tensor types and sizes (GGUF file or HF directory).</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("model") { Description = "GGUF file or Hugging Face model directory" };
        var all = new Option<bool>("--all") { Description = "List every tensor and metadata key" };
        var cmd = new Command("info", "Show a model's architecture, hyper-parameters and tensors") { path, all };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(path)!, r.GetValue(all))));
        return cmd;
    }

    private static int Run(string path, bool all)
    {
        using var file = WeightSources.Open(path, CliProgress.Stderr);
        var inv = CultureInfo.InvariantCulture;
        if (file is GgufFile gguf)
        {
            Console.WriteLine($"file:          {path} ({file.Length:N0} bytes, GGUF v{gguf.Version}, alignment {gguf.Alignment})");
        }
        else if (file is HuggingFaceDirectory hf)
        {
            Console.WriteLine($"directory:     {path} (Hugging Face; {hf.Files.Count} safetensors file(s), {file.Length:N0} bytes)");
            var q = hf.Config;
            Console.WriteLine($"quantization:  linear_class {q.LinearClass?.ToString() ?? "(none)"}, mode {q.QuantizationMode ?? "(none)"}" +
                (file.Tensors.Any(t => t.TypeId == (uint)BitNet.Runtime.Quantization.GgmlType.I2_S) ? "; packed U8 repacked to I2_S at load" : ""));
            if (hf.Ignored.Count > 0) Console.WriteLine($"ignored:       {string.Join(", ", hf.Ignored)}");
        }
        Console.WriteLine($"name:          {file.Metadata.GetStringOrNull("general.name") ?? "(none)"}");
        Console.WriteLine($"architecture:  {file.Metadata.GetStringOrNull("general.architecture") ?? "(none)"}");
        var types = file.Tensors.GroupBy(t => t.TypeName).Select(g => $"{g.Key} x{g.Count()} ({g.Sum(t => t.ByteSize) / 1e6:F1} MB)");
        Console.WriteLine($"tensors:       {file.Tensors.Count}: {string.Join(", ", types)}");
        if (file.Tensors.Count > 0)
        {
            var weights = ModelWeights.Load(file, new ModelLoadOptions { Progress = CliProgress.Stderr });
            var c = weights.Config;
            Console.WriteLine($"embedding:     {c.Embedding}");
            Console.WriteLine($"layers:        {c.Layers}");
            Console.WriteLine($"heads:         {c.Heads} (KV {c.KvHeads}, head dim {c.HeadDim})");
            Console.WriteLine($"feed-forward:  {c.FeedForward} ({c.Activation})");
            Console.WriteLine($"vocabulary:    {c.Vocab}");
            Console.WriteLine($"context:       {c.Context}");
            Console.WriteLine(string.Create(inv, $"rope:          {(c.Rope == RopeStyle.Norm ? "NORM (adjacent pairs)" : "NEOX")}, theta {c.RopeTheta}, dims {c.RopeDim}"));
            Console.WriteLine($"sub-norms:     {(c.SubLayerNorms ? "SubLN before Wo and Wdown" : "none")}");
            Console.WriteLine(string.Create(inv, $"rms eps:       {c.RmsEps:G}"));
            Console.WriteLine($"head:          {(weights.TiedHead ? "tied to token_embd" : "output.weight")} ({weights.Head.FormatName})");
            long ternary = weights.Layers.Sum(l => l.Matrices.Sum(m => m.TotalBytes));
            long head = weights.Head.BytesPerPass;
            Console.WriteLine($"per token:     {(ternary + head) / 1e6:F1} MB of weights read ({ternary / 1e6:F1} MB ternary + {head / 1e6:F1} MB head)");
            Console.WriteLine($"kernels:       {weights.Kernels.Name}");
            weights.Dispose();
        }
        if (all)
        {
            Console.WriteLine();
            foreach (var (k, v) in file.Metadata.Values) Console.WriteLine($"  {k} = {v}");
            foreach (var t in file.Tensors) Console.WriteLine($"  {t} @ {t.Offset}");
        }
        return 0;
    }
}
