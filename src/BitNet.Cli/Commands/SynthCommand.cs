using System.CommandLine;
using System.Diagnostics;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Synthesis;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet synth --arch bitnet-b1.58|bitnet|llama --shape tiny|2b4t|falcon3-10b --type f32|f16|tq1_0|tq2_0|i2_s --seed N -o file.gguf`:
/// writes a random-weight model with the exact layout of real ones (for benchmarks and tests; no weights can be
/// downloaded here).
/// </summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "bitnet-b1.58, bitnet or llama (the Falcon3 / Llama3-1.58 graph)", DefaultValueFactory = _ => "bitnet-b1.58" };
        var shape = new Option<string>("--shape") { Description = "tiny, 2b4t or falcon3-10b", DefaultValueFactory = _ => "tiny" };
        var type = new Option<string>("--type") { Description = "Ternary weight type: f32, f16, tq1_0, tq2_0, i2_s", DefaultValueFactory = _ => "i2_s" };
        var embType = new Option<string?>("--embedding-type") { Description = "token_embd type: f32 or f16 (default: f16 for 2b4t, f32 for tiny)" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed = same file)", DefaultValueFactory = _ => 1UL };
        var output = new Option<string>("--output", "-o") { Description = "Output GGUF path", Required = true };
        var cmd = new Command("synth", "Write a random-weight BitNet model in GGUF") { arch, shape, type, embType, seed, output };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(arch)!, r.GetValue(shape)!, r.GetValue(type)!,
            r.GetValue(embType), r.GetValue(seed), r.GetValue(output)!)));
        return cmd;
    }

    private static int Run(string arch, string shape, string type, string? embType, ulong seed, string output)
    {
        var options = new SynthesisOptions
        {
            Arch = arch,
            Shape = shape,
            WeightType = ParseType(type, "--type"),
            EmbeddingType = embType is null ? null : ParseType(embType, "--embedding-type"),
            Seed = seed,
        };
        long size = ModelSynthesizer.ComputeFileSize(options);
        Console.Error.WriteLine($"writing {output}: {arch}, shape {shape}, {type}, {size / 1e6:F1} MB");
        var sw = Stopwatch.StartNew();
        int lastPercent = -1;
        var progress = new Progress<double>(p =>
        {
            int percent = (int)(p * 100);
            if (percent / 10 != lastPercent / 10 && !Console.IsErrorRedirected) Console.Error.Write($"\r{percent,3}%");
            lastPercent = percent;
        });
        ModelSynthesizer.Write(options, output, progress);
        Console.Error.WriteLine($"\rdone: {new FileInfo(output).Length:N0} bytes in {sw.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private static GgmlType ParseType(string text, string option) => text.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "tq1_0" => GgmlType.TQ1_0,
        "tq2_0" => GgmlType.TQ2_0,
        "i2_s" => GgmlType.I2_S,
        _ => throw new CliException($"{option}: '{text}' is not one of f32, f16, tq1_0, tq2_0, i2_s"),
    };
}
