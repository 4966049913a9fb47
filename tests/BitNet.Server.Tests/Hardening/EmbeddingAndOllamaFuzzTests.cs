using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace BitNet.Server.Tests.Hardening;

/// <summary>
/// Generated malformed requests against /v1/embeddings and the Ollama endpoints: every answer is a success or a 4xx in
/// the endpoint's error shape (OpenAI's object on /v1, Ollama's string on /api), never a 5xx or a stack trace.
/// </summary>
public sealed class EmbeddingAndOllamaFuzzTests(HardeningServer server, ITestOutputHelper output) : IClassFixture<HardeningServer>
{
    private static readonly string[] BadValues =
    [
        "null", "true", "\"\"", "\"text\"", "-1", "0", "1", "2.5", "1e308", "-1e400", "9223372036854775808", "\"NaN\"", "[]",
        "{}", "[1,2,3]", "[\"a\",\"b\"]", "{\"a\":1}", "[null]", "[[[]]]", "[[1,2],[3]]", "[[-1]]", "[99999999]", "\"\\u0000\"",
        "\"\\ud800\"", "{\"type\":\"object\",\"not\":{}}", "{\"temperature\":\"x\"}", "{\"num_predict\":-3}", "{\"stop\":5}",
        "{\"num_ctx\":0}", "{\"seed\":1.5}", "[{\"role\":\"user\"}]", "[{\"role\":\"wizard\",\"content\":\"x\"}]", "[{\"content\":5}]",
        "[{\"role\":\"user\",\"content\":\"x\",\"images\":[\"aGk=\"]}]", "\"json\"", "\"5m\"", "\"" + new string('x', 3000) + "\"",
    ];

    private string Base(string path) => path switch
    {
        "/v1/embeddings" => "{\"input\":\"Hi\"}",
        "/api/chat" => $"{{\"model\":\"{server.ModelId}\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hi\"}}],\"options\":{{\"num_predict\":1}}}}",
        "/api/generate" => $"{{\"model\":\"{server.ModelId}\",\"prompt\":\"Hi\",\"options\":{{\"num_predict\":1}}}}",
        "/api/embed" => $"{{\"model\":\"{server.ModelId}\",\"input\":\"Hi\"}}",
        _ => $"{{\"model\":\"{server.ModelId}\"}}",
    };

    private static readonly string[] Fields =
    [
        "model", "name", "input", "prompt", "messages", "options", "format", "stream", "keep_alive", "raw", "system", "think",
        "tools", "truncate", "dimensions", "encoding_format", "suffix", "context", "images", "template",
    ];

    [Fact]
    public async Task MalformedRequestsGetClientErrorsInTheEndpointsShape()
    {
        string[] paths = ["/v1/embeddings", "/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api/show", "/api/pull"];
        var cases = new List<(string Path, string Body, string Label)>();
        foreach (var path in paths)
        {
            foreach (var field in Fields)
                foreach (var value in BadValues)
                    cases.Add((path, Mutate(Base(path), field, value), $"{field}={(value.Length > 30 ? value[..30] : value)}"));
            string valid = Base(path);
            for (int cut = 0; cut < valid.Length; cut += 5) cases.Add((path, valid[..cut], $"truncated at {cut}"));
            foreach (var top in new[] { "[]", "1", "\"x\"", "null" }) cases.Add((path, top, $"top-level {top}"));
        }
        var statuses = new Dictionary<int, int>();
        foreach (var (path, body, label) in cases)
        {
            using var response = await server.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"{path} [{label}] -> {status}: {text[..Math.Min(300, text.Length)]}");
            Assert.DoesNotContain("   at ", text);
            if (status < 400) continue;
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            if (path.StartsWith("/api", StringComparison.Ordinal)) Assert.Equal(JsonValueKind.String, error.ValueKind);
            else Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        }
        output.WriteLine($"{cases.Count} requests; statuses {string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key} x{p.Value}"))}");
        using var health = await server.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static string Mutate(string json, string field, string value)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node.Remove(field);
        string rest = node.ToJsonString();
        return rest[..^1] + (node.Count > 0 ? "," : "") + $"\"{field}\":{value}}}";
    }
}
