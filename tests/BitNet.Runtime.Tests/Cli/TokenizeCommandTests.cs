using BitNet.Runtime.Tests.Tokenization;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet tokenize` on the vocabulary-only Llama-3 GGUF (llama.cpp goldens) and on a model file.</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class TokenizeCommandTests
{
    // "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～": specials-free text mixing scripts, emoji and digits.
    private const int MixedScriptsCase = 32;

    [Fact]
    public void VocabularyOnlyGguf_MatchesLlamaCppGolden()
    {
        var golden = TokenizerTestData.ReadGolden("llama3")[MixedScriptsCase];
        Assert.StartsWith("Hello, y'all!", golden.Text);

        var result = CliHost.Run("tokenize", "--model", CliHost.Llama3Vocabulary, "--text", golden.Text);

        Assert.Equal(golden.Ids, CliHost.ParseTokens(result));
        Assert.Equal("{\"tokens\":[" + string.Join(',', golden.Ids) + "]}\n", result.Out);
    }

    /// <summary>Without flags special-token text is ordinary text and no BOS is added (the golden above has none either).</summary>
    [Fact]
    public void SpecialAndBos_AreOffUnlessAsked()
    {
        const string text = "<|eot_id|>Hi";
        var plain = CliHost.ParseTokens(CliHost.Run("tokenize", "--model", CliHost.Llama3Vocabulary, "--text", text));
        var special = CliHost.ParseTokens(CliHost.Run("tokenize", "--model", CliHost.Llama3Vocabulary, "--text", text, "--special", "--bos"));

        Assert.Equal([27, 91, 68, 354, 851, 91, 29, 13347], plain); // '<', '|', 'e', 'ot', '_id', '|', '>', 'Hi'
        Assert.Equal([128000, 128009, 13347], special);             // BOS, <|eot_id|>, 'Hi'
    }

    [Fact]
    public void ModelFile_UsesItsSentencePieceVocabulary()
    {
        // The bundled model's reference prompt "Once upon a time" (its greedy continuation starts with these ids).
        var ids = CliHost.ParseTokens(CliHost.Run("tokenize", "--model", CliHost.StoriesModel, "--text", "Once upon a time", "--bos"));
        Assert.Equal([1, 403, 407, 261, 378], ids);
    }

    [Fact]
    public void MissingFile_IsAOneLineError()
    {
        var result = CliHost.Run("tokenize", "--model", "/nonexistent/vocab.gguf", "--text", "x");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.StartsWith("error: ", result.Error);
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
    }
}
