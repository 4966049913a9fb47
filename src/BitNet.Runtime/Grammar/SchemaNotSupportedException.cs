namespace BitNet.Runtime.Grammar;

/// <summary>
/// A JSON Schema uses a keyword (or a keyword value) the grammar compiler cannot enforce, or admits no value. The
/// server turns it into a 400 that names <see cref="Keyword"/> and <see cref="SchemaPath"/>.
/// </summary>
public sealed class SchemaNotSupportedException : Exception
{
    public SchemaNotSupportedException(string keyword, string schemaPath, string detail)
        : base($"JSON Schema keyword '{keyword}' at '{schemaPath}' is not supported: {detail}")
    {
        Keyword = keyword;
        SchemaPath = schemaPath;
    }

    /// <summary>The offending keyword, e.g. <c>patternProperties</c>.</summary>
    public string Keyword { get; }

    /// <summary>JSON-pointer style location of the schema object that holds it, e.g. <c>#/properties/tags</c>.</summary>
    public string SchemaPath { get; }
}
