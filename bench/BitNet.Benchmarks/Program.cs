using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/BitNet.Benchmarks -- --filter '*'   (see README "Benchmarks")
// dotnet run -c Release --project bench/BitNet.Benchmarks -- mask-percentiles [--vocab llama3|stories] [--sequences 20]
if (args.Length > 0 && args[0] == "mask-percentiles") return BitNet.Benchmarks.MaskPercentiles.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

public partial class Program;
