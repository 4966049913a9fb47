using System.Text.Json;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet generate --json` / `--schema FILE`: the continuation is a value of the grammar, through the decoding path the server uses.</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class GenerateJsonTests
{
    private const string Schema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":1,"maximum":99}},
         "required":["name","age"],"additionalProperties":false}
        """;

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    [InlineData("3")]
    public void Schema_output_is_a_complete_valid_value(string seed)
    {
        string file = Path.Combine(Path.GetTempPath(), $"bitnet-schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, Schema);
        try
        {
            var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", "A person:", "-n", "40", "--temp", "1",
                "--seed", seed, "--schema", file, "--no-display-prompt");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("stop: value complete", result.Error);
            var value = JsonDocument.Parse(result.Out).RootElement;
            Assert.Equal(["name", "age"], value.EnumerateObject().Select(p => p.Name));
            Assert.True(value.GetProperty("name").GetString()!.Length <= 8);
            Assert.InRange(value.GetProperty("age").GetInt32(), 1, 99);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Json_output_is_an_object()
    {
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", "Once upon a time", "-n", "16", "--temp", "0.8",
            "--seed", "5", "--json", "--no-display-prompt");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(result.Out).RootElement.ValueKind);
    }

    [Theory]
    [InlineData("--json", "--schema", "mutually exclusive")]
    [InlineData("--schema", "/nonexistent/schema.json", "--schema /nonexistent/schema.json")]
    public void Bad_grammar_flags_are_one_line_errors(string a, string b, string expected)
    {
        string[] args = a == "--json" ? ["--json", "--schema", "x.json"] : [a, b];
        var result = CliHost.Run(["generate", "--model", CliHost.StoriesModel, "--prompt", "x", .. args]);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(expected, result.Error);
    }

    [Fact]
    public void An_unsupported_schema_keyword_is_named()
    {
        string file = Path.Combine(Path.GetTempPath(), $"bitnet-schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"type":"array","uniqueItems":true}""");
        try
        {
            var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", "x", "--schema", file);
            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains("uniqueItems", result.Error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
