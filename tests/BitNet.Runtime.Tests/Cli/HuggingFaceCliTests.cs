using BitNet.Runtime.Tests.HuggingFace;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet info|tokenize|convert` on a Hugging Face directory (eval writes raw stdout; the reference tests cover it).</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class HuggingFaceCliTests : IDisposable
{
    private readonly HfFixtures _fixtures = new();

    [Fact]
    public void InfoDescribesTheDirectory()
    {
        var r = CliHost.Run("info", HfFixtures.Packed);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Hugging Face; 1 safetensors file(s)", r.Out);
        Assert.Contains("linear_class AutoBitLinear, mode offline; packed U8 repacked to I2_S at load", r.Out);
        Assert.Contains("architecture:  bitnet-b1.58", r.Out);
        Assert.Contains("I2_S x28", r.Out);
        Assert.Contains("repacking ternary weights into I2_S: 28/28", r.Error);
    }

    [Fact]
    public void ConvertWritesAGgufTheOtherCommandsRead()
    {
        string output = Path.Combine(_fixtures.Root, "out.gguf");
        var r = CliHost.Run("convert", HfFixtures.Packed, "-o", output);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("bitnet-b1.58, 46 tensors", r.Out);
        Assert.Equal(CliHost.ParseTokens(CliHost.Run("tokenize", "--model", HfFixtures.Packed, "--text", "Hello there, it's 42!")),
            CliHost.ParseTokens(CliHost.Run("tokenize", "--model", output, "--text", "Hello there, it's 42!")));
    }

    [Fact]
    public void AMalformedDirectoryIsOneErrorLine()
    {
        string dir = _fixtures.Variant("bad", HfFixtures.Packed, c => c["hidden_size"] = "wide");
        var r = CliHost.Run("info", dir);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: ", r.Error);
        Assert.Contains("config.json", r.Error);
        Assert.Contains("hidden_size", r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
    }

    public void Dispose() => _fixtures.Dispose();
}
