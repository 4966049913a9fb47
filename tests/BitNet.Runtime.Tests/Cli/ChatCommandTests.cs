namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet chat` end to end with stdin redirected, as scripts use it.</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class ChatCommandTests
{
    [Fact]
    public void PipedTwoTurns_AnswersTwice_ReusingTheCache()
    {
        var result = CliHost.RunWithInput("Hi, who are you?\nTell me about your dog.\n",
            "chat", "--model", CliHost.StoriesModel, "-n", "12", "--temp", "0", "-t", "2");

        Assert.True(result.ExitCode == 0, result.ToString());
        var stats = result.Error.Split('\n').Where(l => l.StartsWith("[prompt ")).ToArray();
        Assert.Equal(2, stats.Length);
        Assert.Contains("(0 cached", stats[0]);
        Assert.DoesNotContain("(0 cached", stats[1]);
        Assert.False(string.IsNullOrWhiteSpace(result.Out));
    }

    [Fact]
    public void PipedTurns_AreSeparated_EachMessageBeforeItsAnswer()
    {
        var result = CliHost.RunWithInput("Hi, who are you?\nTell me about your dog.\n",
            "chat", "--model", CliHost.StoriesModel, "-n", "12", "--temp", "0", "-t", "2");

        Assert.True(result.ExitCode == 0, result.ToString());
        var turns = result.Out.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, turns.Length);
        Assert.StartsWith("> Hi, who are you?\n", turns[0]);
        Assert.StartsWith("> Tell me about your dog.\n", turns[1]);
        Assert.All(turns, t => Assert.True(t.Split('\n', 2)[1].Trim().Length > 0, $"no answer in: {t}"));
    }

    [Fact]
    public void UnknownChatFormat_ListsTheValidNames()
    {
        var result = CliHost.RunWithInput("", "chat", "--model", CliHost.StoriesModel, "--chat-format", "nope");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: --chat-format: unknown chat format 'nope'", result.Error);
        Assert.Contains("chatml", result.Error);
        Assert.DoesNotContain("Parameter", result.Error);
    }

    [Fact]
    public void NamedChatFormat_IsUsed()
    {
        // chatml's stop string <|im_end|> is not a token of this vocabulary, so it stops as text; the answer still comes.
        var result = CliHost.RunWithInput("Hi\n", "chat", "--model", CliHost.StoriesModel, "--chat-format", "chatml",
            "-n", "8", "--temp", "0", "--system", "Be brief.");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(result.Error.Split('\n'), l => l.StartsWith("[prompt "));
    }
}
