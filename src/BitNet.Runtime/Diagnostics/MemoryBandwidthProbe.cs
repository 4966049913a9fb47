using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Diagnostics;

/// <summary>
/// Measures sustained memory read bandwidth the way decoding reads weights: every thread streams its own slice of a
/// buffer much larger than the caches, in transparent huge pages where Linux offers them, as the loader puts the weights
/// (4 KB pages read 1-8% slower here). The best of several passes is reported (GB/s, 1e9 bytes).
/// </summary>
public static unsafe class MemoryBandwidthProbe
{
    public static double MeasureGBs(WorkerPool pool, long bytes = 1L << 30, int passes = 4)
    {
        bytes = bytes / 4096 * 4096;
        using var buffer = new NativeBuffer<byte>(bytes, zero: false, hugePages: true);
        new Span<byte>(buffer.Pointer, (int)Math.Min(bytes, int.MaxValue)).Fill(1); // commit the pages
        if (bytes > int.MaxValue) new Span<byte>(buffer.Pointer + int.MaxValue, (int)(bytes - int.MaxValue)).Fill(1);
        var work = new ReadWork(buffer.Pointer, bytes, pool.ThreadCount * 8);
        double best = 0;
        for (int p = 0; p < passes; p++)
        {
            long start = Stopwatch.GetTimestamp();
            pool.Run(work, work.Chunks);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, bytes / seconds / 1e9);
        }
        GC.KeepAlive(work.Sink);
        return best;
    }

    private sealed class ReadWork(byte* data, long bytes, int chunks) : IParallelWork
    {
        public int Chunks { get; } = chunks;
        public long Sink;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            long size = bytes / Chunks / 128 * 128;
            byte* p = data + index * size;
            var a0 = Vector256<long>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            for (long i = 0; i < size; i += 128)
            {
                // The software prefetch the decode kernels issue, so the probe reads the way they do (on a Zen 5 VM,
                // alternated passes: 36.7-42.9 against 37.2-40.1 GB/s without it).
                if (Sse.IsSupported) { Sse.Prefetch0(p + i + Streaming.PrefetchBytes); Sse.Prefetch0(p + i + Streaming.PrefetchBytes + 64); }
                a0 += Vector256.Load((long*)(p + i));
                a1 += Vector256.Load((long*)(p + i + 32));
                a2 += Vector256.Load((long*)(p + i + 64));
                a3 += Vector256.Load((long*)(p + i + 96));
            }
            Interlocked.Add(ref Sink, Vector256.Sum(a0 + a1 + a2 + a3));
        }
    }
}
