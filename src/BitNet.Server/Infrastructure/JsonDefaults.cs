using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Infrastructure;

public static class JsonDefaults
{
    /// <summary>Response serialization: explicit property names on the contracts, nulls written (clients expect the keys).</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Request parsing limits: deep nesting is refused instead of recursing without bound.</summary>
    public static readonly JsonDocumentOptions Document = new() { MaxDepth = 64, AllowTrailingCommas = false };
}
