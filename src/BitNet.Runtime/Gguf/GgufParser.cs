using System.Buffers.Binary;
using System.Text;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Gguf;

/// <summary>
/// Reads the GGUF header, metadata and tensor table from raw bytes. Nothing here trusts a number from the file:
/// counts are bounded by the bytes left (each item needs at least a few bytes), strings by the remaining length,
/// array nesting by a fixed depth, and every tensor's byte range by the end of the file.
/// </summary>
internal static unsafe class GgufParser
{
    private const int MaxArrayDepth = 8;
    private const int MaxDims = 4;

    internal sealed record Result(
        uint Version, GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors, int Alignment, long DataOffset);

    public static Result Parse(byte* p, long length)
    {
        var r = new Cursor(p, length);
        uint magic = r.U32("magic");
        if (magic != GgufFile.Magic)
            throw new InvalidDataException($"not a GGUF file (magic 0x{magic:X8}, expected 0x{GgufFile.Magic:X8} \"GGUF\")");
        uint version = r.U32("version");
        if (version is not (2 or 3))
            throw new InvalidDataException($"GGUF version {version} is not supported (only 2 and 3)");
        long nTensors = r.Count("tensor count", minItemBytes: 8 + 4 + 8 + 4 + 8);
        long nKv = r.Count("metadata count", minItemBytes: 8 + 4 + 1);

        var values = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (long i = 0; i < nKv; i++)
        {
            string key = r.String($"metadata[{i}].key");
            var type = (GgufValueType)r.U32($"metadata '{key}' type");
            var value = ReadValue(ref r, type, key, depth: 0);
            if (!values.TryAdd(key, value))
                throw new InvalidDataException($"metadata key '{key}' appears twice");
        }
        var metadata = new GgufMetadata(values);

        int alignment = GgufFile.DefaultAlignment;
        if (metadata.TryGet("general.alignment", out var alignValue))
        {
            long a;
            try { a = alignValue.AsInt64(); }
            catch (InvalidDataException) { throw new InvalidDataException("general.alignment is not an integer"); }
            if (a <= 0 || a > 1 << 20 || (a & (a - 1)) != 0)
                throw new InvalidDataException($"general.alignment = {a} is not a power of two up to 1 MiB");
            alignment = (int)a;
        }
        // bitnet.cpp writes its I2_S tensors (id 36) into bitnet* files and into the `llama` files of the Falcon3 /
        // Llama3-1.58 family; upstream ggml's 36 was a runtime-only repacked type that never reached a file.
        string arch = metadata.GetStringOrNull("general.architecture") ?? "";
        bool bitnetFile = arch.StartsWith("bitnet", StringComparison.Ordinal) || arch == "llama";

        // Capacity grows with the entries actually read, not with the count the header claims.
        int capacity = (int)Math.Min(nTensors, 4096);
        var tensors = new List<GgufTensorInfo>(capacity);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var raw = new List<(string name, long[] shape, uint type, long offset)>(capacity);
        for (long i = 0; i < nTensors; i++)
        {
            string name = r.String($"tensor[{i}].name");
            if (!names.Add(name)) throw new InvalidDataException($"tensor '{name}' appears twice");
            uint nDims = r.U32($"tensor '{name}' n_dims");
            if (nDims is 0 or > MaxDims)
                throw new InvalidDataException($"tensor '{name}' has {nDims} dimensions (1..{MaxDims} allowed)");
            var shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong ne = r.U64($"tensor '{name}' ne[{d}]");
                if (ne == 0 || ne > (ulong)length * 8)
                    throw new InvalidDataException($"tensor '{name}' ne[{d}] = {ne} is impossible for a {length}-byte file");
                shape[d] = (long)ne;
                elements = elements > long.MaxValue / (long)ne
                    ? throw new InvalidDataException($"tensor '{name}' element count overflows")
                    : elements * (long)ne;
            }
            if (elements > length * 8)
                throw new InvalidDataException($"tensor '{name}' claims {elements} elements, impossible for a {length}-byte file");
            uint type = r.U32($"tensor '{name}' type");
            ulong offset = r.U64($"tensor '{name}' offset");
            if (offset > (ulong)length)
                throw new InvalidDataException($"tensor '{name}' offset {offset} is beyond the end of the file ({length} bytes)");
            raw.Add((name, shape, type, (long)offset));
        }

        long dataOffset = AlignUp(r.Position, alignment);
        if (dataOffset > length && nTensors > 0)
            throw new InvalidDataException($"tensor data would start at {dataOffset}, beyond the end of the file ({length} bytes)");

        foreach (var (name, shape, type, offset) in raw)
        {
            var format = TensorFormats.Find(type, bitnetFile);
            long size = 0;
            if (format is not null)
            {
                long rows = 1;
                for (int d = 1; d < shape.Length; d++) rows *= shape[d];
                size = format.TensorBytes(shape[0], rows)
                    ?? throw new InvalidDataException(
                        $"tensor '{name}': ne[0] = {shape[0]} is not a multiple of the {format.Name} block size {format.BlockSize}");
            }
            if (offset % alignment != 0)
                throw new InvalidDataException($"tensor '{name}' offset {offset} is not aligned to {alignment}");
            if (dataOffset + offset + size > length)
                throw new InvalidDataException(
                    $"tensor '{name}' ({format?.Name ?? "type " + type}, {size} bytes at data offset {offset}) runs past the end " +
                    $"of the file ({length} bytes): the file is truncated or corrupt");
            tensors.Add(new GgufTensorInfo(name, shape, type, format, offset, size));
        }

        var sorted = tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.Offset).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            var prev = sorted[i - 1];
            if (prev.Offset + prev.ByteSize > sorted[i].Offset)
                throw new InvalidDataException($"tensors '{prev.Name}' and '{sorted[i].Name}' overlap in the data section");
        }

        return new Result(version, metadata, tensors, alignment, dataOffset);
    }

    private static long AlignUp(long x, int a) => (x + a - 1) / a * a;

    private static GgufValue ReadValue(ref Cursor r, GgufValueType type, string key, int depth)
    {
        string field = $"metadata '{key}'";
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, r.Bytes(1, field)[0]);
            case GgufValueType.Int8: return new(type, (sbyte)r.Bytes(1, field)[0]);
            case GgufValueType.UInt16: return new(type, BinaryPrimitives.ReadUInt16LittleEndian(r.Bytes(2, field)));
            case GgufValueType.Int16: return new(type, BinaryPrimitives.ReadInt16LittleEndian(r.Bytes(2, field)));
            case GgufValueType.UInt32: return new(type, r.U32(field));
            case GgufValueType.Int32: return new(type, BinaryPrimitives.ReadInt32LittleEndian(r.Bytes(4, field)));
            case GgufValueType.Float32: return new(type, BinaryPrimitives.ReadSingleLittleEndian(r.Bytes(4, field)));
            case GgufValueType.Bool:
                byte b = r.Bytes(1, field)[0];
                return b <= 1 ? new(type, b == 1) : throw new InvalidDataException($"metadata '{key}': bool value {b} is not 0 or 1");
            case GgufValueType.String: return new(type, r.String(field));
            case GgufValueType.UInt64: return new(type, r.U64(field));
            case GgufValueType.Int64: return new(type, BinaryPrimitives.ReadInt64LittleEndian(r.Bytes(8, field)));
            case GgufValueType.Float64: return new(type, BinaryPrimitives.ReadDoubleLittleEndian(r.Bytes(8, field)));
            case GgufValueType.Array: return ReadArray(ref r, key, depth);
            default: throw new InvalidDataException($"metadata '{key}' has unknown value type {(uint)type}");
        }
    }

    private static GgufValue ReadArray(ref Cursor r, string key, int depth)
    {
        if (depth >= MaxArrayDepth)
            throw new InvalidDataException($"metadata '{key}': arrays nested deeper than {MaxArrayDepth}");
        var et = (GgufValueType)r.U32($"metadata '{key}' array element type");
        int elemBytes = et switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
            GgufValueType.String => 8,       // at least the length prefix
            GgufValueType.Array => 12,       // at least type + count
            _ => throw new InvalidDataException($"metadata '{key}' has unknown array element type {(uint)et}"),
        };
        string field = $"metadata '{key}'";
        long n = r.Count($"{field} array length", elemBytes);
        // Count() bounds n by the bytes left, but a file over 2 GiB could still claim a buffer no span can hold.
        if (n * elemBytes > int.MaxValue)
            throw new InvalidDataException($"{field}: array of {n} x {elemBytes}-byte items exceeds 2 GiB");
        int count = (int)n;
        switch (et)
        {
            case GgufValueType.String:
            {
                var a = new string[count];
                for (int i = 0; i < count; i++) a[i] = r.String(field);
                return new(GgufValueType.Array, a, et);
            }
            case GgufValueType.Array:
            {
                var a = new GgufValue[count];
                for (int i = 0; i < count; i++) a[i] = ReadArray(ref r, key, depth + 1);
                return new(GgufValueType.Array, a, et);
            }
            case GgufValueType.Bool:
            {
                var src = r.Bytes(count, field);
                var a = new bool[count];
                for (int i = 0; i < count; i++)
                    a[i] = src[i] <= 1 ? src[i] == 1 : throw new InvalidDataException($"{field}[{i}]: bool value {src[i]} is not 0 or 1");
                return new(GgufValueType.Array, a, et);
            }
            default:
            {
                var src = r.Bytes(count * elemBytes, field);
                object a = et switch
                {
                    GgufValueType.UInt8 => src.ToArray(),
                    GgufValueType.Int8 => Cast<sbyte>(src),
                    GgufValueType.UInt16 => Cast<ushort>(src),
                    GgufValueType.Int16 => Cast<short>(src),
                    GgufValueType.UInt32 => Cast<uint>(src),
                    GgufValueType.Int32 => Cast<int>(src),
                    GgufValueType.Float32 => Cast<float>(src),
                    GgufValueType.UInt64 => Cast<ulong>(src),
                    GgufValueType.Int64 => Cast<long>(src),
                    _ => Cast<double>(src),
                };
                return new(GgufValueType.Array, a, et);
            }
        }
    }

    private static T[] Cast<T>(ReadOnlySpan<byte> src) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(src).ToArray(); // GGUF is little endian, as is every supported host

    /// <summary>A forward-only reader that refuses to step past the end.</summary>
    private struct Cursor(byte* p, long length)
    {
        private long _pos;

        public readonly long Position => _pos;

        public ReadOnlySpan<byte> Bytes(int n, string field)
        {
            if (n < 0 || n > length - _pos)
                throw new InvalidDataException($"{field}: needs {n} bytes at offset {_pos}, but the file ends at {length} (truncated?)");
            var s = new ReadOnlySpan<byte>(p + _pos, n);
            _pos += n;
            return s;
        }

        public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, field));

        public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8, field));

        /// <summary>A u64 count of items that each take at least <paramref name="minItemBytes"/> bytes.</summary>
        public long Count(string field, int minItemBytes)
        {
            ulong n = U64(field);
            ulong left = (ulong)(length - _pos);
            if (n > left / (ulong)minItemBytes || n > int.MaxValue)
                throw new InvalidDataException($"{field} = {n} is impossible: only {left} bytes remain in the file");
            return (long)n;
        }

        public string String(string field)
        {
            ulong n = U64($"{field} (string length)");
            if (n > (ulong)(length - _pos))
                throw new InvalidDataException($"{field}: string of {n} bytes at offset {_pos} runs past the end of the file ({length} bytes)");
            if (n > int.MaxValue)
                throw new InvalidDataException($"{field}: string of {n} bytes at offset {_pos} is longer than 2 GiB");
            var bytes = Bytes((int)n, field);
            return Encoding.UTF8.GetString(bytes); // invalid UTF-8 becomes U+FFFD; never throws
        }
    }
}
