using System.Runtime.InteropServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// 64-byte aligned native memory of T, outside the GC heap: kernels take raw pointers into it and it never moves.
/// Pages are committed by the OS on first touch, so a large, mostly unused buffer (a KV cache) costs little RSS.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    /// <param name="hugePages">
    /// Weights streamed once per token (the 8-bit head; the bandwidth probe that measures them) and prefill's lookup
    /// tables (<see cref="QuantizedActivations.Tables"/>, read 4 tokens 55-147 KB apart at a time): from
    /// <see cref="MinHugePageBytes"/> up, where Linux offers transparent huge pages, the buffer is anonymous memory
    /// marked for them, which is read with far fewer TLB misses (see <see cref="IO.HugePages"/>). Smaller buffers would
    /// waste too much of their last 2 MB page.
    /// </param>
    public NativeBuffer(long length, bool zero = true, bool hugePages = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        nuint bytes = (nuint)Math.Max(1, length * sizeof(T));
        if (hugePages && (long)bytes >= MinHugePageBytes && IO.HugePages.Offered(IO.HugePages.TransparentMode())
            && IO.HugePages.Allocate((long)bytes) is { } region)
        {
            (_mapping, _mappingLength, _address) = region; // anonymous memory is zero already
            return;
        }
        _address = (nint)NativeMemory.AlignedAlloc(bytes, 64);
        if (zero) NativeMemory.Clear((void*)_address, bytes);
    }

    /// <summary>The smallest buffer put in huge pages (its last page's waste stays under 3%).</summary>
    public const long MinHugePageBytes = 8L << 20;

    private nint _address;
    private nint _mapping;
    private nuint _mappingLength;

    /// <summary>Whether the buffer is memory marked for transparent huge pages.</summary>
    public bool InHugePages => _mapping != 0;

    public T* Pointer => (T*)_address;

    public long Length { get; }

    public Span<T> Span => Length <= int.MaxValue
        ? new Span<T>(Pointer, (int)Length)
        : throw new InvalidOperationException("buffer is larger than a span");

    /// <summary>
    /// A per-thread scratch buffer of at least <paramref name="length"/> elements: <paramref name="buffer"/> itself,
    /// or, when it is missing or shorter, a new one of max(<paramref name="length"/>, <paramref name="allocate"/>).
    /// </summary>
    internal static NativeBuffer<T> Grow(ref NativeBuffer<T>? buffer, long length, long allocate = 0)
    {
        if (buffer is not null && buffer.Length >= length) return buffer;
        buffer?.Dispose();
        return buffer = new NativeBuffer<T>(Math.Max(length, allocate));
    }

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
        if (_mapping != 0) IO.HugePages.Free(_mapping, _mappingLength);
        else NativeMemory.AlignedFree(p);
        GC.SuppressFinalize(this);
    }

    ~NativeBuffer() => Dispose();
}
