namespace BitNet.Runtime.Kernels;

/// <summary>Constants the x64 streaming kernels share.</summary>
internal static class Streaming
{
    /// <summary>
    /// How far ahead (bytes) the single-token GEMV loops prefetch the weight stream into L1. The hardware prefetchers
    /// alone left decode at 10-11 tok/s on the 2B4T shape (ternary and head rows at ~14 GB/s, two threads, against a
    /// 20 GB/s probe); a software prefetch one page ahead keeps more lines in flight per core and measured 13-14 tok/s
    /// (1 KB: 11.4, 2 KB: 12.1, 4 KB: 13.8; 8 and 16 KB no better). Prefetching past the end of a matrix is harmless.
    /// </summary>
    public const int PrefetchBytes = 4096;
}
