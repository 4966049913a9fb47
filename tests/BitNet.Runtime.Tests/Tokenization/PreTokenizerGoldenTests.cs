using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tests.HuggingFace;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>
/// Pre-tokenizer splits, golden strings written by hand from the regex semantics of the real tokenizers:
/// <list type="bullet">
/// <item>Llama-3 (and Falcon3 GGUFs, <c>pre = falcon3</c>, which llama.cpp's src/llama-vocab.cpp maps to the same
/// LLAMA3 type): the Split regex of Meta-Llama-3's tokenizer.json / tiktoken's cl100k pattern, docs/bitnet-runtime.md §5.</item>
/// <item>Hugging Face pipelines Punctuation(Contiguous) + ByteLevel(use_regex) + Digits, as in Falcon tokenizer.json
/// files: huggingface/tokenizers pre_tokenizers/punctuation.rs (is_punc = ASCII punctuation or Unicode P*), byte_level.rs
/// (the GPT-2 regex per piece), digits.rs (char::is_numeric, isolated or contiguous). Each piece is split on its own,
/// so GPT-2's lookahead sees a piece's end as the end of the text.</item>
/// </list>
/// The combined regexes are also checked against a literal step-by-step emulation of that pipeline on random strings.
/// </summary>
public sealed class PreTokenizerGoldenTests
{
    private static string[] Split(Regex regex, string text) => regex.Matches(text).Select(m => m.Value).ToArray();

    public static TheoryData<string, string[]> Llama3Cases() => new()
    {
        { "1234567", ["123", "456", "7"] },                       // digits in groups of at most three
        { "I'M don't", ["I", "'M", " don", "'t"] },                 // contractions, case-insensitive
        { "Hello, world!!", ["Hello", ",", " world", "!!"] },
        { "a  b", ["a", " ", " b"] },                               // the last space joins the word
        { "x\n\n  y", ["x", "\n\n", " ", " y"] },                    // newline runs, then spaces before a word
        { "héllo 世界 ½", ["héllo", " 世界", " ", "½"] },             // letters of any script; ½ is a number
        { "$12.50", ["$", "12", ".", "50"] },
        { "hi 😁!", ["hi", " 😁!"] },                                // symbols and punctuation run together with a space
        { "'s'", ["'s", "'"] },
    };

    [Theory]
    [MemberData(nameof(Llama3Cases))]
    public void Llama3SplitsAsItsRegexSays(string text, string[] expected)
    {
        Assert.Equal(expected, Split(PreTokenizerPatterns.Llama3(), text));
        // Falcon3 and Falcon-E GGUFs get the same split (llama.cpp's mapping), with or without a Llama-3 vocabulary.
        foreach (var name in new[] { "falcon3", "falcon_e", "llama-bpe", "llama3" })
            Assert.Same(PreTokenizerPatterns.Llama3(), PreTokenizerPatterns.ForName(name, llama3Vocabulary: false));
    }

    private static readonly Lazy<TextTokenizer> Llama3Tokenizer = new(() =>
    {
        using var file = GgufFile.Open(TestPaths.SharedFile("tokenizers", "llama3", "llama3-vocab.gguf"));
        return TextTokenizer.FromGguf(file.Metadata);
    });

    [Theory]
    [MemberData(nameof(Llama3Cases))]
    public void TheLlama3VocabularyNeverJoinsTokensAcrossTheGoldenPieces(string text, string[] pieces)
    {
        // With the real 128k vocabulary: encoding the text is encoding each golden piece on its own, one after another.
        var tokenizer = Llama3Tokenizer.Value;
        var expected = pieces.SelectMany(p => tokenizer.Encode(p, addBos: false, parseSpecial: false)).ToArray();
        Assert.Equal(expected, tokenizer.Encode(text, addBos: false, parseSpecial: false));
        Assert.Equal(text, tokenizer.Decode(expected));
    }

    public static TheoryData<string, string[]> PunctuationDigitCases() => new()
    {
        { "1234567", ["1", "2", "3", "4", "5", "6", "7"] },
        { "I'M don't", ["I", "'", "M", " don", "'", "t"] },         // the apostrophe is punctuation: no contractions
        { "Hello, world!!", ["Hello", ",", " world", "!!"] },       // a run of punctuation is one piece (Contiguous)
        { "a ,b", ["a", " ", ",", "b"] },                          // no space joins punctuation
        { "a  ,b", ["a", "  ", ",", "b"] },                        // both spaces end their piece together
        { "price: 12 €", ["price", ":", " ", "1", "2", " €"] },     // € is a symbol, not punctuation
        { "x=1+2", ["x", "=", "1", "+", "2"] },                    // = and + are ASCII punctuation to HF
        { "naïve café 2024", ["naïve", " café", " ", "2", "0", "2", "4"] },
        { "a\n\nb", ["a", "\n", "\n", "b"] },
        { "«Ça va?» 😁", ["«", "Ça", " va", "?»", " 😁"] },
    };

    [Theory]
    [MemberData(nameof(PunctuationDigitCases))]
    public void PunctuationThenGpt2ThenIndividualDigits(string text, string[] expected)
    {
        Assert.Equal(expected, Split(PreTokenizerPatterns.PunctuationGpt2Digits(), text));
        Assert.Equal(expected, Pipeline(text, individualDigits: true).ToArray());
    }

    [Theory]
    [InlineData("1234567 x", new[] { "1234567", " x" })]
    [InlineData("v2.10", new[] { "v", "2", ".", "10" })]
    public void DigitRunsStayTogetherWithoutIndividualDigits(string text, string[] expected)
    {
        Assert.Equal(expected, Split(PreTokenizerPatterns.PunctuationGpt2DigitRuns(), text));
        Assert.Equal(expected, Pipeline(text, individualDigits: false).ToArray());
    }

    [Fact]
    public void TheCombinedRegexesEqualTheStepByStepPipelineOnRandomText()
    {
        string[] alphabet = ["a", "Z", "é", "東", "1", "٣", "½", " ", "  ", "\n", "\t", "'", ",", "!", "?", "$", "+", "=", "€", "😁", "«", "-", "_", "s", "t"];
        var rng = new Random(2024);
        for (int i = 0; i < 3000; i++)
        {
            var sb = new StringBuilder();
            for (int j = rng.Next(1, 16); j > 0; j--) sb.Append(alphabet[rng.Next(alphabet.Length)]);
            string text = sb.ToString();
            Assert.Equal(Pipeline(text, individualDigits: true), Split(PreTokenizerPatterns.PunctuationGpt2Digits(), text));
            Assert.Equal(Pipeline(text, individualDigits: false), Split(PreTokenizerPatterns.PunctuationGpt2DigitRuns(), text));
            Assert.Equal(Pipeline(text, individualDigits: null), Split(PreTokenizerPatterns.PunctuationGpt2(), text));
        }
    }

    /// <summary>A tokenizer.json with Falcon's pre-tokenizer form loads with the matching split; other forms are refused by name.</summary>
    [Fact]
    public void TokenizerJsonWithPunctuationAndDigitsLoadsAndSplitsNumbersIntoDigits()
    {
        using var fixtures = new HfFixtures();
        string dir = WithPreTokenizer(fixtures, "falcon-like", """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Punctuation", "behavior": "Contiguous"},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
              {"type": "Digits", "individual_digits": true}]}
            """);
        var md = HuggingFaceTokenizerLoader.ReadMetadata(dir);
        Assert.Equal(PreTokenizerPatterns.PunctuationGpt2DigitsName, md["tokenizer.ggml.pre"].AsString());
        var tokenizer = HuggingFaceTokenizerLoader.Load(dir);
        var ids = tokenizer.Encode("2024", addBos: false, parseSpecial: false);
        Assert.Equal(4, ids.Length);
        Assert.Equal("2024", tokenizer.Decode(ids));
        Assert.Equal("it's 12!", tokenizer.Decode(tokenizer.Encode("it's 12!", addBos: false, parseSpecial: false)));

        string isolated = WithPreTokenizer(fixtures, "isolated", """
            {"type": "Sequence", "pretokenizers": [{"type": "Punctuation"}, {"type": "ByteLevel", "use_regex": true}]}
            """);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizerLoader.Load(isolated));
        Assert.Contains("Punctuation behavior 'Isolated'", error.Message);

        string after = WithPreTokenizer(fixtures, "after", """
            {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel", "use_regex": true}, {"type": "Punctuation", "behavior": "Contiguous"}]}
            """);
        Assert.Contains("after ByteLevel", Assert.Throws<InvalidDataException>(() => HuggingFaceTokenizerLoader.Load(after)).Message);
    }

    private static string WithPreTokenizer(HfFixtures fixtures, string name, string preTokenizer)
    {
        string dir = Path.Combine(fixtures.Root, name);
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(HfFixtures.Packed, f), Path.Combine(dir, f));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!.AsObject();
        json["pre_tokenizer"] = JsonNode.Parse(preTokenizer);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        return dir;
    }

    // ---------------------------------------------------------------- the pipeline, step by step

    /// <summary>huggingface/tokenizers' is_punc: ASCII punctuation or a Unicode punctuation category.</summary>
    private static bool IsPunctuation(string text, int i) =>
        (text[i] < 128 && char.IsAsciiLetterOrDigit(text[i]) == false && text[i] > ' ' && text[i] < 127)
        || CharUnicodeInfo.GetUnicodeCategory(text, i) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    private static readonly Regex Gpt2 = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");

    /// <summary>Punctuation (Contiguous), then the GPT-2 regex inside each piece, then Digits inside each piece.</summary>
    private static List<string> Pipeline(string text, bool? individualDigits)
    {
        var pieces = new List<string>();
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            // Text elements: a surrogate pair is one character to Rust.
            if (i < text.Length && char.IsLowSurrogate(text[i])) continue;
            if (i == text.Length || IsPunctuation(text, i) != IsPunctuation(text, start))
            {
                pieces.Add(text[start..i]);
                start = i;
            }
        }
        var byteLevel = pieces.SelectMany(p => Gpt2.Matches(p).Select(m => m.Value)).ToList();
        if (individualDigits is null) return byteLevel;
        var result = new List<string>();
        foreach (var piece in byteLevel)
        {
            int s = 0;
            for (int i = 0; i < piece.Length; i++)
            {
                bool digit = char.IsDigit(piece, i) || CharUnicodeInfo.GetUnicodeCategory(piece, i) is UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
                if (!digit) continue;
                int end = i + 1;
                if (individualDigits == false)
                    while (end < piece.Length && (char.IsDigit(piece, end) || CharUnicodeInfo.GetUnicodeCategory(piece, end) is UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber)) end++;
                if (i > s) result.Add(piece[s..i]);
                result.Add(piece[i..end]);
                s = end;
                i = end - 1;
            }
            if (s < piece.Length) result.Add(piece[s..]);
        }
        return result;
    }
}
