using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using BitNet.Runtime.Safetensors;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>The safetensors reader's validation, and hostile-header fuzzing like the GGUF reader's.</summary>
public sealed class SafetensorsTests(ITestOutputHelper output)
{
    private static byte[] Sample() => SafetensorsWriter.ToBytes(
    [
        new("a.weight", "F32", [2, 3], new byte[24]),
        new("b.weight", "U8", [4, 8], Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()),
        new("c", "BF16", [5], new byte[10]),
    ], new Dictionary<string, string> { ["format"] = "pt" });

    /// <summary>A file whose header is <paramref name="json"/> followed by <paramref name="data"/> bytes.</summary>
    private static byte[] Raw(string json, int data = 64)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + h.Length + data];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    [Fact]
    public void ReadsAValidFile()
    {
        using var f = SafetensorsFile.FromBytes(Sample());
        Assert.Equal(["a.weight", "b.weight", "c"], f.Tensors.Select(t => t.Name));
        Assert.Equal("pt", f.Metadata["format"]);
        var b = f.GetTensor("b.weight");
        Assert.Equal(new long[] { 4, 8 }, b.Shape);
        Assert.Equal(31, f.GetData(b)[31]);
        Assert.Equal(0, f.DataOffset % 8);
    }

    [Theory]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"u\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", "overlaps")]
    [InlineData("{\"t\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", "unknown dtype 'Q4'")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,16]}}", "span 16 bytes")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[32],\"data_offsets\":[0,128]}}", "outside")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", "appears twice")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", "outside")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", "invalid dimension")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4]}}", "data_offsets")]
    [InlineData("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    public void MalformedHeadersNameTheFileAndTensor(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.FromBytes(Raw(json), "bad.safetensors"));
        Assert.StartsWith("bad.safetensors: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void HeaderLengthBeyondTheFileIsRefused()
    {
        var bytes = Sample();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.FromBytes(bytes, "x.safetensors"));
        Assert.Contains("header length", e.Message);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.FromBytes(bytes));
        Assert.Throws<InvalidDataException>(() => SafetensorsFile.FromBytes(new byte[5]));
    }

    [Fact]
    public void MutatedFilesFailOnlyWithInvalidDataException()
    {
        byte[] valid = Sample();
        int headerEnd;
        using (var f = SafetensorsFile.FromBytes(valid)) headerEnd = (int)f.DataOffset;
        var mutants = new List<(string, byte[])>();
        for (int n = 0; n < valid.Length; n += 3) mutants.Add(($"truncated to {n}", valid[..n]));
        var rng = new Random(20261201);
        byte[] interesting = "{}[]\",:0123456789-.eE \\u\0\xff"u8.ToArray();
        for (int i = 0; i < 4000; i++)
        {
            var m = (byte[])valid.Clone();
            int flips = rng.Next(1, 4);
            var where = new List<int>();
            for (int j = 0; j < flips; j++)
            {
                int pos = rng.Next(0, headerEnd);
                where.Add(pos);
                m[pos] = rng.Next(3) == 0 ? (byte)rng.Next(256) : interesting[rng.Next(interesting.Length)];
            }
            mutants.Add(($"bytes {string.Join(",", where)}", m));
        }
        // Length field overwrites: 0, 1, just short, just long, huge.
        foreach (ulong len in new ulong[] { 0, 1, 2, (ulong)headerEnd - 9, (ulong)headerEnd - 7, (ulong)valid.Length, 1UL << 40, ulong.MaxValue })
        {
            var m = (byte[])valid.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(m, len);
            mutants.Add(($"header length {len}", m));
        }

        var failures = new List<string>();
        int accepted = 0, rejected = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (what, bytes) in mutants)
        {
            try
            {
                using var f = SafetensorsFile.FromBytes(bytes);
                foreach (var t in f.Tensors)
                {
                    if (t.Begin < 0 || f.DataOffset + t.End > f.Length) failures.Add($"{what}: accepted {t} outside the file");
                    else _ = f.GetData(t).ToArray();
                }
                accepted++;
            }
            catch (InvalidDataException e)
            {
                if (string.IsNullOrWhiteSpace(e.Message)) failures.Add($"{what}: no message");
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"{what}: {e.GetType().Name}: {e.Message}");
            }
        }
        output.WriteLine($"{mutants.Count} mutants: {accepted} accepted, {rejected} rejected, {clock.ElapsedMilliseconds} ms");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.True(accepted > 50 && rejected > 1000, $"accepted {accepted}, rejected {rejected}");
    }
}
