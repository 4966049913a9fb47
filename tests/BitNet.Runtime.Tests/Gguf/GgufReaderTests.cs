using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Tests.Gguf;

public class GgufReaderTests
{
    [Fact]
    public void ReadsEveryScalarValueType()
    {
        using var f = GgufFile.FromBytes(RawGguf.Sample().ToArray());
        var md = f.Metadata;
        Assert.Equal(20, md.Values.Count);
        AssertValue(md, "k.u8", GgufValueType.UInt8, (byte)200);
        AssertValue(md, "k.i8", GgufValueType.Int8, (sbyte)-128);
        AssertValue(md, "k.u16", GgufValueType.UInt16, (ushort)65000);
        AssertValue(md, "k.i16", GgufValueType.Int16, short.MinValue);
        AssertValue(md, "k.u32", GgufValueType.UInt32, 4_000_000_000u);
        AssertValue(md, "k.i32", GgufValueType.Int32, -7);
        AssertValue(md, "k.f32", GgufValueType.Float32, 1.5f);
        AssertValue(md, "k.bool", GgufValueType.Bool, true);
        AssertValue(md, "k.string", GgufValueType.String, "héllo");
        AssertValue(md, "k.u64", GgufValueType.UInt64, ulong.MaxValue);
        AssertValue(md, "k.i64", GgufValueType.Int64, long.MinValue);
        AssertValue(md, "k.f64", GgufValueType.Float64, -2.25);
        Assert.Equal("bitnet", f.Architecture);
        Assert.Equal(4_000_000_000L, md.GetInt("k.u32"));
        Assert.Equal(-2.25, md.GetDouble("k.f64", 0));
        Assert.True(md.GetBool("k.bool", false));
        // A u64 beyond long's range is refused by name rather than wrapped to a negative number.
        var e = Assert.Throws<InvalidDataException>(() => md.GetInt("k.u64"));
        Assert.Contains("k.u64", e.Message);
    }

    [Fact]
    public void ReadsArraysIncludingNestedOnes()
    {
        using var f = GgufFile.FromBytes(RawGguf.Sample().ToArray());
        var md = f.Metadata;
        Assert.Equal([1, 2, -3], md.GetArrayOrNull<int>("a.i32")!);
        Assert.Equal(["x", "", "Ġthe"], md.GetArrayOrNull<string>("a.str")!);
        Assert.Equal([0.5f, -1f], md.GetArrayOrNull<float>("a.f32")!);
        Assert.Equal([false, true], md.GetArrayOrNull<bool>("a.bool")!);
        Assert.Equal([42UL], md.GetArrayOrNull<ulong>("a.u64")!);
        var nested = md.Get("a.nested");
        Assert.Equal(GgufValueType.Array, nested.Type);
        Assert.Equal(GgufValueType.Array, nested.ElementType);
        var inner = nested.AsArray<GgufValue>();
        Assert.Equal(2, inner.Length);
        Assert.Equal(GgufValueType.UInt8, inner[0].ElementType);
        Assert.Equal(new byte[] { 1, 2 }, inner[0].AsArray<byte>());
        Assert.Equal(["deep"], inner[1].AsArray<string>());
        // Asking for the wrong element type names the key.
        var e = Assert.Throws<InvalidDataException>(() => md.GetArrayOrNull<float>("a.i32"));
        Assert.Contains("a.i32", e.Message);
    }

    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void ReadsVersionsTwoAndThree(uint version)
    {
        using var f = GgufFile.FromBytes(RawGguf.Sample(version: version).ToArray());
        Assert.Equal(version, f.Version);
        Assert.Equal(6, f.Tensors.Count);
        Assert.Equal("héllo", f.Metadata.GetString("k.string"));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(4u)]
    public void RejectsOtherVersions(uint version)
    {
        var e = Assert.Throws<InvalidDataException>(() => GgufFile.FromBytes(RawGguf.Sample(version: version).ToArray()));
        Assert.Contains($"version {version}", e.Message);
    }

    [Fact]
    public void HonoursGeneralAlignment64()
    {
        using var f = GgufFile.FromBytes(RawGguf.Sample(alignment: 64).ToArray());
        Assert.Equal(64, f.Alignment);
        Assert.Equal(0, f.DataOffset % 64);
        Assert.All(f.Tensors, t => Assert.Equal(0, t.Offset % 64));
        // The same tensor table with 32-byte offsets is misaligned under general.alignment = 64.
        var g = new RawGguf().Header(3, 2, 2);
        g.KvString("general.architecture", "bitnet").KvU32("general.alignment", 64);
        g.TensorInfo("a", [8], (uint)GgmlType.F32, 0).TensorInfo("b", [8], (uint)GgmlType.F32, 32).PadTo(64).Raw(new byte[128]);
        var e = Assert.Throws<InvalidDataException>(() => GgufFile.FromBytes(g.ToArray()));
        Assert.Contains("'b'", e.Message);
        Assert.Contains("aligned", e.Message);
    }

    [Fact]
    public void DefaultAlignmentIs32()
    {
        var g = new RawGguf().Header(3, 1, 0).TensorInfo("t", [4], (uint)GgmlType.F32, 0).PadTo(32).Raw(new byte[16]);
        using var f = GgufFile.FromBytes(g.ToArray());
        Assert.Equal(32, f.Alignment);
        const int header = 4 + 4 + 8 + 8, tensorInfo = 8 + 1 + 4 + 8 + 4 + 8; // 57 bytes -> data at 64
        Assert.Equal(RawGguf.AlignUp(header + tensorInfo, 32), f.DataOffset);
    }

    [Fact]
    public void I2SByteSizeIsCodesPlus32()
    {
        // [256, 4]: 1024 codes = 256 bytes, then the f32 scale padded to 32 bytes, not blocks x 32 (= 256).
        var g = new RawGguf().Header(3, 2, 1).KvString("general.architecture", "bitnet-b1.58");
        g.TensorInfo("w", [256, 4], (uint)GgmlType.I2_S, 0).TensorInfo("n", [8], (uint)GgmlType.F32, 288).PadTo(32);
        byte[] full = g.Raw(new byte[288 + 32]).ToArray();
        using (var f = GgufFile.FromBytes(full))
        {
            var w = f.GetTensor("w");
            Assert.Same(TensorFormats.I2_S, w.Format);
            Assert.Equal(288, w.ByteSize);
            Assert.Equal(288, f.GetTensorData(w).Length);
        }
        // Moving the next tensor into the scale's 32 bytes is an overlap.
        var overlap = new RawGguf().Header(3, 2, 1).KvString("general.architecture", "bitnet-b1.58");
        overlap.TensorInfo("w", [256, 4], (uint)GgmlType.I2_S, 0).TensorInfo("n", [8], (uint)GgmlType.F32, 256).PadTo(32).Raw(new byte[320]);
        var e = Assert.Throws<InvalidDataException>(() => GgufFile.FromBytes(overlap.ToArray()));
        Assert.Contains("overlap", e.Message);
        // A file that ends inside the scale is truncated.
        var single = new RawGguf().Header(3, 1, 1).KvString("general.architecture", "bitnet");
        single.TensorInfo("w", [256, 4], (uint)GgmlType.I2_S, 0).PadTo(32).Raw(new byte[287]);
        e = Assert.Throws<InvalidDataException>(() => GgufFile.FromBytes(single.ToArray()));
        Assert.Contains("'w'", e.Message);
    }

    [Theory]
    [InlineData("bitnet", true)]
    [InlineData("bitnet-b1.58", true)]
    [InlineData("bitnet-25", true)]
    [InlineData("llama", true)]
    [InlineData("qwen2", false)]
    [InlineData(null, false)]
    public void TypeId36IsI2SOnlyInFilesBitnetCppWrites(string? arch, bool isI2S)
    {
        var g = new RawGguf().Header(3, 1, arch is null ? 0u : 1u);
        if (arch is not null) g.KvString("general.architecture", arch);
        g.TensorInfo("w", [128, 2], 36, 0).PadTo(32).Raw(new byte[96]);
        using var f = GgufFile.FromBytes(g.ToArray());
        var w = f.GetTensor("w");
        Assert.Equal(36u, w.TypeId);
        if (isI2S)
        {
            Assert.Same(TensorFormats.I2_S, w.Format);
            Assert.Equal(96, w.ByteSize);
        }
        else
        {
            // Upstream ggml's id 36 is something else: unknown here, so no size and no data access.
            Assert.Null(w.Format);
            Assert.Equal(0, w.ByteSize);
            Assert.Equal("type 36", w.TypeName);
            Assert.Throws<NotSupportedException>(() => f.GetTensorData(w));
        }
    }

    [Fact]
    public void WriterRoundTripsEveryValueTypeAndAlignment()
    {
        var w = new GgufWriter { Alignment = 64 };
        w.Add("general.architecture", "bitnet").Add("s", "v").Add("u32", 7u).Add("i32", -7).Add("f32", 0.25f).Add("b", true)
            .Add("as", ["a", "b"]).Add("af", [1f, 2f]).Add("ai", [3, 4]);
        foreach (var (type, value) in new (GgufValueType, object)[]
        {
            (GgufValueType.UInt8, (byte)1), (GgufValueType.Int8, (sbyte)-1), (GgufValueType.UInt16, (ushort)2),
            (GgufValueType.Int16, (short)-2), (GgufValueType.UInt64, ulong.MaxValue), (GgufValueType.Int64, -3L),
            (GgufValueType.Float64, 0.125),
        })
            w.AddValue("x." + type, new GgufValue(type, value));
        w.AddValue("nested", new GgufValue(GgufValueType.Array,
            new[] { new GgufValue(GgufValueType.Array, new[] { 1u, 2u }, GgufValueType.UInt32), new GgufValue(GgufValueType.Array, new[] { "z" }, GgufValueType.String) },
            GgufValueType.Array));
        w.AddTensor("t", [128, 2], GgmlType.I2_S, new byte[96]);
        w.AddTensor("u", [3], GgmlType.F32, new byte[12]);
        using var ms = new MemoryStream();
        w.Write(ms);
        using var f = GgufFile.FromBytes(ms.ToArray());
        Assert.Equal(64, f.Alignment);
        Assert.Equal(0, f.DataOffset % 64);
        // "t" is 64 bytes of I2_S codes + 32 of scale = 96, padded to 128 for the next tensor.
        Assert.Equal(96, f.GetTensor("t").ByteSize);
        Assert.Equal(128, f.GetTensor("u").Offset);
        Assert.Equal((byte)1, f.Metadata.Get("x.UInt8").Value);
        Assert.Equal((sbyte)-1, f.Metadata.Get("x.Int8").Value);
        Assert.Equal((ushort)2, f.Metadata.Get("x.UInt16").Value);
        Assert.Equal((short)-2, f.Metadata.Get("x.Int16").Value);
        Assert.Equal(ulong.MaxValue, f.Metadata.Get("x.UInt64").Value);
        Assert.Equal(-3L, f.Metadata.Get("x.Int64").Value);
        Assert.Equal(0.125, f.Metadata.Get("x.Float64").Value);
        Assert.Equal(["a", "b"], f.Metadata.GetArrayOrNull<string>("as")!);
        Assert.Equal([3, 4], f.Metadata.GetArrayOrNull<int>("ai")!);
        var nested = f.Metadata.Get("nested").AsArray<GgufValue>();
        Assert.Equal([1u, 2u], nested[0].AsArray<uint>());
        Assert.Equal(["z"], nested[1].AsArray<string>());
    }

    [Fact]
    public void WriterRefusesAnAlignmentKeyThatContradictsItsLayout()
    {
        var w = new GgufWriter { Alignment = 64 }.Add("general.alignment", 32u);
        Assert.Throws<InvalidOperationException>(() => w.Write(new MemoryStream()));
        var bad = new GgufWriter { Alignment = 48 };
        Assert.Throws<InvalidOperationException>(() => bad.Write(new MemoryStream()));
        // An explicit key that agrees is kept once, not duplicated.
        var ok = new GgufWriter { Alignment = 64 }.Add("general.alignment", 64u);
        var ms = new MemoryStream();
        ok.Write(ms);
        using var f = GgufFile.FromBytes(ms.ToArray());
        Assert.Equal(64, f.Alignment);
        Assert.Single(f.Metadata.Values);
    }

    [Theory]
    [InlineData(GgufValueType.UInt64, 300_000_000UL)] // 2.4 GB of u64: fits the file, not an int-sized buffer
    [InlineData(GgufValueType.String, 2_600_000_000UL)] // one string longer than int.MaxValue
    public void LengthsBeyond2GiBInAHugeFileAreInvalidDataNotOverflow(GgufValueType type, ulong count)
    {
        // A sparse 2.75 GB file (no disk blocks written): the claimed length fits in the file, so only the reader's
        // own 2 GiB limits stand between it and an OverflowException or a wrapped negative length.
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"bitnet-gguf-sparse-{Environment.ProcessId}-{type}.gguf");
        try
        {
            var g = new RawGguf().Header(3, 0, 1);
            if (type == GgufValueType.String) g.Key("k", GgufValueType.String).U64(count);
            else g.Key("k", GgufValueType.Array).ArrayHeader("k", type, count);
            using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                fs.Write(g.ToArray());
                fs.SetLength(2_750_000_000);
            }
            var e = Assert.Throws<InvalidDataException>(() => GgufFile.Open(path));
            Assert.Contains("'k'", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(SharedFiles))]
    public void EveryShippedFileLoadsWithTensorsInRange(string relativePath)
    {
        using var f = GgufFile.Open(SharedTestFiles.Path(relativePath));
        Assert.NotEmpty(f.Tensors);
        Assert.Matches("^(bitnet|llama)", f.Architecture);
        Assert.True(f.DataOffset % f.Alignment == 0);
        foreach (var t in f.Tensors)
        {
            Assert.NotNull(t.Format);
            Assert.True(t.Offset >= 0 && f.DataOffset + t.Offset + t.ByteSize <= f.Length, $"{t} lies outside the file");
            var data = f.GetTensorData(t);
            Assert.Equal(t.ByteSize, data.Length);
            var row = new float[t.Shape[0]];
            t.Format!.DequantizeRow(data, t.Rows - 1, row);
            Assert.All(row, v => Assert.True(float.IsFinite(v), $"{t}: non-finite value in the last row"));
        }
        Assert.True(f.Metadata.GetArrayOrNull<string>("tokenizer.ggml.tokens")!.Length > 0);
    }

    public static TheoryData<string> SharedFiles() => SharedTestFiles.AllGgufFiles();

    private static void AssertValue<T>(GgufMetadata md, string key, GgufValueType type, T expected)
    {
        var v = md.Get(key);
        Assert.Equal(type, v.Type);
        Assert.Equal(expected, Assert.IsType<T>(v.Value));
    }
}
