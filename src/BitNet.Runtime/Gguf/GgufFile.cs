using BitNet.Runtime.IO;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Weights;

namespace BitNet.Runtime.Gguf;

/// <summary>
/// A GGUF file (v2 or v3), memory-mapped read-only or read once into huge pages. Tensor data is never copied again:
/// <see cref="GetTensorData"/> returns a view into those bytes. Every count, length and offset in the header is checked
/// against the file size before it is used, so a truncated or hostile file fails with an
/// <see cref="InvalidDataException"/> that names the field.
/// </summary>
public sealed unsafe class GgufFile : IWeightSource
{
    public const uint Magic = 0x46554747; // "GGUF" little endian
    public const int DefaultAlignment = 32;

    private readonly IDisposable? _owner;
    private readonly byte* _base;
    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private bool _disposed;

    private GgufFile(byte* basePtr, long length, IDisposable? owner, string source)
    {
        _base = basePtr;
        Length = length;
        _owner = owner;
        Source = source;
        var parsed = GgufParser.Parse(basePtr, length);
        Version = parsed.Version;
        Metadata = parsed.Metadata;
        Tensors = parsed.Tensors;
        Alignment = parsed.Alignment;
        DataOffset = parsed.DataOffset;
        _byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        foreach (var t in Tensors) _byName[t.Name] = t;
    }

    /// <summary>Whether the file was read into memory marked for transparent huge pages rather than mapped.</summary>
    public bool InHugePages => _owner is PinnedBytes { InHugePages: true };

    /// <summary>Path or description of where the bytes came from (for messages).</summary>
    public string Source { get; }

    public long Length { get; }

    public uint Version { get; }

    public int Alignment { get; }

    /// <summary>Absolute file offset of the tensor data section.</summary>
    public long DataOffset { get; }

    public GgufMetadata Metadata { get; }

    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    public string? Architecture => Metadata.GetStringOrNull("general.architecture");

    /// <summary>
    /// Opens and validates a GGUF file by memory-mapping it or, with <paramref name="hugePages"/> where the OS offers
    /// them and memory allows (<see cref="HugePages.Worthwhile"/>), by reading it into transparent huge pages, which
    /// decode streams faster than a mapping's 4 KB pages.
    /// </summary>
    public static GgufFile Open(string path, bool hugePages = false)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"model file not found: {path}", path);
        if (info.Length < 24) throw new InvalidDataException($"{path}: file is {info.Length} bytes, too small to be GGUF");
        var bytes = hugePages && HugePages.Worthwhile(info.Length, HugePages.TransparentMode(), HugePages.AvailableMemory())
            ? PinnedBytes.ReadIntoHugePages(path, info.Length)
            : PinnedBytes.Map(path, info.Length);
        try
        {
            return new GgufFile(bytes.Pointer, bytes.Length, bytes, path);
        }
        catch (InvalidDataException e)
        {
            bytes.Dispose();
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch
        {
            bytes.Dispose();
            throw;
        }
    }

    /// <summary>Parses GGUF bytes held in memory (tests, fuzzing). The bytes are copied to native memory.</summary>
    public static GgufFile FromBytes(ReadOnlySpan<byte> bytes, string source = "<memory>")
    {
        var copy = PinnedBytes.Copy(bytes);
        try
        {
            return new GgufFile(copy.Pointer, copy.Length, copy, source);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    public bool TryGetTensor(string name, out GgufTensorInfo info) => _byName.TryGetValue(name, out info!);

    public GgufTensorInfo GetTensor(string name) => _byName.TryGetValue(name, out var t)
        ? t
        : throw new InvalidDataException($"{Source}: tensor '{name}' is missing");

    /// <summary>Pointer to the first byte of a tensor; valid while this file is open.</summary>
    public byte* GetTensorPointer(GgufTensorInfo info)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (info.Format is null)
            throw new NotSupportedException($"{Source}: tensor '{info.Name}' has type {info.TypeId}, which this runtime cannot read");
        return _base + DataOffset + info.Offset;
    }

    /// <summary>The tensor's bytes as a span (tensors over 2 GiB must use <see cref="GetTensorPointer"/>).</summary>
    public ReadOnlySpan<byte> GetTensorData(GgufTensorInfo info)
    {
        var p = GetTensorPointer(info);
        if (info.ByteSize > int.MaxValue)
            throw new NotSupportedException($"{Source}: tensor '{info.Name}' is larger than 2 GiB; use a pointer view");
        return new ReadOnlySpan<byte>(p, (int)info.ByteSize);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _owner?.Dispose();
    }
}
