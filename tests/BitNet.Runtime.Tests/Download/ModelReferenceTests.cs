using BitNet.Runtime.Download;

namespace BitNet.Runtime.Tests.Download;

public sealed class ModelReferenceTests
{
    [Theory]
    [InlineData("hf:microsoft/bitnet-b1.58-2B-4T-gguf", "microsoft", "bitnet-b1.58-2B-4T-gguf", "main", null)]
    [InlineData("hf:microsoft/bitnet-b1.58-2B-4T-gguf:ggml-model-i2_s.gguf", "microsoft", "bitnet-b1.58-2B-4T-gguf", "main", "ggml-model-i2_s.gguf")]
    [InlineData("hf:owner/repo@v1.2:dir/model.gguf", "owner", "repo", "v1.2", "dir/model.gguf")]
    [InlineData("hf:owner/repo:model.gguf@dev", "owner", "repo", "dev", "model.gguf")]
    [InlineData("hf:owner/repo@refs/pr/3", "owner", "repo", "refs/pr/3", null)]
    [InlineData("HF:Owner_1/Repo.x", "Owner_1", "Repo.x", "main", null)]
    [InlineData("hf://owner/repo/model.gguf", "owner", "repo", "main", "model.gguf")]
    [InlineData("hf://owner/repo@0123abcd/sub/dir/model.gguf", "owner", "repo", "0123abcd", "sub/dir/model.gguf")]
    [InlineData("hf://owner/repo", "owner", "repo", "main", null)]
    [InlineData("hf://owner/repo/", "owner", "repo", "main", null)]
    [InlineData("  hf:owner/repo  ", "owner", "repo", "main", null)]
    public void HubReferences_Parse(string text, string owner, string repo, string revision, string? file)
    {
        var r = ModelReference.Parse(text);
        Assert.False(r.IsLocal);
        Assert.Null(r.LocalPath);
        Assert.Equal(owner, r.Owner);
        Assert.Equal(repo, r.Repository);
        Assert.Equal(revision, r.Revision);
        Assert.Equal(file, r.FilePath);
        Assert.Equal($"{owner}/{repo}", r.RepositoryId);
        Assert.Equal(r, ModelReference.Parse(r.ToString())); // the canonical form round-trips
    }

    [Theory]
    [InlineData("/models/ggml-model-i2_s.gguf")]
    [InlineData("models/tiny.gguf")]
    [InlineData(@"C:\models\x.gguf")]
    [InlineData("huggingface/model.gguf")]
    public void OtherText_IsALocalPath(string text)
    {
        var r = ModelReference.Parse(text);
        Assert.True(r.IsLocal);
        Assert.Equal(text, r.LocalPath);
        Assert.Null(r.Owner);
        Assert.Equal(text, r.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("hf:", "is not owner/repo")]
    [InlineData("hf:owner", "is not owner/repo")]
    [InlineData("hf:owner/", "is not owner/repo")]
    [InlineData("hf:/repo", "is not owner/repo")]
    [InlineData("hf:a/b/c", "is not owner/repo")]
    [InlineData("hf:owner/repo:", "nothing follows ':'")]
    [InlineData("hf:owner/repo@", "'@' is not followed by a revision")]
    [InlineData("hf:owner/repo@v1:model.gguf@v2", "two revisions")]
    [InlineData("hf:own er/repo", "contains ' '")]
    [InlineData("hf:../repo", "not a valid owner name")]
    [InlineData("hf:owner/repo:../../etc/x.gguf", "'..' segment")]
    [InlineData("hf:owner/repo:/abs.gguf", "empty, '.' or '..' segment")]
    [InlineData("hf:owner/repo:dir\\x.gguf", "contains '\\'")]
    [InlineData("hf:owner/repo:model.safetensors", "is not a .gguf file")]
    [InlineData("hf:owner/repo@a/../b", "'..' segment")]
    public void Malformed_ThrowsArgumentExceptionNamingTheProblem(string text, string problem)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelReference.Parse(text));
        Assert.Contains(problem, e.Message);
        if (text.Length > 0) Assert.Contains("hf:owner/repo[@revision][:file.gguf]", e.Message);
    }

    [Fact]
    public void WithFile_AndFactories_Validate()
    {
        var repo = ModelReference.HuggingFace("o", "r");
        Assert.Equal("hf:o/r@main:m.gguf", repo.WithFile("m.gguf").ToString());
        Assert.Throws<ArgumentException>(() => repo.WithFile("../m.gguf"));
        Assert.Throws<ArgumentException>(() => ModelReference.HuggingFace("o", "r/x"));
        Assert.Throws<InvalidOperationException>(() => ModelReference.Local("/x.gguf").WithFile("m.gguf"));
    }
}
