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
        _address = (nint)NativeMemory.AlignedAlloc(bytes, 64);
        if (zero) NativeMemory.Clear((void*)_address, bytes);
    }

    private nint _address;

    public T* Pointer => (T*)_address;

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
        // Exchange, so that two racing Dispose calls cannot free the memory twice.
        var p = (T*)Interlocked.Exchange(ref _address, 0);
        if (p == null) return;
        NativeMemory.AlignedFree(p);
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Dispose();
}
