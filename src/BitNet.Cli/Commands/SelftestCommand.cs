using System.CommandLine;
using System.Runtime.InteropServices;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Kernels;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet selftest [--kernels V] [--reference DIR]... [--cases N]`: every kernel variant this CPU runs against the
/// scalar reference (shapes, worst-case activations, hostile codes), then reference models against their exact
/// logits: every model in each --reference folder, or one case of ../shared/reference/stories3m when it is there.
/// Prints a table and exits 1 on any mismatch.
/// </summary>
internal static class SelftestCommand
{
    private static readonly string DefaultReference = Path.Combine("..", "shared", "reference", "stories3m");

    public static Command Create()
    {
        var kernels = new Option<string>("--kernels") { Description = "Test only this variant (default: every variant this CPU runs)" };
        var reference = new Option<string[]>("--reference")
        {
            Description = "Folder with cases.json and GGUF models to check against (repeatable; default: one case of ../shared/reference/stories3m if present)",
            AllowMultipleArgumentsPerToken = false,
        };
        var cases = new Option<int>("--cases") { Description = "Cases per model from each reference folder (0 = all)" };
        var threads = CommonOptions.Threads();
        var cmd = new Command("selftest", "Check this machine's kernels against the scalar reference and reference models")
            { kernels, reference, cases, threads };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(kernels), r.GetValue(reference) ?? [], r.GetValue(cases), r.GetValue(threads))));
        return cmd;
    }

    private static int Run(string? kernelName, string[] references, int cases, int threads)
    {
        if (cases < 0) throw new CliException("--cases must be >= 0");
        CommonOptions.CheckThreads(threads);
        var variants = kernelName is null ? KernelSet.Supported : [CommonOptions.ParseKernels(kernelName)];
        Console.WriteLine($"CPU {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} processors; " +
            $"variants compiled in: {string.Join(", ", KernelSet.All.Select(k => k.Name))}; this CPU runs: {string.Join(", ", KernelSet.Supported.Select(k => k.Name))}");

        bool ok = true;
        Console.WriteLine();
        Console.WriteLine($"{"variant",-12} {"family",-28} {"cases",6} {"max error",10}  result");
        foreach (var row in KernelSelfTest.Run(variants))
        {
            Console.WriteLine($"{row.Variant,-12} {row.Family,-28} {row.Cases,6} {row.MaxError,10:G3}  {(row.Passes ? "ok" : $"FAIL ({row.Failures}): {row.FirstFailure}")}");
            ok &= row.Passes;
        }

        var folders = references.Length > 0 ? references : Directory.Exists(DefaultReference) ? [DefaultReference] : [];
        int perModel = references.Length > 0 ? cases : Math.Max(cases, 1);
        var modelKernels = kernelName is null ? KernelSet.Default : variants[0];
        if (folders.Length == 0)
            Console.WriteLine($"\nno reference models checked ({DefaultReference} is not here; pass --reference DIR)");
        foreach (var folder in folders)
        {
            string casesFile = Path.Combine(folder, "cases.json");
            if (!File.Exists(casesFile)) throw new CliException($"--reference: {casesFile} does not exist");
            var all = ReferenceCase.Load(casesFile);
            var chosen = perModel == 0 ? all : all.Take(perModel).ToArray();
            var models = ReferenceCheck.ModelFiles(folder);
            if (models.Count == 0) throw new CliException($"--reference: no .gguf model in {folder}");
            if (references.Length == 0) models = models.Where(m => m.EndsWith("i2_s.gguf", StringComparison.Ordinal)).Take(1).DefaultIfEmpty(models[0]).ToArray();
            Console.WriteLine($"\nreference models in {folder} with {modelKernels.Name} kernels ({chosen.Count} of {all.Count} cases each):");
            foreach (var model in models)
            {
                foreach (var result in ReferenceCheck.Run(model, chosen, modelKernels, threads))
                {
                    Console.WriteLine($"  {(result.Passes ? "ok  " : "FAIL")} {result}");
                    ok &= result.Passes;
                }
            }
        }
        Console.WriteLine(ok ? "\nselftest passed" : "\nselftest FAILED");
        return ok ? 0 : 1;
    }
}
