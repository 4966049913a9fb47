using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/BitNet.Benchmarks -- --filter '*'   (see README "Benchmarks")
// dotnet run -c Release --project bench/BitNet.Benchmarks -- mask-percentiles [--vocab llama3|stories] [--sequences 20]
// dotnet run -c Release --project bench/BitNet.Benchmarks -- ternary-rates [--shape KxN] [--head ROWS | --model-head FILE | --batch-drivers [--dram] | --half-tiles | --peak] [VARIANT...]   (one thread, GMAC/s per batch size)
if (args.Length > 0 && args[0] == "ternary-rates") return BitNet.Benchmarks.TernaryRates.Run(args[1..]);
if (args.Length > 0 && args[0] == "mask-percentiles") return BitNet.Benchmarks.MaskPercentiles.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

public partial class Program;
