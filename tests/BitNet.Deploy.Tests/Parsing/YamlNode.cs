using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace BitNet.Deploy.Tests.Parsing;

/// <summary>
/// A read-only view of a parsed YAML value (mapping, sequence or scalar string) that remembers where it came from,
/// so a failed assertion names the exact path (<c>services.bitnet.healthcheck.test</c>). Missing keys give a node
/// whose <see cref="Exists"/> is false rather than throwing.
/// </summary>
internal sealed class YamlNode
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    private readonly object? _value;

    private YamlNode(object? value, string path)
    {
        _value = value;
        Path = path;
    }

    /// <summary>Where this node is, as dotted keys and [indexes], prefixed by the file name.</summary>
    public string Path { get; }

    public bool Exists => _value is not null;
    public bool IsMap => _value is IDictionary<object, object>;
    public bool IsList => _value is IList<object>;

    /// <summary>The scalar's text (YAML scalars stay strings: "8080", "true"), or null for a missing or non-scalar node.</summary>
    public string? Text => _value as string;

    public YamlNode this[string key]
    {
        get
        {
            if (_value is IDictionary<object, object> map)
                foreach (var (k, v) in map)
                    if (k is string s && s == key) return new YamlNode(v, $"{Path}.{key}");
            return new YamlNode(null, $"{Path}.{key}");
        }
    }

    /// <summary>The mapping's entries in file order (empty for anything else).</summary>
    public IReadOnlyList<KeyValuePair<string, YamlNode>> Entries =>
        _value is IDictionary<object, object> map
            ? map.Select(e => KeyValuePair.Create(e.Key.ToString() ?? "", new YamlNode(e.Value, $"{Path}.{e.Key}"))).ToList()
            : [];

    /// <summary>The sequence's items (empty for anything else).</summary>
    public IReadOnlyList<YamlNode> Items =>
        _value is IList<object> list ? list.Select((v, i) => new YamlNode(v, $"{Path}[{i}]")).ToList() : [];

    /// <summary>The scalar's text; fails the test naming the path when missing or not a scalar.</summary>
    public string RequireText() =>
        Text ?? throw new Xunit.Sdk.XunitException($"{Path}: expected a scalar value, found {(_value is null ? "nothing" : _value.GetType().Name)}");

    public int RequireInt() =>
        int.TryParse(RequireText(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v)
            ? v
            : throw new Xunit.Sdk.XunitException($"{Path}: '{Text}' is not an integer");

    /// <summary>The scalar items of a sequence (a single scalar counts as a one-item list).</summary>
    public IReadOnlyList<string> Strings => Text is { } single ? [single] : Items.Select(i => i.RequireText()).ToList();

    public override string ToString() => $"{Path} = {Text ?? _value?.GetType().Name ?? "(missing)"}";

    /// <summary>
    /// Parses every document of a YAML text (a Kubernetes file holds several), resolving anchors and
    /// <c>&lt;&lt;</c> merge keys the way Docker Compose does. Empty documents are skipped.
    /// </summary>
    public static IReadOnlyList<YamlNode> ParseAll(string text, string name)
    {
        var parser = new MergingParser(new Parser(new StringReader(text)));
        parser.Consume<StreamStart>();
        var documents = new List<YamlNode>();
        while (parser.Accept<DocumentStart>(out _))
        {
            object? value = Deserializer.Deserialize<object?>(parser);
            if (value is not null) documents.Add(new YamlNode(value, $"{name}#{documents.Count}"));
        }
        return documents;
    }

    /// <summary>Parses a single-document YAML file of the repository.</summary>
    public static YamlNode Load(string relativePath)
    {
        var documents = ParseAll(TestPaths.ReadText(relativePath), relativePath);
        if (documents.Count != 1) throw new Xunit.Sdk.XunitException($"{relativePath}: expected one YAML document, found {documents.Count}");
        return new YamlNode(documents[0]._value, relativePath);
    }

    /// <summary>Parses a multi-document YAML file of the repository.</summary>
    public static IReadOnlyList<YamlNode> LoadAll(string relativePath) => ParseAll(TestPaths.ReadText(relativePath), relativePath);
}
