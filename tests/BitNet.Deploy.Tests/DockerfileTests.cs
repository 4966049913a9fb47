using System.Text.Json;
using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>The Dockerfile's stages, runtime settings and build context (.dockerignore), read without a Docker engine.</summary>
public sealed class DockerfileTests
{
    private static readonly Dockerfile File = Dockerfile.Parse(TestPaths.ReadText("Dockerfile"));
    private static DockerStage Runtime => File.Final;

    [Fact]
    public void Builds_on_the_sdk_and_runs_on_the_aspnet_runtime()
    {
        Assert.Equal(2, File.Stages.Count);
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", File.Stage("build").Image);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", Runtime.Image);
        Assert.Contains(Runtime.All("COPY"), c => c.Arguments.StartsWith("--from=build ", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_stage_publishes_the_server_and_the_cli_and_checks_the_bundled_model()
    {
        string run = string.Join("\n", File.Stage("build").All("RUN").Select(r => r.Arguments));
        Assert.Contains("dotnet publish src/BitNet.Server/BitNet.Server.csproj", run);
        Assert.Contains("dotnet publish src/BitNet.Cli/BitNet.Cli.csproj", run);
        Assert.Contains("-o /app/cli", run);
        Assert.Contains($"test -f /app/{ServerFacts.BundledModel}", run);
        // The csproj is what copies the model into the publish output; the check above fails the build if it stops.
        string csproj = TestPaths.ReadText("src/BitNet.Server/BitNet.Server.csproj");
        Assert.Contains("stories3m-b158-i2_s.gguf\" Link=\"models\\stories3m-b158-i2_s.gguf\"", csproj);
        Assert.Contains("CopyToPublishDirectory", csproj);
    }

    [Fact]
    public void Runtime_runs_as_the_non_root_app_user()
    {
        var user = Runtime.All("USER").Select(u => u.Arguments).LastOrDefault();
        Assert.True(user is "$APP_UID" or "${APP_UID}" or "app" or "1654", $"final USER is '{user ?? "(none: root)"}'");
        // USER must come after the root-only setup (mkdir/chown) and before the entry point.
        int userIndex = Runtime.Instructions.ToList().FindLastIndex(i => i.Keyword == "USER");
        Assert.True(Runtime.Instructions.Skip(userIndex).All(i => i.Keyword != "RUN"), "RUN after USER would run as the app user unexpectedly");
    }

    [Fact]
    public void Runtime_exposes_8080_with_a_health_check_on_health()
    {
        Assert.Contains(Runtime.All("EXPOSE"), e => e.Arguments.Split(' ').Contains(ServerFacts.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var healthcheck = Assert.Single(Runtime.All("HEALTHCHECK"));
        Assert.Contains("CMD [\"/app/healthcheck.sh\"]", healthcheck.Arguments);
        Assert.Contains("--start-period=", healthcheck.Arguments);

        // The probe script is copied from the repository and asks for /health, succeeding on 200 only.
        Assert.Contains(Runtime.All("COPY"), c => c.Arguments.EndsWith("deploy/docker/healthcheck.sh /app/healthcheck.sh", StringComparison.Ordinal));
        string script = TestPaths.ReadText("deploy/docker/healthcheck.sh");
        Assert.StartsWith("#!/usr/bin/env bash", script);
        Assert.Contains("GET /health HTTP/1.1", script);
        Assert.Contains("\" 200 \"", script);
        Assert.Contains("/dev/tcp/127.0.0.1/${port}", script);
    }

    [Fact]
    public void Settings_come_from_the_environment_and_listen_on_all_interfaces()
    {
        var env = Runtime.Environment;
        string listen = $"http://0.0.0.0:{ServerFacts.ContainerPort}";
        Assert.Equal(listen, env["ASPNETCORE_URLS"]);
        // appsettings.json's "Urls" outranks ASPNETCORE_URLS; only the unprefixed URLS variable overrides it.
        using var settings = JsonDocument.Parse(TestPaths.ReadText("appsettings.json"));
        if (settings.RootElement.TryGetProperty("Urls", out _)) Assert.Equal(listen, env["URLS"]);
        Assert.Equal("/models-cache", env["BITNET_CACHE"]);
        Assert.Contains(Runtime.All("VOLUME"), v => v.Arguments.Contains("/models-cache", StringComparison.Ordinal));
        Assert.Contains(env.Keys, k => k.StartsWith("BitNet__", StringComparison.Ordinal));
        foreach (var key in env.Keys) ServerFacts.AssertKnownOption(key, "Dockerfile ENV");
        Assert.Equal("", env["BitNet__Model"]); // the bundled model: the default container serves offline
    }

    [Fact]
    public void Cache_directory_is_created_for_the_app_user_before_it_becomes_a_volume()
    {
        var list = Runtime.Instructions.ToList();
        int chown = list.FindIndex(i => i.Keyword == "RUN" && i.Arguments.Contains("chown", StringComparison.Ordinal) && i.Arguments.Contains("/models-cache", StringComparison.Ordinal));
        int volume = list.FindIndex(i => i.Keyword == "VOLUME");
        Assert.True(chown >= 0 && chown < volume, "mkdir + chown /models-cache must precede VOLUME, or a new volume is root-owned");
    }

    [Fact]
    public void Entry_point_starts_the_server()
    {
        var entry = Assert.Single(Runtime.All("ENTRYPOINT"));
        Assert.Contains("BitNet.Server", entry.Arguments);
    }

    [Fact]
    public void Build_context_keeps_sources_and_the_bundled_model_and_drops_outputs_and_other_models()
    {
        var ignore = DockerIgnore.Parse(TestPaths.ReadText(".dockerignore"));
        foreach (var kept in new[]
                 {
                     ServerFacts.BundledModel, "models/NOTICE.md", "appsettings.json", "global.json", "Directory.Build.props",
                     "Directory.Packages.props", "src/BitNet.Server/Program.cs", "src/BitNet.Runtime/BitNet.Runtime.csproj",
                     "src/BitNet.Cli/Program.cs", "deploy/docker/healthcheck.sh",
                 })
            Assert.False(ignore.Excludes(kept), $".dockerignore drops {kept}, which the build needs");
        foreach (var dropped in new[]
                 {
                     "models/ggml-model-i2_s.gguf", "src/BitNet.Server/bin/Release/x.dll", "src/BitNet.Runtime/obj/project.assets.json",
                     ".git/HEAD", "models-cache/x.gguf", "tests/BitNet.Runtime.Tests/A.cs",
                 })
            Assert.True(ignore.Excludes(dropped), $".dockerignore should drop {dropped}");
        // Every file the Dockerfile copies by name must be in the context.
        foreach (var copy in File.Stages.SelectMany(s => s.All("COPY")).Where(c => !c.Arguments.Contains("--from=", StringComparison.Ordinal)))
        {
            var words = ShellWords.Split(copy.Arguments).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
            foreach (var source in words.Take(words.Count - 1).Where(s => s != "."))
            {
                TestPaths.File(source);
                Assert.False(ignore.Excludes(source), $"Dockerfile line {copy.Line} copies {source}, which .dockerignore drops");
            }
        }
    }

    [Fact]
    public void Dockerignore_matching_follows_docker_rules()
    {
        var ignore = DockerIgnore.Parse("**/bin/\n*.md\n!README.md\nmodels/*\n!models/keep.gguf\n");
        Assert.True(ignore.Excludes("src/A/bin/x.dll"));
        Assert.True(ignore.Excludes("bin/x.dll"));
        Assert.True(ignore.Excludes("NOTES.md"));
        Assert.False(ignore.Excludes("README.md"));
        Assert.False(ignore.Excludes("docs/NOTES.md"));   // '*' does not cross directories
        Assert.True(ignore.Excludes("models/big.gguf"));
        Assert.False(ignore.Excludes("models/keep.gguf"));
        Assert.False(ignore.Excludes("src/A/Program.cs"));
    }
}
