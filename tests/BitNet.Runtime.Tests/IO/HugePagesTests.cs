using BitNet.Runtime.Gguf;
using BitNet.Runtime.IO;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.Tests.IO;

/// <summary>
/// Model files read into transparent huge pages: the policy (only where the OS offers them and the copy takes at most
/// half the available memory), the read (the file's exact bytes, freed on dispose), and a model loaded either way.
/// </summary>
public sealed unsafe class HugePagesTests
{
    [Theory]
    [InlineData("always [madvise] never", "madvise")]
    [InlineData("[always] madvise never", "always")]
    [InlineData("always madvise [never]\n", "never")]
    [InlineData("garbage", null)]
    public void The_bracketed_sysfs_choice_is_the_mode(string text, string? mode) => Assert.Equal(mode, HugePages.ParseMode(text));

    [Theory]
    [InlineData("madvise", 1000L, 2000L, true)]
    [InlineData("always", 1000L, 2000L, true)]
    [InlineData("madvise", 1001L, 2000L, false)]  // more than half of the available memory: stay mapped
    [InlineData("never", 1000L, 1_000_000L, false)]
    [InlineData(null, 1000L, 1_000_000L, false)]  // not Linux, or no sysfs
    [InlineData("madvise", 1000L, null, false)]   // available memory unknown
    public void Files_are_read_only_where_huge_pages_are_offered_and_memory_allows(string? mode, long file, long? available, bool read) =>
        Assert.Equal(read, HugePages.Worthwhile(file, mode, available));

    [Theory]
    [InlineData("2147483648\n", "1073741824\n", 1073741824L)]
    [InlineData("1000", "2000", 0L)]         // over its limit already
    [InlineData("max\n", "1073741824\n", null)] // no limit
    [InlineData(null, null, null)]           // no cgroup v2 files
    public void A_cgroup_limit_bounds_the_available_memory(string? max, string? current, long? room) =>
        Assert.Equal(room, HugePages.CgroupRoom(max, current));

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData((2 << 20) + 3)] // past one huge page
    public void A_file_read_into_huge_pages_holds_its_exact_bytes(int length)
    {
        string path = Path.GetTempFileName();
        try
        {
            var bytes = new byte[length];
            new Random(length).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            using var read = PinnedBytes.ReadIntoHugePages(path, length);
            Assert.Equal(length, read.Length);
            Assert.Equal(0, (long)read.Pointer % 64); // aligned as the kernels expect of a mapping
            Assert.True(new ReadOnlySpan<byte>(read.Pointer, length).SequenceEqual(bytes));
            if (OperatingSystem.IsLinux()) Assert.True(read.InHugePages);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_large_buffer_asked_for_huge_pages_gets_them_zeroed_and_a_small_one_does_not()
    {
        bool offered = HugePages.Offered(HugePages.TransparentMode());
        using (var large = new BitNet.Runtime.Kernels.NativeBuffer<long>(BitNet.Runtime.Kernels.NativeBuffer<long>.MinHugePageBytes / 8 + 3, hugePages: true))
        {
            Assert.Equal(offered, large.InHugePages);
            Assert.Equal(0, (long)large.Pointer % 64);
            long* p = large.Pointer;
            for (long i = 0; i < large.Length; i += 4099) Assert.Equal(0, p[i]);
            Assert.Equal(0, p[large.Length - 1]);
            p[large.Length - 1] = 42; // writable to its last element
            Assert.Equal(42, p[large.Length - 1]);
        }
        using var small = new BitNet.Runtime.Kernels.NativeBuffer<byte>(1 << 20, hugePages: true);
        Assert.False(small.InHugePages);
    }

    [Fact]
    public void A_file_shorter_than_expected_is_an_error_naming_it()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[10]);
            var e = Assert.Throws<IOException>(() => PinnedBytes.ReadIntoHugePages(path, 20));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_model_read_into_huge_pages_has_the_mapped_models_tensors_and_logits()
    {
        string path = TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf");
        using var mapped = BitNetModel.Load(path, new ModelLoadOptions { HugePages = false });
        using var read = BitNetModel.Load(path, new ModelLoadOptions { HugePages = true });
        Assert.False(mapped.InHugePages);
        bool offered = HugePages.Worthwhile(new FileInfo(path).Length, HugePages.TransparentMode(), HugePages.AvailableMemory());
        Assert.Equal(offered, read.InHugePages);
        foreach (var t in mapped.File.Tensors)
            Assert.True(mapped.File.GetTensorData(t).SequenceEqual(read.File.GetTensorData(read.File.GetTensor(t.Name))), t.Name);
        Assert.Equal(Logits(mapped), Logits(read));
    }

    private static float[] Logits(BitNetModel model)
    {
        using var pool = new BitNet.Runtime.Threading.WorkerPool(1);
        using var cache = new BitNet.Runtime.KvCache.KvCachePool(model.Config, 1, 8, BitNet.Runtime.Kernels.KvCacheType.F16);
        using var transformer = new Transformer(model.Weights, pool, 4);
        var logits = new float[model.Config.Vocab];
        transformer.Forward([1, 20, 30], [0, 1, 2], [0, 0, 0], [false, false, true], cache, logits);
        return logits;
    }
}
