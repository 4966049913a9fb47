using System.Text;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>"At most R tokens remain": values must still close and parse when the budget is near the minimum.</summary>
[Collection(GrammarCollection.Name)]
public sealed class BudgetTests(GrammarFixture fixture)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string tokenizer in (string[])["stories", "tiny"])
            foreach (string schema in (string[])["Person", "Order", "Tree", "Unicode", "Choices", "AnyObject"])
                data.Add(tokenizer, schema);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ValuesCloseWithinBudgetsNearTheMinimum(string tokenizerName, string schemaName)
    {
        string schema = TestSchemas.Get(schemaName);
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(schema);
        int minimum = grammar.MinimumLength; // bytes; never more tokens than that with single-byte tokens
        foreach (int extra in (int[])[0, 1, 2, 5, 10, 25])
        {
            for (int seed = 0; seed < 6; seed++)
            {
                int budget = minimum + extra;
                var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed * 31 + extra), budget);
                Assert.True(result.Finished, $"budget {budget}, seed {seed}: did not close: {result.Text}");
                Assert.True(result.Tokens.Count <= budget);
                GrammarTesting.AssertValid(schema, result.Bytes);
            }
        }
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void BudgetAppliedMidwayStillCloses(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(TestSchemas.Order);
        for (int seed = 0; seed < 10; seed++)
        {
            var random = new Random(seed);
            var constraint = grammar.Start(vocabulary);
            var mask = new ulong[vocabulary.MaskLength];
            var text = new List<byte>();
            // Free generation for a while, then only just enough tokens left for the shortest completion.
            for (int i = 0; i < 40; i++) text.AddRange(Step(constraint, mask, random, GrammarConstraint.Unlimited));
            int remaining = constraint.MinBytesToComplete;
            for (; remaining > 0 && !constraint.IsComplete; remaining--) text.AddRange(Step(constraint, mask, random, remaining));
            Assert.True(constraint.IsComplete, Encoding.UTF8.GetString([.. text]));
            GrammarTesting.AssertValid(TestSchemas.Order, [.. text]);
        }
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void TooSmallBudgetSteersTowardTheShortestCompletion(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(TestSchemas.Order);
        int budget = grammar.MinimumLength / 2;
        for (int seed = 0; seed < 5; seed++)
        {
            var random = new Random(seed);
            var constraint = grammar.Start(vocabulary);
            var mask = new ulong[vocabulary.MaskLength];
            var text = new List<byte>();
            int start = constraint.MinBytesToComplete;
            for (int remaining = budget; remaining > 0; remaining--)
            {
                int before = constraint.MinBytesToComplete;
                text.AddRange(Step(constraint, mask, random, remaining));
                Assert.True(constraint.MinBytesToComplete < before, "every token must get closer to a complete value");
            }
            Assert.False(constraint.IsComplete);
            Assert.True(constraint.MinBytesToComplete <= start - budget);
            Assert.True(grammar.IsPrefix([.. text]));
        }
    }

    [Fact]
    public void BudgetOnlyBitesNearTheEnd()
    {
        var vocabulary = TokenVocabulary.For(fixture.Tiny);
        var constraint = JsonGrammar.FromSchema(TestSchemas.Person).Start(vocabulary);
        var unlimited = new ulong[vocabulary.MaskLength];
        var plenty = new ulong[vocabulary.MaskLength];
        var tight = new ulong[vocabulary.MaskLength];
        int all = constraint.ComputeMask(unlimited);
        Assert.Equal(all, constraint.ComputeMask(plenty, 1000));
        Assert.Equal(unlimited, plenty);
        int few = constraint.ComputeMask(tight, constraint.MinBytesToComplete);
        Assert.True(few > 0 && few < all, $"tight budget allowed {few} of {all}");
    }

    private static byte[] Step(GrammarConstraint constraint, ulong[] mask, Random random, int remaining)
    {
        int count = constraint.ComputeMask(mask, remaining);
        Assert.True(count > 0);
        var candidates = new List<int>();
        for (int id = 0; id < constraint.Vocabulary.VocabSize; id++)
            if (TokenMask.IsAllowed(mask, id) && !constraint.Vocabulary.EndOfGenerationIds.Contains(id)) candidates.Add(id);
        if (candidates.Count == 0) return [];
        int token = candidates[random.Next(candidates.Count)];
        Assert.True(constraint.Accept(token));
        return constraint.Vocabulary.TokenBytes(token).ToArray();
    }
}

/// <summary>The per-sequence state cache is rebuilt from the accepted bytes when it grows past its limit.</summary>
[Collection(GrammarCollection.Name)]
public sealed class StateLimitTests(GrammarFixture fixture)
{
    [Fact]
    public void RebuildingTheRecognizerKeepsThePlace()
    {
        var vocabulary = TokenVocabulary.For(fixture.Tiny);
        var grammar = JsonGrammar.FromSchema(TestSchemas.Order);
        for (int seed = 0; seed < 5; seed++)
        {
            var random = new Random(seed);
            var constraint = grammar.Start(vocabulary);
            constraint.StateLimit = 40; // far below what one sequence needs: rebuilds many times
            var reference = grammar.Start(vocabulary);
            var mask = new ulong[vocabulary.MaskLength];
            var expected = new ulong[vocabulary.MaskLength];
            var text = new List<byte>();
            for (int remaining = 200; remaining > 0 && !constraint.IsFinished; remaining--)
            {
                int count = constraint.ComputeMask(mask, remaining);
                Assert.Equal(reference.ComputeMask(expected, remaining), count);
                Assert.Equal(expected, mask);
                var allowed = new List<int>();
                for (int id = 0; id < vocabulary.VocabSize; id++) if (TokenMask.IsAllowed(mask, id)) allowed.Add(id);
                int token = allowed[random.Next(allowed.Count)];
                Assert.True(constraint.Accept(token));
                Assert.True(reference.Accept(token));
                if (!vocabulary.EndOfGenerationIds.Contains(token)) text.AddRange(vocabulary.TokenBytes(token).ToArray());
                Assert.True(constraint.MachineStateCount <= Math.Max(40, text.Count + 2), "a rebuilt machine holds only the states of the accepted path");
            }
            GrammarTesting.AssertValid(TestSchemas.Order, [.. text]);
        }
    }
}
