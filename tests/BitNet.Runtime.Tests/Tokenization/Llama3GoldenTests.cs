using System.Diagnostics;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>llama.cpp's Llama-3 test vectors (the BitNet b1.58 2B4T vocabulary) through every way of loading it.</summary>
[Collection(TokenizerCollection.Name)]
public sealed class Llama3GoldenTests(TokenizerFixture fixture)
{
    public static TheoryData<int> Cases => TokenizerTestData.CaseIndexes();

    [Fact]
    public void GoldenFile_HasTheDocumentedNumberOfCases() =>
        Assert.Equal(TokenizerTestData.GoldenCaseCount, fixture.Llama3Golden.Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gguf_MatchesLlamaCpp(int index) => AssertGolden(fixture.Llama3Gguf, index);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TiktokenFile_MatchesLlamaCpp(int index) => AssertGolden(fixture.Llama3Tiktoken, index);

    /// <summary>The official 2B4T GGUF has no tokenizer.ggml.pre: the vocabulary alone must select the Llama-3 regex.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void GgufWithoutPreKey_MatchesLlamaCpp(int index) => AssertGolden(fixture.Llama3GgufWithoutPre, index);

    /// <summary>The merge-list path (BpeTokenizer plus whole-token lookup, llama.cpp's ignore_merges) agrees too.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void GgufThroughMergeList_MatchesLlamaCpp(int index) => AssertGolden(fixture.Llama3GgufMerges, index);

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeOfEncode_RoundTrips(int index)
    {
        string text = fixture.Llama3Golden[index].Text;
        Assert.Equal(text, fixture.Llama3Gguf.Decode(fixture.Llama3Gguf.Encode(text, addBos: false, parseSpecial: false)));
        Assert.Equal(text, fixture.Llama3Gguf.Decode(fixture.Llama3Gguf.Encode(text, addBos: true, parseSpecial: true), skipSpecial: true));
    }

    [Fact]
    public void GgufAndTiktokenFile_DescribeTheSameVocabulary()
    {
        TextTokenizer gguf = fixture.Llama3Gguf, tiktoken = fixture.Llama3Tiktoken;
        Assert.Equal(128256, gguf.VocabSize);
        Assert.Equal(gguf.VocabSize, tiktoken.VocabSize);
        for (int id = 0; id < gguf.VocabSize; id++)
        {
            if (!gguf.TokenBytes(id).SequenceEqual(tiktoken.TokenBytes(id)))
                Assert.Fail($"token {id}: GGUF '{gguf.TokenText(id)}' vs tiktoken '{tiktoken.TokenText(id)}'");
            Assert.Equal(gguf.IsSpecial(id), tiktoken.IsSpecial(id));
        }
        foreach (var t in new[] { gguf, tiktoken })
        {
            Assert.Equal(128000, t.BosId);
            Assert.Equal(128001, t.EosId);
            Assert.True(t.AddBos);
            Assert.Equal(TokenizerKind.ByteLevelBpe, t.Kind);
        }
    }

    [Fact]
    public void LoadingTheGguf128kVocabulary_TakesWellUnderTheBudget()
    {
        var metadata = fixture.Llama3Metadata;
        _ = fixture.Llama3Gguf; // JIT and regex warm-up belong to the first load, not to this measurement
        var watch = Stopwatch.StartNew();
        var tokenizer = TextTokenizer.FromGguf(metadata);
        watch.Stop();
        Assert.Equal(128256, tokenizer.VocabSize);
        // The target is < 1-2 s; the bound leaves room for a loaded 2-core CI machine.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"loading took {watch.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Encode_GivesTheSameIdsFromManyThreads()
    {
        var cases = fixture.Llama3Golden;
        foreach (var t in new[] { fixture.Llama3Gguf, fixture.Llama3GgufMerges })
        {
            Parallel.For(0, cases.Count * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var golden = cases[i % cases.Count];
                Assert.Equal(golden.Ids, t.Encode(golden.Text, addBos: false, parseSpecial: false));
            });
        }
    }

    private void AssertGolden(TextTokenizer tokenizer, int index)
    {
        var golden = fixture.Llama3Golden[index];
        int[] ids = tokenizer.Encode(golden.Text, addBos: false, parseSpecial: false);
        Assert.True(golden.Ids.AsSpan().SequenceEqual(ids),
            $"{golden}\n expected {string.Join(' ', golden.Ids)}\n actual   {string.Join(' ', ids)}");
    }
}
