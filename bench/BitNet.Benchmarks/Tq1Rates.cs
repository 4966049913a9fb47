using System.Diagnostics;
using BitNet.Runtime.Kernels;

namespace BitNet.Benchmarks;

/// <summary>
/// `ternary-rates --tq1-blocks`: one thread, the TQ1_0 decode dot of each variant per 54-byte block, from L2 (2,000
/// blocks) and from DRAM (2,000,000), the kernels alternated within each round and the fastest of five rounds kept.
/// </summary>
public static unsafe class Tq1Rates
{
    public static void Run()
    {
        foreach (int blocks in new[] { 2_000, 2_000_000 })
        {
            using var w = new NativeBuffer<byte>((long)blocks * 54);
            var rng = new Random(5);
            for (long i = 0; i < w.Length; i++) w.Pointer[i] = (byte)rng.Next(243);
            using var q = new NativeBuffer<sbyte>(256);
            for (int i = 0; i < 256; i++) q.Pointer[i] = (sbyte)rng.Next(-127, 128);
            using var lanes = new NativeBuffer<sbyte>(TernaryKernels.TQ1LaneBytes);
            TernaryKernels.TQ1DigitLanes(q.Pointer, 1, lanes.Pointer);
            var kernels = new List<(string Name, Func<long> Run)>();
            if (Avx2Isa.IsSupported)
            {
                kernels.Add(("AVX2 lanes", () => { long s = 0; for (int b = 0; b < blocks; b++) s += Avx2Isa.TQ1LanesDot(w.Pointer + (long)b * 54, lanes.Pointer); return s; }));
            }
            if (AvxVnniIsa.IsSupported)
            {
                kernels.Add(("AVX-VNNI lanes", () => { long s = 0; for (int b = 0; b < blocks; b++) s += AvxVnniIsa.TQ1LanesDot(w.Pointer + (long)b * 54, lanes.Pointer); return s; }));
            }
            if (Avx512Isa<Avx2Isa>.IsSupported)
            {
                kernels.Add(("AVX-512 lanes", () => { long s = 0; for (int b = 0; b < blocks; b++) s += Avx512Isa<Avx2Isa>.TQ1LanesDot(w.Pointer + (long)b * 54, lanes.Pointer); return s; }));
            }
            kernels.Add(("scalar lanes", () => { long s = 0; for (int b = 0; b < Math.Min(blocks, 20_000); b++) s += ScalarIsaLanes(w.Pointer + (long)b * 54, lanes.Pointer); return s * blocks / Math.Min(blocks, 20_000); }));
            var best = new double[kernels.Count];
            var sums = new long[kernels.Count];
            Array.Fill(best, double.MaxValue);
            for (int round = 0; round < 6; round++)
                for (int k = 0; k < kernels.Count; k++)
                {
                    var sw = Stopwatch.StartNew();
                    int reps = blocks < 100_000 ? 200 : 1;
                    for (int r = 0; r < reps; r++) sums[k] = kernels[k].Run();
                    double ns = sw.Elapsed.TotalNanoseconds / reps / (kernels[k].Name.StartsWith("scalar") ? Math.Min(blocks, 20_000) : blocks);
                    if (round > 0) best[k] = Math.Min(best[k], ns);
                }
            Console.WriteLine($"{blocks} blocks ({blocks * 54L / 1024} KB):");
            for (int k = 0; k < kernels.Count; k++)
                Console.WriteLine($"  {kernels[k].Name,-26} {best[k],6:F2} ns/block {54 / best[k],6:F1} GB/s{(kernels[k].Name.StartsWith("scalar") || sums[k] == sums[0] ? "" : "  (sum differs!)")}");
        }
    }

    private static int ScalarIsaLanes(byte* block, sbyte* lanes) => TernaryKernels.ReferenceTQ1LanesDot(block, lanes);
}
