using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace BitNet.Extensions.AI.Tests;

/// <summary>
/// The library as a consumer gets it: `dotnet pack` of this build's outputs, then a new console app outside the
/// repository that references the .nupkg from a local feed, builds, loads the bundled model and chats.
/// </summary>
public sealed class PackageConsumerTests
{
    private const string ConsumerProgram = """
        using BitNet.Extensions.AI;
        using Microsoft.Extensions.AI;

        using var bitnet = BitNetModelHost.Load(args[0], new BitNetModelHostOptions { Threads = 2 });
        IChatClient chat = bitnet.ChatClient;
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 24 };
        var answer = await chat.GetResponseAsync("Tell me a story about a dragon.", options);
        var streamed = "";
        await foreach (var update in chat.GetStreamingResponseAsync("Tell me a story about a dragon.", options)) streamed += update.Text;
        Console.WriteLine($"tokens={answer.Usage!.OutputTokenCount} finish={answer.FinishReason} same={streamed == answer.Text}");
        Console.WriteLine($"text={answer.Text.ReplaceLineEndings(" ")}");
        """;

    [Fact]
    public void Packed_library_installs_and_chats_in_a_new_app()
    {
        string work = Directory.CreateTempSubdirectory("bitnet-package-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            string project = Path.Combine(TestModel.RepoRoot, "src", "BitNet.Extensions.AI", "BitNet.Extensions.AI.csproj");
            Run($"pack \"{project}\" -c {TestModel.Configuration} --no-build -o \"{feed}\"", TestModel.RepoRoot);
            string package = Assert.Single(Directory.GetFiles(feed, "BitNet.Extensions.AI.*.nupkg"));
            string version = AssertPackageContents(package);

            string app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            string globalCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            // Only the local feed as a source; everything else comes from the machine's package cache as a read-only
            // fallback, and our package is extracted into a private folder, so no run sees another run's copy.
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <configuration>
                  <config><add key="globalPackagesFolder" value="{Path.Combine(work, "packages")}" /></config>
                  <packageSources><clear /><add key="local" value="{feed}" /></packageSources>
                  <fallbackPackageFolders><clear /><add key="machine" value="{globalCache}" /></fallbackPackageFolders>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup><PackageReference Include="BitNet.Extensions.AI" Version="{version}" /></ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);
            Run("build -c Release --disable-build-servers -nodeReuse:false", app);

            string output = Run($"\"{Path.Combine(app, "bin", "Release", "net10.0", "Consumer.dll")}\" \"{TestModel.BundledModelPath}\"", app);
            Assert.Matches(@"tokens=\d+ finish=(stop|length) same=True", output);
            Assert.Matches(@"text=\S", output);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The parts a consumer relies on: both assemblies, XML docs, readme, license, dependencies. Returns the version.</summary>
    private static string AssertPackageContents(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/BitNet.Extensions.AI.dll", entries);
        Assert.Contains("lib/net10.0/BitNet.Extensions.AI.xml", entries);
        Assert.Contains("lib/net10.0/BitNet.Runtime.dll", entries);
        Assert.Contains("README.md", entries);

        using var nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var nuspec = XDocument.Load(nuspecStream);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("BitNet.Extensions.AI", metadata.Element(ns + "id")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToHashSet();
        Assert.Contains("Microsoft.Extensions.AI.Abstractions", dependencies);
        Assert.Contains("Microsoft.ML.Tokenizers", dependencies);
        Assert.Contains("System.Numerics.Tensors", dependencies);
        Assert.DoesNotContain("BitNet.Runtime", dependencies);       // shipped inside, not a package of its own

        // Every public member documented: the compiler enforces it (CS1591 is an error); here the file is non-trivial.
        using var docs = new StreamReader(zip.GetEntry("lib/net10.0/BitNet.Extensions.AI.xml")!.Open());
        string xml = docs.ReadToEnd();
        Assert.Contains("M:BitNet.Extensions.AI.BitNetChatClient.GetStreamingResponseAsync", xml);
        Assert.Contains("T:BitNet.Extensions.AI.BitNetModelHost", xml);
        return metadata.Element(ns + "version")!.Value;
    }

    private static string Run(string arguments, string directory)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The test host runs under `dotnet test`, whose MSBuild variables would point a nested build at its own SDK state.
        foreach (string key in start.Environment.Keys.ToArray())
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {arguments} did not finish in 5 minutes");
        }
        string output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"dotnet {arguments} exited {process.ExitCode}:\n{output}");
        return output;
    }
}
