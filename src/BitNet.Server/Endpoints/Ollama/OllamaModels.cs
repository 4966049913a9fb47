using System.Security.Cryptography;
using System.Text;
using BitNet.Runtime.Quantization;
using BitNet.Server.Contracts;
using BitNet.Server.Hosting;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// The served model as Ollama clients name and describe it. Ollama names are <c>name:tag</c> with the tag defaulting to
/// <c>latest</c>, so the model whose alias is <c>bitnet-2b4t</c> is listed as <c>bitnet-2b4t:latest</c> and answers to
/// both spellings (case-insensitive); an alias that already has a tag answers to itself. Any other name is Ollama's
/// 404 <c>model "x" not found, try pulling it first</c>.
/// </summary>
public static class OllamaModels
{
    /// <summary>The Ollama API version reported by /api/version: the release whose API (docs/api.md) this follows.</summary>
    public const string ApiVersion = "0.9.0";

    /// <summary>The served model's Ollama name: the alias, with <c>:latest</c> unless it has a tag.</summary>
    public static string Name(ModelHost host) => host.ModelId.Contains(':') ? host.ModelId : host.ModelId + ":latest";

    public static bool Matches(ModelHost host, string requested)
    {
        string name = requested.Trim();
        if (string.Equals(name, host.ModelId, StringComparison.OrdinalIgnoreCase)) return true;
        return string.Equals(name, Name(host), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The request's model must be the served one: 404 in Ollama's words otherwise; a missing name is a 400.</summary>
    public static void Require(ModelHost host, string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested)) throw ApiException.BadRequest("model is required", "model");
        if (!Matches(host, requested))
            throw new ApiException(404, "not_found_error", $"model \"{requested}\" not found, try pulling it first", "model", "model_not_found");
    }

    public static OllamaModelDetails Details(ModelHost host)
    {
        var model = host.Engine!.Model;
        long parameters = 0;
        var byFormat = new Dictionary<string, long>();
        foreach (var t in model.File.Tensors)
        {
            parameters += t.ElementCount;
            // The quantization level is the format that holds most of the weights (the ternary projections).
            string format = t.Format?.Name ?? ((GgmlType)t.TypeId).ToString();
            byFormat[format] = byFormat.GetValueOrDefault(format) + t.ElementCount;
        }
        string quantization = byFormat.Count == 0 ? "" : byFormat.MaxBy(kv => kv.Value).Key.ToUpperInvariant();
        string arch = model.Config.Architecture;
        bool gguf = model.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);
        return new OllamaModelDetails("", gguf ? "gguf" : "safetensors", arch, [arch], ParameterSize(parameters), quantization);
    }

    /// <summary>Ollama's short form: 3.2M, 2.4B.</summary>
    public static string ParameterSize(long n) => n switch
    {
        >= 1_000_000_000 => $"{n / 1e9:0.#}B",
        >= 1_000_000 => $"{n / 1e6:0.#}M",
        >= 1_000 => $"{n / 1e3:0.#}K",
        _ => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// A stable identifier of the served file (its path, size and modification time), in Ollama's sha256 hex form. It is
    /// not a hash of the file's bytes: hashing gigabytes per /api/tags call would cost more than the answer is worth.
    /// </summary>
    public static string Digest(ModelHost host)
    {
        string identity = $"{Path.GetFullPath(host.ModelPath)}|{host.Engine!.Model.File.Length}|{ModifiedAt(host):O}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)));
    }

    public static DateTimeOffset ModifiedAt(ModelHost host)
    {
        var path = host.ModelPath;
        if (File.Exists(path)) return File.GetLastWriteTimeUtc(path);
        if (Directory.Exists(path)) return Directory.GetLastWriteTimeUtc(path);
        return host.LoadedAt;
    }
}
