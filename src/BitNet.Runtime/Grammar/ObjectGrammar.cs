using System.Text;
using System.Text.Json;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// Object schemas: declared properties in declared order, required ones always present, optional ones may be left
/// out, then (when <c>additionalProperties</c> allows them) extra members. Extra keys are drawn from
/// <c>[A-Za-z0-9_-]+</c> and can never equal a declared name, so an extra member is never judged by (or duplicates)
/// a declared property; with no declared properties extra keys are any string.
/// </summary>
internal static class ObjectGrammar
{
    private static readonly ByteSet KeyAlphabet =
        ByteSet.Range('A', 'Z').Union(ByteSet.Range('a', 'z')).Union(ByteSet.Range('0', '9')).Union(ByteSet.OfChars("_-"));

    public static int Build(SchemaCompiler compiler, JsonSyntax json, JsonElement schema, string path)
    {
        var b = json.Builder;
        var names = new List<string>();
        var members = new List<int>();
        var optional = new List<bool>();
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var requiredList))
        {
            if (requiredList.ValueKind != JsonValueKind.Array) throw new SchemaNotSupportedException("required", path, "required must be an array");
            foreach (var item in requiredList.EnumerateArray()) required.Add(item.GetString() ?? "");
        }

        int? extraValue = json.Value; // additionalProperties absent or true: any value
        if (schema.TryGetProperty("additionalProperties", out var additional))
        {
            if (additional.ValueKind == JsonValueKind.False) extraValue = null;
            else if (additional.ValueKind != JsonValueKind.True) extraValue = compiler.Subschema(additional, path + "/additionalProperties");
        }

        if (schema.TryGetProperty("properties", out var properties))
        {
            if (properties.ValueKind != JsonValueKind.Object) throw new SchemaNotSupportedException("properties", path, "properties must be an object");
            foreach (var property in properties.EnumerateObject())
            {
                int value = compiler.Subschema(property.Value, $"{path}/properties/{property.Name}");
                names.Add(property.Name);
                members.Add(json.Member(b.Literal(JsonSyntax.Quote(property.Name)), value));
                optional.Add(!required.Contains(property.Name));
            }
        }
        foreach (string name in required)
        {
            if (names.Contains(name)) continue;
            if (extraValue is null)
                throw new SchemaNotSupportedException("required", path, $"required property '{name}' is not in properties and additionalProperties is false");
            names.Add(name);
            members.Add(json.Member(b.Literal(JsonSyntax.Quote(name)), extraValue.Value));
            optional.Add(false);
        }

        int? extraMember = null;
        if (extraValue is not null)
            extraMember = json.Member(names.Count == 0 ? json.FreeString : KeyOutside(b, names), extraValue.Value);

        // head[i]: members from i on, nothing written yet; tail[i]: members from i on after at least one (comma first).
        int comma = b.Sequence(json.Whitespace, b.Byte((byte)','), json.Whitespace);
        int n = members.Count;
        int head, tail;
        if (extraMember is int extra)
        {
            int tailRule = b.NewRule();
            tail = GrammarBuilder.RuleSymbol(tailRule);
            b.Add(tailRule);
            b.Add(tailRule, comma, extra, tail);
            head = b.Choice(b.Empty(), b.Sequence(extra, tail));
        }
        else
        {
            head = tail = b.Empty();
        }
        for (int i = n - 1; i >= 0; i--)
        {
            int nextTail = tail, nextHead = head;
            int tailRule = b.NewRule(), headRule = b.NewRule();
            b.Add(tailRule, comma, members[i], nextTail);
            b.Add(headRule, members[i], nextTail);
            if (optional[i])
            {
                b.Add(tailRule, nextTail);
                b.Add(headRule, nextHead);
            }
            tail = GrammarBuilder.RuleSymbol(tailRule);
            head = GrammarBuilder.RuleSymbol(headRule);
        }
        return b.Sequence(b.Byte((byte)'{'), json.Whitespace, head, json.Whitespace, b.Byte((byte)'}'));
    }

    /// <summary>
    /// A quoted non-empty key over <see cref="KeyAlphabet"/> that differs from every name in
    /// <paramref name="names"/>: a trie of the names where leaving the trie frees the rest of the key, and the closing
    /// quote is allowed everywhere except at the end of a name.
    /// </summary>
    private static int KeyOutside(GrammarBuilder b, List<string> names)
    {
        int freeRule = b.NewRule();
        int free = GrammarBuilder.RuleSymbol(freeRule);
        int quote = b.Byte((byte)'"');
        b.Add(freeRule, b.Terminal(KeyAlphabet), free);
        b.Add(freeRule, quote);

        var words = new List<byte[]>();
        foreach (string name in names)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(name);
            bool inAlphabet = bytes.Length > 0;
            foreach (byte c in bytes) inAlphabet &= KeyAlphabet.Contains(c);
            if (inAlphabet) words.Add(bytes); // other names can never be spelled by an extra key
        }
        return b.Sequence(quote, TrieNode(b, words, 0, free, quote, isRoot: true));
    }

    private static int TrieNode(GrammarBuilder b, List<byte[]> words, int depth, int free, int quote, bool isRoot)
    {
        int rule = b.NewRule();
        bool endsWord = false;
        var children = new SortedDictionary<byte, List<byte[]>>();
        foreach (byte[] word in words)
        {
            if (word.Length == depth) { endsWord = true; continue; }
            if (!children.TryGetValue(word[depth], out var list)) children[word[depth]] = list = [];
            list.Add(word);
        }
        var others = KeyAlphabet;
        foreach (var (c, list) in children)
        {
            others = others.Except(ByteSet.Of(c));
            b.Add(rule, b.Byte(c), TrieNode(b, list, depth + 1, free, quote, isRoot: false));
        }
        if (!others.IsEmpty) b.Add(rule, b.Terminal(others), free);
        if (!isRoot && !endsWord) b.Add(rule, quote);
        return GrammarBuilder.RuleSymbol(rule);
    }
}
