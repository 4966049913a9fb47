using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>deploy/systemd: the hardened unit and the example environment file.</summary>
public sealed class SystemdUnitTests
{
    private static readonly SystemdUnit Unit = SystemdUnit.Parse(TestPaths.ReadText("deploy/systemd/bitnet-server.service"));

    [Fact]
    public void Unit_starts_the_published_server_and_restarts_it_on_failure()
    {
        Assert.Equal(["Unit", "Service", "Install"], Unit.Sections);
        string exec = Unit.Value("Service", "ExecStart") ?? "";
        Assert.StartsWith("/", exec);
        Assert.EndsWith("/BitNet.Server", exec.Split(' ')[0]);
        Assert.Equal("on-failure", Unit.Value("Service", "Restart"));
        Assert.Equal("multi-user.target", Unit.Value("Install", "WantedBy"));
        Assert.Contains("network-online.target", Unit.Value("Unit", "After") ?? "");
        // Start limits belong to [Unit]; systemd ignores them (with a warning) in [Service].
        Assert.Empty(Unit.Values("Service", "StartLimitIntervalSec"));
    }

    [Fact]
    public void Unit_is_hardened_and_keeps_the_model_cache_in_its_cache_directory()
    {
        Assert.True(Unit.Value("Service", "DynamicUser") == "yes" || Unit.Value("Service", "User") is { Length: > 0 } u && u != "root");
        Assert.Equal("strict", Unit.Value("Service", "ProtectSystem"));
        foreach (var on in new[] { "NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices", "ProtectKernelTunables", "RestrictSUIDSGID" })
            Assert.True(Unit.Value("Service", on) == "yes", $"{on}=yes");
        Assert.Equal("", Unit.Value("Service", "CapabilityBoundingSet"));
        // The JIT needs writable-then-executable memory.
        Assert.NotEqual("yes", Unit.Value("Service", "MemoryDenyWriteExecute"));

        string cache = Unit.Value("Service", "CacheDirectory") ?? "";
        Assert.False(string.IsNullOrEmpty(cache), "CacheDirectory= for downloaded models");
        Assert.Contains($"BITNET_CACHE=%C/{cache}", Unit.Values("Service", "Environment"));
        Assert.False(string.IsNullOrEmpty(Unit.Value("Service", "StateDirectory")));
        Assert.Equal("-/etc/bitnet/bitnet.env", Unit.Value("Service", "EnvironmentFile"));
        // Longer than the server's 30 s drain, so systemd does not SIGKILL mid-drain.
        Assert.True(int.Parse((Unit.Value("Service", "TimeoutStopSec") ?? "0").TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) > 30);
    }

    [Fact]
    public void Example_env_file_is_key_value_lines_naming_real_options()
    {
        int settings = 0;
        foreach (string raw in TestPaths.ReadText("deploy/systemd/bitnet.env").Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                // Commented-out settings must be valid when uncommented.
                string inner = line.TrimStart('#').Trim();
                if (inner.StartsWith("BitNet__", StringComparison.Ordinal)) ServerFacts.AssertKnownOption(inner[..inner.IndexOf('=')], "bitnet.env (commented)");
                continue;
            }
            int eq = line.IndexOf('=');
            Assert.True(eq > 0 && !line.StartsWith("export ", StringComparison.Ordinal), $"bitnet.env: '{line}' is not KEY=value");
            string key = line[..eq];
            Assert.Matches("^[A-Za-z_][A-Za-z0-9_]*$", key);
            ServerFacts.AssertKnownOption(key, "bitnet.env");
            settings++;
        }
        Assert.True(settings >= 3);
    }
}
