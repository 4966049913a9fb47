using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/BitNet.Benchmarks -- --filter '*'   (see README "Benchmarks")
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

public partial class Program;
