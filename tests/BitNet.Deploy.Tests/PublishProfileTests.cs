using System.Xml.Linq;

namespace BitNet.Deploy.Tests;

/// <summary>Publish profiles: one per target, self-contained single file with ReadyToRun and trimming off.</summary>
public sealed class PublishProfileTests
{
    [Theory]
    [InlineData("linux-x64")]
    [InlineData("linux-arm64")]
    [InlineData("win-x64")]
    [InlineData("osx-arm64")]
    public void Profile_is_self_contained_single_file_ready_to_run_untrimmed(string rid)
    {
        string path = $"src/BitNet.Server/Properties/PublishProfiles/{rid}.pubxml";
        var doc = XDocument.Parse(TestPaths.ReadText(path));
        var properties = doc.Root!.Elements("PropertyGroup").SelectMany(g => g.Elements())
            .GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.Last().Value.Trim());
        Assert.Equal(rid, properties["RuntimeIdentifier"]);
        Assert.Equal("true", properties["SelfContained"]);
        Assert.Equal("true", properties["PublishSingleFile"]);
        Assert.Equal("true", properties["PublishReadyToRun"]);
        Assert.Equal("false", properties["PublishTrimmed"]);
        Assert.Equal("Release", properties["Configuration"]);
        Assert.Equal($"bin/publish/{rid}/", properties["PublishDir"]);
        // The reason trimming is off must stay next to the setting.
        Assert.Contains(doc.Root.DescendantNodes().OfType<XComment>(), c => c.Value.Contains("reflection", StringComparison.Ordinal));
    }
}
