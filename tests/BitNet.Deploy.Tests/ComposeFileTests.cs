using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>docker-compose.yml: services, profiles, health checks, ports, volumes and the files it mounts.</summary>
public sealed class ComposeFileTests
{
    private static readonly YamlNode Compose = YamlNode.Load("docker-compose.yml");
    private static YamlNode Services => Compose["services"];
    private static YamlNode Service(string name) =>
        Services[name] is { Exists: true } s ? s : throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}'");

    /// <summary>A service's environment with compose defaults applied (both the map and the KEY=value list forms).</summary>
    private static Dictionary<string, string> Environment(YamlNode service)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var node = service["environment"];
        foreach (var (k, v) in node.Entries) env[k] = Quantities.ComposeDefault(v.Text ?? "");
        foreach (var item in node.Items)
        {
            string text = item.RequireText();
            int eq = text.IndexOf('=');
            env[eq < 0 ? text : text[..eq]] = eq < 0 ? "" : Quantities.ComposeDefault(text[(eq + 1)..]);
        }
        return env;
    }

    private static IReadOnlyList<string> Profiles(YamlNode service) => service["profiles"].Strings;

    /// <summary>Container ports a service publishes, from the long or the short ("host:container") syntax.</summary>
    private static List<int> ContainerPorts(YamlNode service)
    {
        var ports = new List<int>();
        foreach (var p in service["ports"].Items)
        {
            if (p.IsMap) ports.Add(p["target"].RequireInt());
            else
            {
                string text = Quantities.ComposeDefault(p.RequireText()).Split('/')[0];
                ports.Add(int.Parse(text[(text.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return ports;
    }

    [Fact]
    public void Every_service_has_an_image_or_build_a_healthcheck_and_published_ports()
    {
        Assert.NotEmpty(Services.Entries);
        foreach (var (_, service) in Services.Entries)
        {
            Assert.True(service["image"].Exists || service["build"].Exists, $"{service.Path}: needs image or build");
            Assert.True(service["healthcheck"].IsMap, $"{service.Path}: needs a healthcheck");
            var hc = service["healthcheck"];
            if (hc["disable"].Text == "true")
            {
                // Only images without any shell or HTTP client may opt out, and the file must say why.
                Assert.Contains("opentelemetry-collector", service["image"].RequireText());
            }
            else
            {
                var test = hc["test"].Strings;
                Assert.True(test.Count >= 2 && test[0] is "CMD" or "CMD-SHELL", $"{hc.Path}.test: expected [CMD, ...] or [CMD-SHELL, ...]");
                Assert.True(hc["interval"].Exists && hc["timeout"].Exists && hc["retries"].Exists, $"{hc.Path}: set interval, timeout and retries");
            }
            Assert.True(ContainerPorts(service).Count > 0, $"{service.Path}: publishes no port");
        }
    }

    [Fact]
    public void The_default_service_serves_the_bundled_model_offline_on_8080()
    {
        var bitnet = Service("bitnet");
        Assert.Empty(Profiles(bitnet)); // starts with a plain `docker compose up`
        Assert.False(bitnet["depends_on"].Exists, "the default service must not depend on anything");
        Assert.True(bitnet["build"]["context"].Text is "." or "./", "the default service builds the repository's Dockerfile");
        Assert.True(File.Exists(Path.Combine(TestPaths.RepoRoot, bitnet["build"]["dockerfile"].Text ?? "Dockerfile")));

        var env = Environment(bitnet);
        string model = env.GetValueOrDefault("BitNet__Model", "");
        Assert.False(model.StartsWith("hf:", StringComparison.Ordinal), $"default model '{model}' would need the network");
        Assert.True(model.Length == 0, $"default model should be the bundled one (empty), is '{model}'");
        Assert.Contains(ServerFacts.ContainerPort, ContainerPorts(bitnet));
        Assert.Equal(["CMD", "/app/healthcheck.sh"], bitnet["healthcheck"]["test"].Strings);

        // Cache volume and API key plumbing.
        Assert.Equal("/models-cache", env["BITNET_CACHE"]);
        Assert.Contains(bitnet["volumes"].Strings, v => v.EndsWith(":/models-cache", StringComparison.Ordinal));
        Assert.Contains(env.Keys, k => k.StartsWith("BitNet__ApiKeys__", StringComparison.Ordinal) || k == "BitNet__ApiKeyFile");
    }

    [Fact]
    public void Profiles_b2b4t_monitoring_and_otel_exist()
    {
        var all = Services.Entries.SelectMany(e => Profiles(e.Value)).ToHashSet();
        Assert.Superset(new HashSet<string> { "b2b4t", "monitoring", "otel" }, all);
        Assert.Contains("b2b4t", Profiles(Service("bitnet-2b4t")));
        Assert.Contains("monitoring", Profiles(Service("prometheus")));
        Assert.Contains("monitoring", Profiles(Service("grafana")));
        Assert.Contains("otel", Profiles(Service("otel-collector")));
    }

    [Fact]
    public void The_2b4t_service_downloads_into_the_cache_and_its_memory_limit_covers_model_plus_kv()
    {
        var svc = Service("bitnet-2b4t");
        var env = Environment(svc);
        Assert.Equal(ServerFacts.HubModel2B4T, env["BitNet__Model"]);
        Assert.Equal("/models-cache", env["BITNET_CACHE"]);
        Assert.Contains(svc["volumes"].Strings, v => v.EndsWith(":/models-cache", StringComparison.Ordinal));

        int parallel = int.Parse(env["BitNet__Parallel"], System.Globalization.CultureInfo.InvariantCulture);
        int context = int.Parse(env.GetValueOrDefault("BitNet__ContextSize", "0"), System.Globalization.CultureInfo.InvariantCulture);
        long need = ServerFacts.Memory2B4T(parallel, context) + ServerFacts.RuntimeOverheadBytes;
        long limit = Quantities.ComposeBytes(svc["deploy"]["resources"]["limits"]["memory"].RequireText());
        Assert.True(limit >= need, $"memory limit {limit:N0} B < model + KV + runtime {need:N0} B for Parallel={parallel}, ContextSize={context}");
        Assert.True(limit <= need * 2, $"memory limit {limit:N0} B is more than twice what the model needs ({need:N0} B)");

        // The first start downloads 1.2 GB: the health check must allow for it.
        var start = svc["healthcheck"]["start_period"].RequireText();
        Assert.True(start.EndsWith('m') && int.Parse(start[..^1], System.Globalization.CultureInfo.InvariantCulture) >= 5,
            $"start_period {start} is too short for a first-start download");
    }

    [Fact]
    public void Server_settings_name_real_options()
    {
        foreach (var name in new[] { "bitnet", "bitnet-2b4t" })
            foreach (var key in Environment(Service(name)).Keys)
                ServerFacts.AssertKnownOption(key, $"docker-compose.yml services.{name}.environment");
    }

    [Fact]
    public void Otlp_endpoint_points_at_the_collector_service_and_its_grpc_receiver()
    {
        string endpoint = Environment(Service("bitnet"))["BitNet__OtlpEndpoint"];
        var uri = new Uri(endpoint);
        Assert.Equal("otel-collector", uri.Host);
        Assert.True(Services[uri.Host].Exists);
        var collector = YamlNode.Load("deploy/otel-collector/config.yaml");
        string grpc = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].RequireText();
        Assert.EndsWith($":{uri.Port}", grpc);
    }

    [Fact]
    public void Bind_mounted_files_exist_and_named_volumes_are_declared()
    {
        var declared = Compose["volumes"].Entries.Select(e => e.Key).ToHashSet();
        int bindMounts = 0;
        foreach (var (name, service) in Services.Entries)
        {
            foreach (string volume in service["volumes"].Strings)
            {
                string source = volume.Split(':')[0];
                if (source.StartsWith('.') || source.StartsWith('/'))
                {
                    string path = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, source));
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"services.{name}.volumes: {source} does not exist");
                    bindMounts++;
                }
                else Assert.True(declared.Contains(source), $"services.{name}.volumes: named volume '{source}' is not declared under volumes:");
            }
        }
        Assert.True(bindMounts >= 4, "prometheus, grafana (2) and the collector mount their configuration");
    }

    [Fact]
    public void Grafana_mounts_its_provisioning_and_the_dashboards_where_the_provider_looks()
    {
        var grafana = Service("grafana");
        var mounts = grafana["volumes"].Strings.Select(v => v.Split(':')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("/etc/grafana/provisioning", mounts["./deploy/grafana/provisioning"]);
        string dashboards = mounts["./deploy/grafana/dashboards"];
        var provider = YamlNode.Load("deploy/grafana/provisioning/dashboards/bitnet.yaml")["providers"].Items.Single();
        Assert.Equal(dashboards, provider["options"]["path"].RequireText());
    }
}
