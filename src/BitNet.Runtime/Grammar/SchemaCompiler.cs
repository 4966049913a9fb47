using System.Text.Json;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// Compiles a JSON Schema (the subset OpenAI structured outputs accept, plus the common non-strict extras) into
/// grammar rules. Annotation keywords and unknown keywords are ignored; keywords that would need constraints the
/// grammar cannot express throw <see cref="SchemaNotSupportedException"/> naming the keyword and its path.
/// </summary>
internal sealed class SchemaCompiler
{
    /// <summary>Keywords whose presence (with a value that constrains) cannot be enforced.</summary>
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "patternProperties", "propertyNames", "if", "then", "else", "not", "dependentSchemas", "dependentRequired",
        "dependencies", "contains", "minContains", "maxContains", "prefixItems", "additionalItems",
        "unevaluatedProperties", "unevaluatedItems", "multipleOf", "minProperties", "maxProperties", "$dynamicRef",
        "$recursiveRef", "contentSchema",
    };

    /// <summary>Keywords that constrain a value; with <c>$ref</c>, <c>anyOf</c> or <c>enum</c> beside them we refuse to guess.</summary>
    private static readonly HashSet<string> Constraining = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength",
        "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "const",
        "anyOf", "oneOf", "allOf", "$ref",
    };

    private static readonly string[] AllTypes = ["object", "array", "string", "number", "integer", "boolean", "null"];

    private readonly JsonSyntax _json;
    private readonly GrammarBuilder _b;
    private readonly GrammarOptions _options;
    private readonly JsonElement _root;
    private readonly Dictionary<string, int> _refs = new(StringComparer.Ordinal);

    private SchemaCompiler(JsonSyntax json, GrammarOptions options, JsonElement root)
    {
        _json = json;
        _b = json.Builder;
        _options = options;
        _root = root;
    }

    public static int Compile(JsonSyntax json, GrammarOptions options, JsonElement root) =>
        new SchemaCompiler(json, options, root).Schema(root, "#");

    private int Schema(JsonElement schema, string path)
    {
        if (schema.ValueKind == JsonValueKind.True) return _json.Value;
        if (schema.ValueKind == JsonValueKind.False) throw new SchemaNotSupportedException("false", path, "the schema 'false' admits no value");
        if (schema.ValueKind != JsonValueKind.Object) throw new SchemaNotSupportedException("schema", path, $"a schema must be an object or a boolean, not {schema.ValueKind}");

        foreach (var property in schema.EnumerateObject())
        {
            if (!Unsupported.Contains(property.Name)) continue;
            bool harmless = property.Name switch
            {
                "minProperties" => property.Value.ValueKind == JsonValueKind.Number && property.Value.GetDouble() <= RequiredCount(schema),
                "unevaluatedProperties" or "unevaluatedItems" => property.Value.ValueKind == JsonValueKind.True,
                _ => false,
            };
            if (!harmless) throw new SchemaNotSupportedException(property.Name, path, "the grammar cannot enforce it");
        }
        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True)
            throw new SchemaNotSupportedException("uniqueItems", path, "the grammar cannot enforce unique items");

        if (schema.TryGetProperty("$ref", out var reference)) return Only(schema, "$ref", path, () => Reference(reference, path));
        if (schema.TryGetProperty("allOf", out var allOf))
        {
            if (allOf.ValueKind != JsonValueKind.Array || allOf.GetArrayLength() != 1)
                throw new SchemaNotSupportedException("allOf", path, "only allOf with a single subschema is supported");
            return Only(schema, "allOf", path, () => Schema(allOf[0], path + "/allOf/0"));
        }
        if (schema.TryGetProperty("anyOf", out var anyOf)) return Only(schema, "anyOf", path, () => Alternatives(anyOf, "anyOf", path));
        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            CheckDisjoint(oneOf, path);
            return Only(schema, "oneOf", path, () => Alternatives(oneOf, "oneOf", path));
        }
        if (schema.TryGetProperty("const", out var constant)) return Literals([constant], schema, path);
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
                throw new SchemaNotSupportedException("enum", path, "enum must be a non-empty array");
            return Literals([.. values.EnumerateArray()], schema, path);
        }

        var types = Types(schema, path);
        if (types.Count == 0) return _json.Value;
        var alternatives = new List<int>(types.Count);
        foreach (string type in types) alternatives.Add(Typed(schema, type, path));
        return _b.Choice(alternatives);
    }

    /// <summary>Compiles a combinator keyword when nothing else constrains the value beside it.</summary>
    private static int Only(JsonElement schema, string keyword, string path, Func<int> compile)
    {
        foreach (var property in schema.EnumerateObject())
        {
            if (property.Name != keyword && Constraining.Contains(property.Name) && !(keyword == "$ref" && property.Name == "$defs"))
                throw new SchemaNotSupportedException(property.Name, path, $"'{property.Name}' beside '{keyword}' is not supported; move it into the subschemas");
        }
        return compile();
    }

    private int Alternatives(JsonElement list, string keyword, string path)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new SchemaNotSupportedException(keyword, path, $"{keyword} must be a non-empty array");
        var alternatives = new List<int>();
        int i = 0;
        foreach (var item in list.EnumerateArray()) alternatives.Add(Schema(item, $"{path}/{keyword}/{i++}"));
        return _b.Choice(alternatives);
    }

    /// <summary>
    /// oneOf is compiled like anyOf, which is only right when no value can match two alternatives: accepted when the
    /// alternatives have pairwise different types, or are objects told apart by a required const/enum property.
    /// </summary>
    private void CheckDisjoint(JsonElement list, string path)
    {
        if (list.ValueKind != JsonValueKind.Array) throw new SchemaNotSupportedException("oneOf", path, "oneOf must be an array");
        var items = list.EnumerateArray().Select(Resolve).ToList();
        var typeSets = items.Select(item => item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null).ToList();
        if (typeSets.All(t => t is not null) && typeSets.Distinct().Count() == typeSets.Count
            && !(typeSets.Contains("integer") && typeSets.Contains("number")))
            return;
        if (items.Count > 0 && items.All(item => item.TryGetProperty("properties", out _)))
        {
            foreach (var candidate in items[0].GetProperty("properties").EnumerateObject())
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                bool discriminates = true;
                foreach (var item in items)
                {
                    if (!item.GetProperty("properties").TryGetProperty(candidate.Name, out var p) || !IsRequired(item, candidate.Name)
                        || !(p.TryGetProperty("const", out var c) || (p.TryGetProperty("enum", out c) && c.GetArrayLength() == 1)))
                    {
                        discriminates = false;
                        break;
                    }
                    string key = c.ValueKind == JsonValueKind.Array ? c[0].GetRawText() : c.GetRawText();
                    if (!seen.Add(key)) { discriminates = false; break; }
                }
                if (discriminates) return;
            }
        }
        throw new SchemaNotSupportedException("oneOf", path, "oneOf is supported only when its alternatives cannot overlap (different types, or a required const discriminator property); use anyOf");
    }

    private JsonElement Resolve(JsonElement schema)
    {
        for (int depth = 0; depth < 32 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var r); depth++)
            schema = Pointer(r.GetString() ?? "", "#");
        return schema;
    }

    private static bool IsRequired(JsonElement schema, string name)
    {
        if (!schema.TryGetProperty("required", out var required) || required.ValueKind != JsonValueKind.Array) return false;
        foreach (var item in required.EnumerateArray()) if (item.ValueKind == JsonValueKind.String && item.GetString() == name) return true;
        return false;
    }

    private static int RequiredCount(JsonElement schema) =>
        schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array ? required.GetArrayLength() : 0;

    private int Reference(JsonElement reference, string path)
    {
        string pointer = reference.GetString() ?? throw new SchemaNotSupportedException("$ref", path, "$ref must be a string");
        if (_refs.TryGetValue(pointer, out int symbol)) return symbol;
        var target = Pointer(pointer, path);
        // Register the rule before compiling the target so recursive references find it.
        int rule = _b.NewRule();
        symbol = GrammarBuilder.RuleSymbol(rule);
        _refs.Add(pointer, symbol);
        _b.Add(rule, Schema(target, pointer));
        return symbol;
    }

    private JsonElement Pointer(string pointer, string path)
    {
        if (!pointer.StartsWith('#')) throw new SchemaNotSupportedException("$ref", path, $"only references inside the schema ('#/...') are supported, not '{pointer}'");
        var node = _root;
        foreach (string raw in pointer[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string token = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(token, out var child)) node = child;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(token, out int index) && index >= 0 && index < node.GetArrayLength()) node = node[index];
            else throw new SchemaNotSupportedException("$ref", path, $"reference '{pointer}' does not resolve");
        }
        return node;
    }

    /// <summary>enum / const: the listed values as literals (filtered by <c>type</c> when both are given).</summary>
    private int Literals(IReadOnlyList<JsonElement> values, JsonElement schema, string path)
    {
        HashSet<string>? types = schema.TryGetProperty("type", out _) ? [.. Types(schema, path)] : null;
        if (types is not null && types.Contains("number")) types.Add("integer");
        var alternatives = new List<int>();
        foreach (var value in values)
        {
            if (types is not null && !types.Contains(TypeOf(value))) continue;
            alternatives.Add(_b.Literal(JsonSyntax.Serialize(value)));
        }
        if (alternatives.Count == 0) throw new SchemaNotSupportedException("enum", path, "no enum/const value has the schema's type");
        return _b.Choice(alternatives);
    }

    private static string TypeOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) && !value.GetRawText().Contains('.') ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    /// <summary>The schema's types; without <c>type</c>, the one its keywords suggest (empty: any value).</summary>
    private static List<string> Types(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            var list = new List<string>();
            if (type.ValueKind == JsonValueKind.String) list.Add(type.GetString()!);
            else if (type.ValueKind == JsonValueKind.Array) foreach (var t in type.EnumerateArray()) list.Add(t.GetString() ?? "");
            else throw new SchemaNotSupportedException("type", path, "type must be a string or an array of strings");
            foreach (string t in list)
                if (Array.IndexOf(AllTypes, t) < 0) throw new SchemaNotSupportedException("type", path, $"unknown type '{t}'");
            if (list.Contains("number")) list.Remove("integer");
            if (list.Count == 0) throw new SchemaNotSupportedException("type", path, "type lists no type");
            return list;
        }
        // Untyped: keywords of one kind imply it (a narrowing, so outputs stay valid); nothing implies any value.
        if (Has(schema, "properties", "required", "additionalProperties")) return ["object"];
        if (Has(schema, "items", "minItems", "maxItems")) return ["array"];
        if (Has(schema, "pattern", "format", "minLength", "maxLength")) return ["string"];
        if (Has(schema, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) return ["number"];
        return [];
    }

    private static bool Has(JsonElement schema, params string[] keywords)
    {
        foreach (string keyword in keywords) if (schema.TryGetProperty(keyword, out _)) return true;
        return false;
    }

    private int Typed(JsonElement schema, string type, string path) => type switch
    {
        "null" => _b.Literal("null"),
        "boolean" => _b.Choice(_b.Literal("true"), _b.Literal("false")),
        "string" => StringSchema(schema, path),
        "integer" => IntegerSchema(schema, path),
        "number" => NumberSchema(schema, path),
        "array" => ArraySchema(schema, path),
        _ => ObjectSchema(schema, path),
    };

    private int StringSchema(JsonElement schema, string path)
    {
        int min = Count(schema, "minLength", path, 0), max = Count(schema, "maxLength", path, -1);
        if (max >= 0 && max < min) throw new SchemaNotSupportedException("maxLength", path, "maxLength is below minLength");
        bool bounded = min > 0 || max >= 0;
        if (schema.TryGetProperty("pattern", out var pattern))
        {
            if (bounded) throw new SchemaNotSupportedException("pattern", path, "pattern together with minLength/maxLength is not supported");
            if (schema.TryGetProperty("format", out _)) throw new SchemaNotSupportedException("pattern", path, "pattern together with format is not supported");
            return RegexCompiler.CompileString(_json, pattern.GetString() ?? "", path);
        }
        if (schema.TryGetProperty("format", out var format) && StringFormats.TryGetPattern(format.GetString(), out string? regex))
        {
            if (bounded) throw new SchemaNotSupportedException("format", path, "format together with minLength/maxLength is not supported");
            return RegexCompiler.CompileString(_json, regex, path);
        }
        return _json.String(min, max);
    }

    private int IntegerSchema(JsonElement schema, string path)
    {
        long? low = null, high = null;
        if (TryNumber(schema, "minimum", path, out double v)) low = (long)Math.Ceiling(v);
        if (TryNumber(schema, "exclusiveMinimum", path, out v)) low = Math.Max(low ?? long.MinValue, (long)Math.Floor(v) + 1);
        if (TryNumber(schema, "maximum", path, out v)) high = (long)Math.Floor(v);
        if (TryNumber(schema, "exclusiveMaximum", path, out v)) high = Math.Min(high ?? long.MaxValue, (long)Math.Ceiling(v) - 1);
        if (low > high) throw new SchemaNotSupportedException("minimum", path, "no integer lies between minimum and maximum");
        return IntegerRangeGrammar.Build(_b, low, high, _options.MaxIntegerDigits);
    }

    private int NumberSchema(JsonElement schema, string path)
    {
        bool hasMin = TryNumber(schema, "minimum", path, out double min);
        bool hasExMin = TryNumber(schema, "exclusiveMinimum", path, out double exMin);
        bool hasMax = TryNumber(schema, "maximum", path, out double max);
        bool hasExMax = TryNumber(schema, "exclusiveMaximum", path, out double exMax);
        if (!hasMin && !hasExMin && !hasMax && !hasExMax) return _json.Number;
        double limit = Math.Pow(10, _options.MaxIntegerDigits) - 1;
        var lower = new IntegerRangeGrammar.Bound(0, false, -limit);
        if (hasMin) lower = new(0, false, min);
        if (hasExMin && (!hasMin || exMin >= min)) lower = new(0, true, exMin);
        var upper = new IntegerRangeGrammar.Bound(0, false, limit);
        if (hasMax) upper = new(0, false, max);
        if (hasExMax && (!hasMax || exMax <= max)) upper = new(0, true, exMax);
        if (lower.Original > upper.Original || (lower.Original == upper.Original && (lower.Exclusive || upper.Exclusive)))
            throw new SchemaNotSupportedException("minimum", path, "no number lies between the lower and upper bound");
        return IntegerRangeGrammar.BuildNumber(_json, lower, upper, _options.MaxIntegerDigits);
    }

    private int ArraySchema(JsonElement schema, string path)
    {
        int min = Count(schema, "minItems", path, 0), max = Count(schema, "maxItems", path, -1);
        if (max >= 0 && max < min) throw new SchemaNotSupportedException("maxItems", path, "maxItems is below minItems");
        if (max > 1000 || min > 1000) throw new SchemaNotSupportedException("maxItems", path, "item counts above 1000 are not supported");
        if (schema.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.False)
        {
            if (min > 0) throw new SchemaNotSupportedException("items", path, "items false with minItems > 0 admits no value");
            return _json.Array(_json.Value, 0, 0);
        }
        int item = items.ValueKind == JsonValueKind.Undefined ? _json.Value : Schema(items, path + "/items");
        return _json.Array(item, min, max);
    }

    private int ObjectSchema(JsonElement schema, string path) => ObjectGrammar.Build(this, _json, schema, path);

    /// <summary>Compiles a subschema (for <see cref="ObjectGrammar"/>).</summary>
    internal int Subschema(JsonElement schema, string path) => Schema(schema, path);

    private static int Count(JsonElement schema, string keyword, string path, int absent)
    {
        if (!schema.TryGetProperty(keyword, out var value)) return absent;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int count) || count < 0)
            throw new SchemaNotSupportedException(keyword, path, $"{keyword} must be a non-negative integer");
        return count;
    }

    private static bool TryNumber(JsonElement schema, string keyword, string path, out double value)
    {
        value = 0;
        if (!schema.TryGetProperty(keyword, out var element)) return false;
        if (element.ValueKind != JsonValueKind.Number)
            throw new SchemaNotSupportedException(keyword, path, $"{keyword} must be a number (draft-4 boolean exclusive bounds are not supported)");
        // Clamped so casting to long cannot overflow; the digit limit bounds the grammar well inside this anyway.
        value = Math.Clamp(element.GetDouble(), -1e18, 1e18);
        return true;
    }
}
