using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Infrastructure;

public static class JsonDefaults
{
    /// <summary>
    /// Response serialization: explicit property names on the contracts, nulls written (clients expect the keys), the
    /// source-generated metadata of <see cref="Contracts.ServerJsonContext"/> (no reflection on the hot path).
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        TypeInfoResolver = Contracts.ServerJsonContext.Default,
    };

    /// <summary>Request parsing limits: deep nesting is refused instead of recursing without bound.</summary>
    public static readonly JsonDocumentOptions Document = new() { MaxDepth = 64, AllowTrailingCommas = false };
}
