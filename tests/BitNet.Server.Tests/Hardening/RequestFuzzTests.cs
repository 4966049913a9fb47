using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace BitNet.Server.Tests.Hardening;

/// <summary>
/// Thousands of generated malformed requests against the chat and completions endpoints: every answer is either a
/// success or a 4xx in OpenAI's error shape, never a 5xx, and the server stays healthy.
/// </summary>
public sealed class RequestFuzzTests(HardeningServer server, ITestOutputHelper output) : IClassFixture<HardeningServer>
{
    private static readonly string[] Fields =
    [
        "model", "messages", "prompt", "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "n",
        "stop", "seed", "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias", "logprobs",
        "top_logprobs", "stream", "stream_options", "response_format", "timeout", "user", "tools",
    ];

    private static readonly string[] BadValues =
    [
        "null", "true", "false", "\"\"", "\"text\"", "-1", "0", "1", "2.5", "-2.5", "1e308", "-1e308", "1e400", "-1e400",
        "9223372036854775808", "-9223372036854775809", "4294967296", "2147483648", "\"NaN\"", "\"Infinity\"", "[]", "{}",
        "[1,2,3]", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "{\"a\":1}", "[null]", "[[[]]]", "0.0000001", "100", "1000000000",
        "\"\\u0000\"", "\"\\ud800\"", "{\"type\":\"json_object\"}", "{\"type\":\"json_schema\",\"json_schema\":{}}",
        "{\"include_usage\":\"yes\"}", "{\"999999999\":1}", "{\"1\":1000}", "{\"-5\":1}", "{\"abc\":1}", "{\"1\":\"x\"}",
        "[{\"role\":\"user\"}]", "[{\"role\":\"wizard\",\"content\":\"x\"}]", "[{\"content\":\"x\"}]",
        "[{\"role\":\"user\",\"content\":5}]", "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]",
        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":7}]}]", "[{\"role\":\"user\",\"content\":[5]}]",
        "[{\"role\":\"tool\",\"content\":\"x\"}]", "[1,2]", "\"" + new string('x', 5000) + "\"",
    ];

    [Fact]
    public async Task MalformedRequestsGetPreciseClientErrorsAndNeverCrash()
    {
        var rng = new Random(20261125);
        var cases = new List<(string Path, HttpContent Content, string Label)>();
        foreach (var path in new[] { "/v1/chat/completions", "/v1/completions" })
        {
            // One bad value in one field of an otherwise valid request: every pair.
            foreach (var field in Fields)
                foreach (var value in BadValues)
                    cases.Add((path, Json(Mutate(path, field, value)), $"{field}={Short(value)}"));
            // Two fields at once, at random.
            for (int i = 0; i < 200; i++)
            {
                var body = Base(path);
                for (int j = 0; j < 2; j++) body = body.Replace("}", $",\"{Fields[rng.Next(Fields.Length)]}\":{BadValues[rng.Next(BadValues.Length)]}}}");
                cases.Add((path, Json(body), "pair"));
            }
            // Broken JSON: truncations, random bytes, invalid UTF-8, deep nesting, wrong top-level types.
            var valid = Encoding.UTF8.GetBytes(Base(path));
            for (int cut = 0; cut < valid.Length; cut += 3) cases.Add((path, Bytes(valid[..cut]), $"truncated at {cut}"));
            for (int i = 0; i < 60; i++)
            {
                var garbage = new byte[rng.Next(1, 200)];
                rng.NextBytes(garbage);
                cases.Add((path, Bytes(garbage), "random bytes"));
                var flipped = (byte[])valid.Clone();
                flipped[rng.Next(flipped.Length)] = (byte)rng.Next(256);
                cases.Add((path, Bytes(flipped), "flipped byte"));
            }
            var invalidUtf8 = Encoding.UTF8.GetBytes(Base(path).Replace("Hi", "\u0001\u0001")).ToArray();
            for (int i = 0; i < invalidUtf8.Length; i++) if (invalidUtf8[i] == 1) invalidUtf8[i] = 0xC3;
            cases.Add((path, Bytes(invalidUtf8), "invalid UTF-8 in a string"));
            cases.Add((path, Json(new string('[', 100_000) + new string(']', 100_000)), "deep array nesting"));
            cases.Add((path, Json(string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000)), "deep object nesting"));
            foreach (var top in new[] { "[]", "1", "\"x\"", "null", "true", "" }) cases.Add((path, Json(top), $"top-level {top}"));
            cases.Add((path, Json(Base(path).Replace("}", ",\"big\":\"" + new string('x', 2 << 20) + "\"}")), "2 MB body"));
            cases.Add((path, new StringContent(Base(path), Encoding.UTF8, "text/plain"), "text/plain content type"));
        }
        // Chat histories past the message limit, and huge counts.
        var many = new JsonArray();
        for (int i = 0; i < 10_000; i++) many.Add(new JsonObject { ["role"] = i % 2 == 0 ? "user" : "assistant", ["content"] = "hi" });
        cases.Add(("/v1/chat/completions", Json(new JsonObject { ["messages"] = many, ["max_tokens"] = 1 }.ToJsonString()), "10,000 messages"));
        var bias = new JsonObject();
        for (int i = 0; i < 100_000; i++) bias[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 1;
        cases.Add(("/v1/chat/completions", Json(Mutate("/v1/chat/completions", "logit_bias", bias.ToJsonString())), "100,000 logit_bias entries"));
        foreach (var (field, value) in new[] { ("n", "100000"), ("max_tokens", "1000000000"), ("top_logprobs", "1000"), ("max_completion_tokens", "99999999") })
            cases.Add(("/v1/chat/completions", Json(Mutate("/v1/chat/completions", field, value)), $"huge {field}"));

        Assert.True(cases.Count >= 2000, $"only {cases.Count} cases");
        int ok = 0, clientErrors = 0;
        var statuses = new Dictionary<int, int>();
        foreach (var (path, content, label) in cases)
        {
            using var response = await server.Client.PostAsync(path, content);
            int status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(status < 500, $"{path} [{label}] -> {status}: {body[..Math.Min(300, body.Length)]}");
            if (status >= 400)
            {
                clientErrors++;
                using var doc = JsonDocument.Parse(body);
                var error = doc.RootElement.GetProperty("error");
                Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
                Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
                Assert.True(error.GetProperty("code").ValueKind is JsonValueKind.String or JsonValueKind.Null);
                Assert.DoesNotContain("   at ", body); // never a stack trace
            }
            else ok++;
        }
        output.WriteLine($"{cases.Count} requests: {ok} accepted, {clientErrors} refused; statuses {string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key} x{p.Value}"))}");
        Assert.True(clientErrors > cases.Count / 2, "most mutations are invalid and must be refused");

        using var health = await server.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var normal = await server.Client.PostAsync("/v1/chat/completions", Json(Base("/v1/chat/completions")));
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
    }

    private static string Base(string path) => path.Contains("chat", StringComparison.Ordinal)
        ? "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}"
        : "{\"prompt\":\"Hi\",\"max_tokens\":1}";

    private static string Mutate(string path, string field, string value)
    {
        var node = JsonNode.Parse(Base(path))!.AsObject();
        node.Remove(field);
        string json = node.ToJsonString();
        return json[..^1] + (node.Count > 0 ? "," : "") + $"\"{field}\":{value}}}";
    }

    private static string Short(string s) => s.Length > 30 ? s[..30] + "..." : s;

    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static HttpContent Bytes(byte[] b)
    {
        var c = new ByteArrayContent(b);
        c.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return c;
    }
}
