using System.Text.Json;
using BitNet.Server.Contracts;
using BitNet.Server.Infrastructure;

namespace BitNet.Server.Endpoints;

/// <summary>Reads a JSON request body within the configured size limit; malformed JSON and invalid UTF-8 are a 400.</summary>
public static class BodyReader
{
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength is > 0 and var len && len > maxBytes)
            throw new ApiException(413, "invalid_request_error", $"the request body is {len} bytes; the limit is {maxBytes}", null, "request_too_large");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                throw new ApiException(413, "invalid_request_error", $"the request body exceeds the limit of {maxBytes} bytes", null, "request_too_large");
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw ApiException.BadRequest("the request body is empty; send a JSON object");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), JsonDefaults.Document);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}");
        }
        try
        {
            RequireValidStrings(doc.RootElement, "$");
        }
        catch
        {
            doc.Dispose();
            throw;
        }
        return doc;
    }

    /// <summary>
    /// JSON escapes can spell text that is not valid Unicode (a lone surrogate such as \ud800), which the JSON reader
    /// accepts but cannot turn into a string later; refuse it here, naming where it is, instead of failing deep inside.
    /// </summary>
    private static void RequireValidStrings(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                try { _ = e.GetString(); }
                catch (InvalidOperationException) { throw ApiException.BadRequest($"'{path}' contains text that is not valid Unicode", path); }
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray()) RequireValidStrings(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.Object:
                foreach (var property in e.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException) { throw ApiException.BadRequest($"a property name in '{path}' is not valid Unicode", path); }
                    RequireValidStrings(property.Value, path == "$" ? name : $"{path}.{name}");
                }
                break;
        }
    }
}
