using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>Prometheus scrape config, Grafana provisioning and the OpenTelemetry collector pipelines.</summary>
public sealed class MonitoringConfigTests
{
    private static readonly YamlNode ComposeServices = YamlNode.Load("docker-compose.yml")["services"];

    [Fact]
    public void Prometheus_scrapes_metrics_of_the_compose_server_services()
    {
        var config = YamlNode.Load("deploy/prometheus/prometheus.yml");
        var job = config["scrape_configs"].Items.Single(j => j["job_name"].Text == "bitnet");
        Assert.Equal(ServerFacts.MetricsPath, job["metrics_path"].Text ?? "/metrics");
        var targets = job["static_configs"].Items.SelectMany(s => s["targets"].Strings).ToList();
        Assert.Contains($"bitnet:{ServerFacts.ContainerPort}", targets);
        foreach (var target in targets)
        {
            string host = target[..target.IndexOf(':')];
            Assert.True(ComposeServices[host].Exists, $"scrape target {target}: '{host}' is not a compose service");
            Assert.Equal(ServerFacts.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), target[(target.IndexOf(':') + 1)..]);
        }
    }

    [Fact]
    public void Grafana_datasource_is_the_compose_prometheus_and_is_the_default()
    {
        var ds = YamlNode.Load("deploy/grafana/provisioning/datasources/prometheus.yaml")["datasources"].Items.Single();
        Assert.Equal("prometheus", ds["type"].Text);
        Assert.Equal("true", ds["isDefault"].Text);
        var url = new Uri(ds["url"].RequireText());
        Assert.True(ComposeServices[url.Host].Exists, $"datasource host {url.Host} is not a compose service");
        Assert.Contains(ComposeServices[url.Host]["ports"].Items, p => p["target"].RequireInt() == url.Port);
    }

    [Fact]
    public void Otel_collector_pipelines_use_only_defined_components_and_receive_otlp()
    {
        var config = YamlNode.Load("deploy/otel-collector/config.yaml");
        var pipelines = config["service"]["pipelines"];
        Assert.True(pipelines["traces"].Exists && pipelines["metrics"].Exists, "traces and metrics pipelines");
        foreach (var (name, pipeline) in pipelines.Entries)
        {
            foreach (var section in new[] { "receivers", "processors", "exporters" })
            {
                foreach (var component in pipeline[section].Strings)
                    Assert.True(config[section][component].Exists, $"pipeline {name} uses {section[..^1]} '{component}', which is not defined");
            }
            Assert.Contains("otlp", pipeline["receivers"].Strings);
            Assert.NotEmpty(pipeline["exporters"].Strings);
            // memory_limiter must come first to protect the collector (its documented placement).
            var processors = pipeline["processors"].Strings;
            if (processors.Contains("memory_limiter")) Assert.Equal("memory_limiter", processors[0]);
        }
        foreach (var extension in config["service"]["extensions"].Strings)
            Assert.True(config["extensions"][extension].Exists, $"extension '{extension}' is not defined");
        Assert.EndsWith(":4317", config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].RequireText());
    }

    [Fact]
    public void Every_yaml_file_of_the_deployment_parses()
    {
        var files = Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, "deploy"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Append(Path.Combine(TestPaths.RepoRoot, "docker-compose.yml"))
            .ToList();
        Assert.True(files.Count >= 7, $"found only {files.Count} YAML files");
        foreach (var file in files)
        {
            var docs = YamlNode.ParseAll(File.ReadAllText(file), Path.GetRelativePath(TestPaths.RepoRoot, file));
            Assert.True(docs.Count > 0 && docs.All(d => d.IsMap), $"{file}: expected mappings at the top");
        }
    }
}
