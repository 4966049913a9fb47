using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace BitNet.Runtime.IO;

/// <summary>
/// Bytes at a fixed address until disposed: a file mapped read-only (model files are never copied) or a 64-byte
/// aligned native copy of bytes held in memory (tests, fuzzing). The GGUF and safetensors readers parse over these.
/// </summary>
internal sealed unsafe class PinnedBytes : IDisposable
{
    private MemoryMappedFile? _file;
    private MemoryMappedViewAccessor? _view;
    private byte* _native;

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
        Pointer = null;
    }
}
