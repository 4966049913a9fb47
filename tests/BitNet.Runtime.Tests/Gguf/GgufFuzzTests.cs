using System.Buffers.Binary;
using System.Diagnostics;
using BitNet.Runtime.Gguf;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.Gguf;

/// <summary>
/// Hostile-file fuzzing of the GGUF reader: thousands of deterministic mutations of a small valid file. The reader
/// may accept a mutant (then everything it reports must lie inside the file) or reject it, but only with
/// <see cref="InvalidDataException"/>: never IndexOutOfRange, Overflow, OutOfMemory, Argument... exceptions, and never
/// with an allocation out of proportion to the file.
/// </summary>
public class GgufFuzzTests(ITestOutputHelper output)
{
    private sealed record Mutant(string Description, byte[] Bytes);

    [Fact]
    public void MutatedFilesFailOnlyWithInvalidDataException()
    {
        var sample = RawGguf.Sample();
        byte[] valid = sample.ToArray();
        int headerEnd;
        using (var f = GgufFile.FromBytes(valid)) headerEnd = (int)f.DataOffset;

        var mutants = new List<Mutant>();
        mutants.AddRange(Truncations(valid, headerEnd));
        mutants.AddRange(FieldOverwrites(valid, sample.Fields));
        mutants.AddRange(ByteFlips(valid, headerEnd));
        mutants.AddRange(Splices(valid, headerEnd));
        mutants.AddRange(HandCrafted());
        Assert.True(mutants.Count >= 3000, $"only {mutants.Count} mutants");

        var failures = new List<string>();
        int accepted = 0, rejected = 0;
        var clock = Stopwatch.StartNew();
        foreach (var m in mutants)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var f = GgufFile.FromBytes(m.Bytes);
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                // Parsing allocates strings, arrays and the tensor table: proportional to the file, never to a claimed count.
                if (allocated > 1_000_000 + 64L * m.Bytes.Length)
                    failures.Add($"{m.Description}: parsing a {m.Bytes.Length}-byte file allocated {allocated} bytes");
                Exercise(f, m, failures);
                accepted++;
            }
            catch (InvalidDataException e)
            {
                if (string.IsNullOrWhiteSpace(e.Message)) failures.Add($"{m.Description}: InvalidDataException without a message");
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"{m.Description}: {e.GetType().Name}: {e.Message}");
            }
        }
        output.WriteLine($"{mutants.Count} mutants: {accepted} accepted, {rejected} rejected, {failures.Count} failures, {clock.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {mutants.Count} mutants broke the reader:\n" + string.Join("\n", failures.Take(25)));
        // Both outcomes must occur, or the mutations are not reaching the interesting paths.
        Assert.True(accepted > 100 && rejected > 1000, $"accepted {accepted}, rejected {rejected}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"fuzzing took {clock.Elapsed}");
    }

    /// <summary>Uses an accepted file the way a loader would: every value, every tensor's bytes, one decoded row.</summary>
    private static void Exercise(GgufFile f, Mutant m, List<string> failures)
    {
        foreach (var (_, value) in f.Metadata.Values) _ = value.ToString();
        _ = f.Architecture;
        foreach (var t in f.Tensors)
        {
            if (t.Offset < 0 || t.ByteSize < 0 || f.DataOffset + t.Offset + t.ByteSize > f.Length)
            {
                failures.Add($"{m.Description}: accepted tensor {t} at {t.Offset}+{t.ByteSize} outside a {f.Length}-byte file");
                continue;
            }
            if (t.Format is null)
            {
                try { f.GetTensorData(t); failures.Add($"{m.Description}: unknown type {t.TypeId} returned data"); }
                catch (NotSupportedException) { } // the one accepted use of NotSupported: a type this runtime cannot read
                continue;
            }
            var data = f.GetTensorData(t);
            if (data.Length != t.ByteSize) failures.Add($"{m.Description}: tensor {t} data length {data.Length} != {t.ByteSize}");
            var row = new float[t.Shape[0]];
            t.Format.DequantizeRow(data, t.Rows - 1, row);
        }
    }

    private static IEnumerable<Mutant> Truncations(byte[] valid, int headerEnd)
    {
        for (int n = 0; n <= headerEnd + 8; n++) yield return new($"truncated to {n}", valid[..n]);
        var random = new Random(11);
        for (int i = 0; i < 100; i++)
        {
            int n = random.Next(headerEnd, valid.Length);
            yield return new($"truncated to {n} (data)", valid[..n]);
        }
    }

    private static readonly ulong[] Huge64 =
    [
        0, 1, 2, 3, 7, 31, 33, 255, int.MaxValue, 1UL << 31, (1UL << 31) + 1, uint.MaxValue, 1UL << 32,
        1UL << 40, 1UL << 62, 1UL << 63, long.MaxValue, ulong.MaxValue, ulong.MaxValue - 1,
    ];

    private static readonly uint[] Huge32 = [0, 1, 2, 5, 6, 9, 12, 13, 14, 24, 31, 36, 37, 39, 64, 255, 1u << 31, uint.MaxValue];

    /// <summary>Every count, length, type, n_dims, ne and offset of the seed file set to extreme and off-by-one values.</summary>
    private static IEnumerable<Mutant> FieldOverwrites(byte[] valid, List<RawField> fields)
    {
        foreach (var field in fields)
        {
            ulong original = field.Width == 8
                ? BinaryPrimitives.ReadUInt64LittleEndian(valid.AsSpan(field.Offset))
                : BinaryPrimitives.ReadUInt32LittleEndian(valid.AsSpan(field.Offset));
            var values = new List<ulong>(field.Width == 8 ? Huge64 : Array.ConvertAll(Huge32, v => (ulong)v))
            {
                original + 1, original - 1, original + 32, original * 2, (ulong)valid.Length, (ulong)valid.Length + 1,
            };
            foreach (ulong v in values)
            {
                var bytes = (byte[])valid.Clone();
                if (field.Width == 8) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(field.Offset), v);
                else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field.Offset), unchecked((uint)v));
                yield return new($"{field.Name} = {v}", bytes);
            }
        }
    }

    private static IEnumerable<Mutant> ByteFlips(byte[] valid, int headerEnd)
    {
        var random = new Random(12);
        for (int i = 0; i < 1500; i++)
        {
            var bytes = (byte[])valid.Clone();
            int flips = 1 + random.Next(6);
            var where = new List<int>();
            for (int j = 0; j < flips; j++)
            {
                int at = random.Next(headerEnd);
                where.Add(at);
                bytes[at] = random.Next(3) switch { 0 => 0xFF, 1 => 0x00, _ => (byte)(bytes[at] ^ (1 + random.Next(255))) };
            }
            yield return new($"flip #{i} at [{string.Join(",", where)}]", bytes);
        }
    }

    private static IEnumerable<Mutant> Splices(byte[] valid, int headerEnd)
    {
        var random = new Random(13);
        for (int i = 0; i < 300; i++)
        {
            int at = random.Next(headerEnd), len = 1 + random.Next(16);
            var list = new List<byte>(valid);
            if (i % 2 == 0) list.RemoveRange(at, Math.Min(len, list.Count - at));
            else list.InsertRange(at, valid.AsSpan(random.Next(headerEnd - len), len).ToArray());
            yield return new($"splice #{i} at {at} ({(i % 2 == 0 ? "delete" : "insert")} {len})", list.ToArray());
        }
    }

    private static IEnumerable<Mutant> HandCrafted()
    {
        // Duplicate keys and tensor names.
        var g = new RawGguf().Header(3, 0, 2).KvU32("k", 1).KvU32("k", 2);
        yield return new("duplicate key", g.ToArray());
        g = new RawGguf().Header(3, 2, 0).TensorInfo("t", [8], 0, 0).TensorInfo("t", [8], 0, 32).PadTo(32).Raw(new byte[64]);
        yield return new("duplicate tensor name", g.ToArray());

        // Arrays of arrays nested 1..20 deep (the reader caps the depth), with and without room for the claimed items.
        for (int depth = 1; depth <= 20; depth++)
            foreach (ulong count in new ulong[] { 1, 2, ulong.MaxValue })
            {
                g = new RawGguf().Header(3, 0, 1).Key("deep", GgufValueType.Array);
                for (int d = 0; d < depth; d++) g.ArrayHeader("deep", GgufValueType.Array, count);
                g.ArrayHeader("deep", GgufValueType.UInt8, 1).U8(7);
                yield return new($"nested {depth} deep, count {count}", g.ToArray());
            }

        // Overlapping, misaligned and out-of-range tensor offsets; bad n_dims, ne, element-count overflow; bad types.
        foreach (ulong second in new ulong[] { 0, 16, 31, 32, 33, 64, 96, 128, 1UL << 40, ulong.MaxValue })
        {
            g = new RawGguf().Header(3, 2, 0).TensorInfo("a", [16], 0, 0).TensorInfo("b", [8], 0, second).PadTo(32).Raw(new byte[96]);
            yield return new($"second tensor at {second}", g.ToArray());
        }
        foreach (uint nDims in new uint[] { 0, 1, 2, 4, 5, 8, 64, uint.MaxValue })
        {
            g = new RawGguf().Header(3, 1, 0).Str("t", "name").U32(nDims, "n_dims");
            for (int d = 0; d < Math.Min(nDims, 8u); d++) g.U64(2);
            g.U32(0).U64(0).PadTo(32).Raw(new byte[1024]);
            yield return new($"n_dims = {nDims}", g.ToArray());
        }
        foreach (var shape in new long[][]
        {
            [0], [-1], [long.MaxValue], [1L << 31, 1L << 31], [1L << 32, 1L << 32, 1L << 32], [3, 5, 7, 11], [1L << 62, 4],
            [256, 1L << 40], [1, 1, 1, 1],
        })
            foreach (uint type in new uint[] { 0, 1, 8, 14, 30, 34, 35, 36, 39, 1000 })
            {
                g = new RawGguf().Header(3, 1, 1).KvString("general.architecture", "bitnet").TensorInfo("t", shape, type, 0).PadTo(32).Raw(new byte[512]);
                yield return new($"shape [{string.Join(",", shape)}] type {type}", g.ToArray());
            }

        // general.alignment of every flavour: zero, odd, huge, negative, non-integer, string.
        foreach (var (label, write) in new (string, Action<RawGguf>)[]
        {
            ("u32 0", r => r.KvU32("general.alignment", 0)),
            ("u32 3", r => r.KvU32("general.alignment", 3)),
            ("u32 1", r => r.KvU32("general.alignment", 1)),
            ("u32 1<<20", r => r.KvU32("general.alignment", 1 << 20)),
            ("u32 1<<31", r => r.KvU32("general.alignment", 1u << 31)),
            ("i32 -32", r => r.Key("general.alignment", GgufValueType.Int32).U32(unchecked((uint)-32))),
            ("u64 max", r => r.Key("general.alignment", GgufValueType.UInt64).U64(ulong.MaxValue)),
            ("f32 32", r => r.Key("general.alignment", GgufValueType.Float32).U32(BitConverter.SingleToUInt32Bits(32f))),
            ("string", r => r.KvString("general.alignment", "32")),
            ("array", r => r.Key("general.alignment", GgufValueType.Array).ArrayHeader("a", GgufValueType.UInt32, 1).U32(32)),
            ("bool", r => r.Key("general.alignment", GgufValueType.Bool).U8(1)),
        })
        {
            g = new RawGguf().Header(3, 1, 1);
            write(g);
            g.TensorInfo("t", [8], 0, 0).PadTo(64).Raw(new byte[64]);
            yield return new($"general.alignment {label}", g.ToArray());
        }

        // Metadata values that are not what their type says: bools other than 0/1, unknown types, bad architecture.
        foreach (uint type in new uint[] { 13, 14, 255, uint.MaxValue })
        {
            yield return new($"value type {type}", new RawGguf().Header(3, 0, 1).Key("k", (GgufValueType)type).U64(0).ToArray());
            yield return new($"array element type {type}",
                new RawGguf().Header(3, 0, 1).Key("k", GgufValueType.Array).ArrayHeader("k", (GgufValueType)type, 1).U64(0).ToArray());
        }
        yield return new("bool 2", new RawGguf().Header(3, 0, 1).Key("k", GgufValueType.Bool).U8(2).ToArray());
        yield return new("bool array with 7",
            new RawGguf().Header(3, 0, 1).Key("k", GgufValueType.Array).ArrayHeader("k", GgufValueType.Bool, 2).U8(1).U8(7).ToArray());
        yield return new("architecture is a number",
            new RawGguf().Header(3, 1, 1).KvU32("general.architecture", 5).TensorInfo("t", [128], 36, 0).PadTo(32).Raw(new byte[64]).ToArray());
        yield return new("invalid UTF-8 key", new RawGguf().Header(3, 0, 1).U64(2).Raw([0xC3, 0x28]).U32(4).U32(1).ToArray());
        yield return new("empty file", []);
        yield return new("magic only", new RawGguf().U32(GgufFile.Magic).ToArray());
        yield return new("wrong magic", new RawGguf().U32(0x46554746).U32(3).U64(0).U64(0).ToArray());
        yield return new("header only, no tensors", new RawGguf().Header(3, 0, 0).ToArray());
        yield return new("tensor with empty data section", new RawGguf().Header(3, 1, 0).TensorInfo("t", [8], 0, 0).ToArray());
    }
}
