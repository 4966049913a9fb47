using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace BitNet.Runtime.IO;

/// <summary>
/// Bytes at a fixed address until disposed: a file mapped read-only, a file read into transparent huge pages (model
/// weights for inference, see <see cref="HugePages"/>), or a 64-byte aligned native copy of bytes held in memory
/// (tests, fuzzing). The GGUF and safetensors readers parse over these.
/// </summary>
internal sealed unsafe class PinnedBytes : IDisposable
{
    private MemoryMappedFile? _file;
    private MemoryMappedViewAccessor? _view;
    private byte* _native;
    private nint _hugeMapping;
    private nuint _hugeLength;

    private PinnedBytes() { }

    public byte* Pointer { get; private set; }

    public long Length { get; private set; }

    /// <summary>Maps <paramref name="path"/> read-only (its length must be known to be non-zero).</summary>
    public static PinnedBytes Map(string path, long length)
    {
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new PinnedBytes { _file = file, _view = view, Pointer = p + view.PointerOffset, Length = length };
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads <paramref name="path"/> into huge-page memory (<see cref="HugePages.Allocate"/>); maps it instead if the
    /// kernel refuses the memory.
    /// </summary>
    public static PinnedBytes ReadIntoHugePages(string path, long length)
    {
        if (HugePages.Allocate(length) is not { } region) return Map(path, length);
        var (mapping, mappingLength, start) = region;
        var bytes = new PinnedBytes { _hugeMapping = mapping, _hugeLength = mappingLength, Pointer = (byte*)start, Length = length };
        try
        {
            using var file = File.OpenHandle(path);
            for (long done = 0; done < length;)
            {
                int n = RandomAccess.Read(file, new Span<byte>(bytes.Pointer + done, (int)Math.Min(1 << 30, length - done)), done);
                if (n <= 0) throw new IOException($"{path}: the file ended at byte {done} of {length} while it was read");
                done += n;
            }
            return bytes;
        }
        catch
        {
            bytes.Dispose();
            throw;
        }
    }

    /// <summary>Whether the bytes live in memory marked for huge pages (<see cref="ReadIntoHugePages"/>).</summary>
    public bool InHugePages => _hugeMapping != 0;

    /// <summary>Copies <paramref name="bytes"/> to native memory.</summary>
    public static PinnedBytes Copy(ReadOnlySpan<byte> bytes)
    {
        var p = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes.Length, 1), 64);
        bytes.CopyTo(new Span<byte>(p, bytes.Length));
        return new PinnedBytes { _native = p, Pointer = p, Length = bytes.Length };
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file!.Dispose();
            _view = null;
        }
        if (_native != null) NativeMemory.AlignedFree(_native);
        _native = null;
        if (_hugeMapping != 0) HugePages.Free(_hugeMapping, _hugeLength);
        _hugeMapping = 0;
        Pointer = null;
    }
}
