using System.Text;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>
/// The trie walk must allow exactly the tokens whose bytes the recognizer accepts after the prefix, checked token by
/// token over whole real vocabularies (128k Llama-3 tokens included) at prefixes inside keys, values, numbers,
/// strings, partial UTF-8 and after a complete value.
/// </summary>
[Collection(GrammarCollection.Name)]
public sealed class TrieMaskAgreementTests(GrammarFixture fixture)
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        string[] prefixes =
        [
            "",
            "{\"id\":\"",
            "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"placed\":\"2024-01-0",
            "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"placed\":\"2024-01-02T03:04:05Z\",\"site\":\"http://a.b\",\"due\":\"2024-02-03\",\"items\":[{\"sku\":\"ABC-1234\",\"qty\":9",
            "{\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"placed\":\"2024-01-02T03:04:05Z\",\"site\":\"http://a.b\",\"due\":\"2024-02-03\",\"items\":[{\"sku\":\"ABC-1234\",\"qty\":9,\"price\":1.5}",
        ];
        foreach (string tokenizer in (string[])["stories", "tiny", "llama3"])
        {
            foreach (string prefix in prefixes) data.Add(tokenizer, nameof(TestSchemas.Order), prefix);
            data.Add(tokenizer, nameof(TestSchemas.Unicode), "{\"word\":\"\u00E9\",\"fixed\":\"\u00DCn\u00EFc\u00F6d\u00E9 \u2713\",\"free\":\"\u65E5");
            data.Add(tokenizer, nameof(TestSchemas.AnyObject), "{\"a\":[1,{\"b\":");
            data.Add(tokenizer, nameof(TestSchemas.Choices), "{\"ok\":false,\"error\":\"E12");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MaskEqualsPerTokenRecognition(string tokenizerName, string schemaName, string prefix)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(TestSchemas.Get(schemaName));
        byte[] prefixBytes = Encoding.UTF8.GetBytes(prefix);
        var constraint = grammar.Start(vocabulary);
        Assert.True(constraint.AcceptBytes(prefixBytes));
        var mask = new ulong[vocabulary.MaskLength];
        int count = constraint.ComputeMask(mask);

        // Independent check: run every token's bytes through a separate recognizer, no trie involved.
        var machine = new StackSetMachine(grammar.Compiled);
        int state = machine.Run(machine.Initial, prefixBytes);
        Assert.NotEqual(StackSetMachine.Dead, state);
        int expectedCount = 0;
        for (int id = 0; id < vocabulary.VocabSize; id++)
        {
            var bytes = vocabulary.TokenBytes(id);
            bool expected = vocabulary.EndOfGenerationIds.Contains(id)
                ? machine.IsAccepting(state)
                : !bytes.IsEmpty && machine.Run(state, bytes) != StackSetMachine.Dead;
            if (expected) expectedCount++;
            if (expected != TokenMask.IsAllowed(mask, id))
                Assert.Fail($"token {id} [{Convert.ToHexString(bytes)}] '{Encoding.UTF8.GetString(bytes)}': recognizer {expected}, mask {!expected}");
        }
        Assert.Equal(expectedCount, count);
        Assert.True(count > 0);
    }
}
