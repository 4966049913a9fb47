using System.Runtime.InteropServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// 64-byte aligned native memory of T, outside the GC heap: kernels take raw pointers into it and it never moves.
/// Pages are committed by the OS on first touch, so a large, mostly unused buffer (a KV cache) costs little RSS.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    public NativeBuffer(long length, bool zero = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
        Pointer = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        if (zero) NativeMemory.Clear(Pointer, bytes);
    }

    public T* Pointer { get; private set; }

    public long Length { get; }

    public Span<T> Span => Length <= int.MaxValue
        ? new Span<T>(Pointer, (int)Length)
        : throw new InvalidOperationException("buffer is larger than a span");

    public Span<T> Slice(long start, int length)
    {
        if (start < 0 || length < 0 || start + length > Length) throw new ArgumentOutOfRangeException(nameof(start));
        return new Span<T>(Pointer + start, length);
    }

    public void Dispose()
    {
        if (Pointer == null) return;
        NativeMemory.AlignedFree(Pointer);
        Pointer = null;
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Dispose();
}
