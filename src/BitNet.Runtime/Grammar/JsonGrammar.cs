using System.Text;
using System.Text.Json;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// A compiled grammar for JSON text: free JSON (<see cref="AnyJsonObject"/>, <see cref="AnyJsonValue"/>) or the
/// values a JSON Schema accepts (<see cref="FromSchema(JsonElement, GrammarOptions?)"/>). Immutable and thread-safe;
/// compile once per request (or cache per schema) and call <see cref="Start"/> for each sequence to constrain.
/// </summary>
/// <example>
/// <code>
/// var vocabulary = TokenVocabulary.For(tokenizer);          // once per model, cached
/// var grammar = JsonGrammar.FromSchema(schemaElement);       // throws SchemaNotSupportedException (-> 400)
/// var constraint = grammar.Start(vocabulary);
/// var mask = new ulong[vocabulary.MaskLength];
/// while (!constraint.IsFinished)
/// {
///     constraint.ComputeMask(mask, remainingTokens: maxTokens - generated);
///     TokenMask.Apply(logits, mask);                         // disallowed logits -> -inf, then sample as usual
///     int token = Sample(logits);
///     constraint.Accept(token);                              // end-of-generation is accepted once complete
/// }
/// </code>
/// </example>
public sealed partial class JsonGrammar
{
    private JsonGrammar(CompiledGrammar compiled) => Compiled = compiled;

    internal CompiledGrammar Compiled { get; }

    /// <summary>Any JSON object at the top level (OpenAI <c>response_format: json_object</c>).</summary>
    public static JsonGrammar AnyJsonObject(GrammarOptions? options = null) =>
        Build(options, json => json.Object(json.FreeString, json.Value));

    /// <summary>Any JSON value.</summary>
    public static JsonGrammar AnyJsonValue(GrammarOptions? options = null) => Build(options, json => json.Value);

    /// <summary>
    /// The values <paramref name="schema"/> accepts, as compact-or-lightly-spaced JSON text. Supported:
    /// <c>type</c> (a name or an array, e.g. <c>["string","null"]</c>); objects with <c>properties</c> (written in
    /// declared order), <c>required</c>, <c>additionalProperties</c> false / true / absent / a schema; arrays with
    /// <c>items</c>, <c>minItems</c>, <c>maxItems</c>; strings with <c>minLength</c>, <c>maxLength</c>,
    /// <c>pattern</c>, <c>format</c> (date, time, date-time, email, uuid, uri, hostname, ipv4 enforced; others plain strings); numbers and
    /// integers with <c>minimum</c>, <c>maximum</c>, <c>exclusiveMinimum</c>, <c>exclusiveMaximum</c>; boolean, null;
    /// <c>enum</c> and <c>const</c> of any JSON value; <c>anyOf</c>; <c>oneOf</c> when its branches cannot overlap;
    /// <c>allOf</c> with one subschema; <c>$ref</c> to <c>#/$defs/...</c>, <c>#/definitions/...</c> or any pointer in
    /// the document, recursion included. Annotations and unknown keywords are ignored.
    /// </summary>
    /// <exception cref="SchemaNotSupportedException">A keyword cannot be enforced (<c>patternProperties</c>,
    /// <c>if</c>/<c>then</c>/<c>else</c>, <c>not</c>, <c>uniqueItems: true</c>, <c>multipleOf</c>, ...) or the
    /// schema admits no value; the message names the keyword and its path.</exception>
    public static JsonGrammar FromSchema(JsonElement schema, GrammarOptions? options = null) =>
        Build(options, json => SchemaCompiler.Compile(json, options ?? GrammarOptions.Default, schema));

    /// <summary><see cref="FromSchema(JsonElement, GrammarOptions?)"/> from schema text.</summary>
    public static JsonGrammar FromSchema(string schemaJson, GrammarOptions? options = null)
    {
        using var document = JsonDocument.Parse(schemaJson);
        return FromSchema(document.RootElement, options);
    }

    /// <summary>
    /// A tool call as one JSON object <c>{"name": "&lt;tool&gt;", "arguments": {...}}</c> (keys in that order), the
    /// name one of <paramref name="tools"/> and the arguments valid under that tool's parameter schema (each schema's
    /// <c>$ref</c>s resolve within itself). With <paramref name="parallel"/> the value is a non-empty array of such
    /// objects. For tool_choice "required" or a named function pass the tools the model may call.
    /// </summary>
    /// <exception cref="SchemaNotSupportedException">A parameter schema uses an unsupported keyword.</exception>
    public static JsonGrammar ForToolCalls(IReadOnlyList<ToolSchema> tools, bool parallel = false, GrammarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        if (tools.Count == 0) throw new ArgumentException("at least one tool is needed", nameof(tools));
        var effective = options ?? GrammarOptions.Default;
        return Build(options, json =>
        {
            int call = ToolCallObject(json, effective, tools);
            return parallel ? json.Array(call, 1, -1) : call;
        });
    }

    private static JsonGrammar Build(GrammarOptions? options, Func<JsonSyntax, int> value)
    {
        options ??= GrammarOptions.Default;
        options.Validate();
        var builder = new GrammarBuilder();
        var json = new JsonSyntax(builder, options);
        // Leading whitespace is allowed (SentencePiece pieces usually start with a space); trailing is not, so the
        // end of the value is the end of the output and end-of-generation can be forced there.
        int root = builder.Sequence(json.Whitespace, value(json));
        return new JsonGrammar(builder.Build(root));
    }

    /// <summary>A constraint for one sequence, at the start of the value.</summary>
    public GrammarConstraint Start(TokenVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new GrammarConstraint(this, vocabulary);
    }

    /// <summary>Whether <paramref name="text"/> (as UTF-8) is a complete value of this grammar.</summary>
    public bool Matches(string text)
    {
        var machine = new StackSetMachine(Compiled);
        int state = machine.Run(machine.Initial, Encoding.UTF8.GetBytes(text));
        return state != StackSetMachine.Dead && machine.IsAccepting(state);
    }

    /// <summary>Whether <paramref name="utf8"/> can be continued into a complete value (a complete value counts).</summary>
    public bool IsPrefix(ReadOnlySpan<byte> utf8)
    {
        var machine = new StackSetMachine(Compiled);
        return machine.Run(machine.Initial, utf8) != StackSetMachine.Dead;
    }

    /// <summary>Fewest bytes of any complete value (e.g. 2 for <c>{}</c>).</summary>
    public int MinimumLength
    {
        get
        {
            var machine = new StackSetMachine(Compiled);
            return machine.MinBytesToComplete(machine.Initial);
        }
    }
}

/// <summary>A callable tool for <see cref="JsonGrammar.ForToolCalls"/>: its name and its JSON Schema for the arguments.</summary>
public sealed record ToolSchema(string Name, JsonElement Parameters);
