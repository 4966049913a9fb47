using System.Text;
using BitNet.Runtime.Download;

namespace BitNet.Runtime.Tests.Download;

public sealed class HubFileListingTests
{
    private static readonly ModelReference Repo = ModelReference.Parse("hf:o/r");

    [Fact]
    public void Parse_ReadsFilesWithLfsSha_SkipsDirectories()
    {
        const string sha = "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162";
        string json = $$"""
            [
              {"type":"directory","oid":"abc","size":0,"path":"sub"},
              {"type":"file","oid":"f1b2","size":1519,"path":".gitattributes"},
              {"type":"file","oid":"9cd2","size":1187801280,"path":"ggml-model-i2_s.gguf",
               "lfs":{"oid":"{{sha.ToUpperInvariant()}}","size":1187801280,"pointerSize":135} },
              {"type":"file","oid":"77","size":"bogus","path":"README.md"}
            ]
            """;
        var files = HubFileListing.Parse(Encoding.UTF8.GetBytes(json));

        Assert.Equal(
            [new HubFile(".gitattributes", 1519, null), new HubFile("ggml-model-i2_s.gguf", 1187801280, sha), new HubFile("README.md", null, null)],
            files);
    }

    [Theory]
    [InlineData("{\"error\":\"x\"}", "expected an array")]
    [InlineData("[{", "not valid JSON")]
    public void Parse_RejectsWhatIsNotAFileList(string json, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => HubFileListing.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData(new[] { "README.md", "a.gguf", "ggml-model-i2_s.gguf", "b.gguf" }, "ggml-model-i2_s.gguf")]
    [InlineData(new[] { "README.md", "only-one.GGUF" }, "only-one.GGUF")]
    [InlineData(new[] { "x/ggml-model-i2_s.gguf", "y.gguf" }, "x/ggml-model-i2_s.gguf")]
    public void ChooseGguf_PrefersTheOfficialNameThenTheOnlyGguf(string[] paths, string expected) =>
        Assert.Equal(expected, HubFileListing.ChooseGguf(paths, Repo, "the hub"));

    [Fact]
    public void ChooseGguf_FailsListingCandidatesOrSayingThereIsNone()
    {
        var ambiguous = Assert.Throws<ModelDownloadException>(() => HubFileListing.ChooseGguf(["q8.gguf", "q2.gguf", "c.json"], Repo, "the hub"));
        Assert.Equal(ModelDownloadFailure.AmbiguousFile, ambiguous.Failure);
        Assert.Contains("o/r at revision main has 2 GGUF files: q2.gguf, q8.gguf", ambiguous.Message);
        Assert.Contains("hf:o/r:q2.gguf", ambiguous.Message);

        var none = Assert.Throws<ModelDownloadException>(() => HubFileListing.ChooseGguf(["model.safetensors"], Repo, "the hub"));
        Assert.Equal(ModelDownloadFailure.NotFound, none.Failure);
        Assert.Contains("has no .gguf file", none.Message);
    }

    [Theory]
    [InlineData("\"4221B252FDD5FD25E15847ADFEB5EE88886506BA50B8A34548374492884C2162\"", "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162")]
    [InlineData("W/\"4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162\"", "4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c2162")]
    [InlineData("\"a9993e364706816aba3e25717850c26c9cd0d89d\"", null)] // a git sha1: not a content hash we can check
    [InlineData("\"4221b252fdd5fd25e15847adfeb5ee88886506ba50b8a34548374492884c216z\"", null)]
    [InlineData(null, null)]
    public void NormalizeSha256_AcceptsOnly64Hex(string? etag, string? expected) =>
        Assert.Equal(expected, HubFileListing.NormalizeSha256(etag));

    [Fact]
    public void DefaultCacheDirectory_FollowsBitnetCacheThenXdgThenHome()
    {
        string home = Path.Combine(Path.GetTempPath(), "home");
        string bitnet = Path.Combine(Path.GetTempPath(), "bc");
        string xdg = Path.Combine(Path.GetTempPath(), "xdg");
        Assert.Equal(bitnet, ModelDownloadOptions.DefaultCacheDirectory(
            n => n switch { "BITNET_CACHE" => bitnet, "XDG_CACHE_HOME" => xdg, _ => null }, home));
        Assert.Equal(Path.Combine(xdg, "bitnet"), ModelDownloadOptions.DefaultCacheDirectory(
            n => n == "XDG_CACHE_HOME" ? xdg : null, home));
        Assert.Equal(Path.Combine(home, ".cache", "bitnet"), ModelDownloadOptions.DefaultCacheDirectory(
            n => n == "XDG_CACHE_HOME" ? "relative/xdg" : null, home)); // relative XDG values are invalid per the spec
        Assert.Equal(Path.Combine(home, ".cache", "bitnet"), ModelDownloadOptions.DefaultCacheDirectory(_ => null, home));
    }
}
