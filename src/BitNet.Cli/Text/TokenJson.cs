using System.Buffers;
using System.Text;
using System.Text.Json;

namespace BitNet.Cli.Text;

/// <summary>The <c>{"tokens":[...]}</c> line that `tokenize` and `generate --tokens` print.</summary>
internal static class TokenJson
{
    /// <summary>Writes <c>{"tokens":[1,2,3]}</c> and a newline.</summary>
    public static void WriteLine(TextWriter output, IReadOnlyList<int> tokens)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("tokens");
            foreach (int token in tokens) json.WriteNumberValue(token);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
