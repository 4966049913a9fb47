using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>deploy/kubernetes: the multi-document manifest and the kustomization that applies it.</summary>
public sealed class KubernetesManifestTests
{
    private const string ManifestPath = "deploy/kubernetes/bitnet.yaml";
    private static readonly IReadOnlyList<YamlNode> Documents = YamlNode.LoadAll(ManifestPath);

    private static YamlNode Single(string kind)
    {
        var matches = Documents.Where(d => d["kind"].Text == kind).ToList();
        Assert.True(matches.Count == 1, $"{ManifestPath}: expected one {kind}, found {matches.Count}");
        return matches[0];
    }

    private static YamlNode Deployment => Single("Deployment");
    private static YamlNode PodSpec => Deployment["spec"]["template"]["spec"];
    private static YamlNode Server => PodSpec["containers"].Items.Single(c => c["name"].Text == "server");

    private static Dictionary<string, string> Labels(YamlNode map) => map.Entries.ToDictionary(e => e.Key, e => e.Value.RequireText());

    [Fact]
    public void Every_document_has_api_version_kind_and_name()
    {
        Assert.True(Documents.Count >= 5, $"expected ConfigMap, PVC, Deployment, Service and HPA, found {Documents.Count} documents");
        foreach (var d in Documents)
        {
            Assert.False(string.IsNullOrEmpty(d["apiVersion"].Text), $"{d.Path}: apiVersion");
            Assert.False(string.IsNullOrEmpty(d["kind"].Text), $"{d.Path}: kind");
            Assert.False(string.IsNullOrEmpty(d["metadata"]["name"].Text), $"{d.Path}: metadata.name");
        }
        Assert.Equal("apps/v1", Deployment["apiVersion"].Text);
    }

    [Fact]
    public void Probes_check_health_on_the_container_port_with_initial_delays()
    {
        var port = Server["ports"].Items.Single();
        Assert.Equal(ServerFacts.ContainerPort, port["containerPort"].RequireInt());
        string? portName = port["name"].Text;
        foreach (var probeName in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
        {
            var probe = Server[probeName];
            if (probeName == "startupProbe" && !probe.Exists) continue;
            Assert.Equal(ServerFacts.HealthPath, probe["httpGet"]["path"].RequireText());
            string target = probe["httpGet"]["port"].RequireText();
            Assert.True(target == portName || target == ServerFacts.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"{probe.Path}.httpGet.port '{target}' is not the container port ({portName} / {ServerFacts.ContainerPort})");
            Assert.True(probe["timeoutSeconds"].RequireInt() >= 1);
        }
        Assert.True(Server["readinessProbe"]["initialDelaySeconds"].RequireInt() > 0);
        // Liveness must not kill a pod that is still loading: a startup probe or a generous initial delay.
        Assert.True(Server["startupProbe"].Exists || Server["livenessProbe"]["initialDelaySeconds"].RequireInt() >= 30);
        Assert.True(Server["livenessProbe"]["initialDelaySeconds"].RequireInt() >= Server["readinessProbe"]["initialDelaySeconds"].RequireInt());
    }

    [Fact]
    public void Resources_are_set_and_the_memory_covers_the_model_and_its_kv_cache()
    {
        var resources = Server["resources"];
        foreach (var kind in new[] { "requests", "limits" })
            foreach (var res in new[] { "cpu", "memory" })
                Assert.True(resources[kind][res].Exists, $"{resources.Path}.{kind}.{res} is missing");

        long request = Quantities.KubernetesBytes(resources["requests"]["memory"].RequireText());
        long limit = Quantities.KubernetesBytes(resources["limits"]["memory"].RequireText());
        Assert.True(limit >= request);
        Assert.True(Quantities.KubernetesCores(resources["limits"]["cpu"].RequireText()) >= Quantities.KubernetesCores(resources["requests"]["cpu"].RequireText()));

        var config = Single("ConfigMap")["data"];
        Assert.Equal(ServerFacts.HubModel2B4T, config["BitNet__Model"].Text);
        int parallel = config["BitNet__Parallel"].RequireInt();
        int context = config["BitNet__ContextSize"].RequireInt();
        long need = ServerFacts.Memory2B4T(parallel, context);
        Assert.True(request >= need, $"memory request {request:N0} B < model + KV {need:N0} B (Parallel={parallel}, ContextSize={context})");
        Assert.True(limit >= need + ServerFacts.RuntimeOverheadBytes, $"memory limit {limit:N0} B leaves no room for the runtime above {need:N0} B");
    }

    [Fact]
    public void Pod_runs_as_non_root_with_a_read_only_root_and_a_writable_tmp()
    {
        var pod = PodSpec["securityContext"];
        Assert.Equal("true", pod["runAsNonRoot"].Text);
        Assert.NotEqual(0, pod["runAsUser"].RequireInt());
        foreach (var container in PodSpec["containers"].Items.Concat(PodSpec["initContainers"].Items))
        {
            var sc = container["securityContext"];
            Assert.Equal("true", sc["readOnlyRootFilesystem"].Text);
            Assert.Equal("false", sc["allowPrivilegeEscalation"].Text);
            Assert.Contains("ALL", sc["capabilities"]["drop"].Strings);
            var tmp = container["volumeMounts"].Items.SingleOrDefault(m => m["mountPath"].Text == "/tmp");
            Assert.True(tmp is not null, $"{container.Path}: a read-only root needs a writable /tmp");
            var volume = PodSpec["volumes"].Items.Single(v => v["name"].Text == tmp["name"].Text);
            Assert.True(volume["emptyDir"].Exists, $"{volume.Path}: /tmp should be an emptyDir");
        }
    }

    [Fact]
    public void Init_container_pulls_the_configured_model_into_the_cache_volume()
    {
        var init = PodSpec["initContainers"].Items.Single();
        var command = init["command"].Strings;
        Assert.Equal("/app/cli/bitnet", command[0]);
        Assert.Equal("pull", command[1]);
        // The reference comes from the ConfigMap so the init container and the server agree on the model.
        string variable = command[2].Trim('$', '(', ')');
        var env = init["env"].Items.Single(e => e["name"].Text == variable);
        Assert.Equal("BitNet__Model", env["valueFrom"]["configMapKeyRef"]["key"].Text);

        var pvc = Single("PersistentVolumeClaim");
        var cache = PodSpec["volumes"].Items.Single(v => v["persistentVolumeClaim"].Exists);
        Assert.Equal(pvc["metadata"]["name"].Text, cache["persistentVolumeClaim"]["claimName"].Text);
        var config = Single("ConfigMap")["data"];
        foreach (var container in new[] { init, Server })
            Assert.Contains(container["volumeMounts"].Items, m => m["name"].Text == cache["name"].Text && m["mountPath"].Text == config["BITNET_CACHE"].Text);
    }

    [Fact]
    public void Server_takes_its_settings_from_the_config_map_and_they_name_real_options()
    {
        var configMap = Single("ConfigMap");
        Assert.Contains(Server["envFrom"].Items, e => e["configMapRef"]["name"].Text == configMap["metadata"]["name"].Text);
        var data = configMap["data"];
        foreach (var (key, _) in data.Entries) ServerFacts.AssertKnownOption(key, $"{ManifestPath} ConfigMap");
        // appsettings.json's Urls (127.0.0.1) outranks ASPNETCORE_URLS: only plain URLS reaches all interfaces.
        Assert.Equal($"http://0.0.0.0:{ServerFacts.ContainerPort}", data["URLS"].Text);
    }

    [Fact]
    public void Deployment_selector_and_service_selector_match_the_pod_labels()
    {
        var podLabels = Labels(Deployment["spec"]["template"]["metadata"]["labels"]);
        var selector = Labels(Deployment["spec"]["selector"]["matchLabels"]);
        Assert.NotEmpty(selector);
        foreach (var (k, v) in selector) Assert.True(podLabels.GetValueOrDefault(k) == v, $"Deployment selector {k}={v} does not match the pod labels");

        var service = Single("Service");
        var serviceSelector = Labels(service["spec"]["selector"]);
        Assert.NotEmpty(serviceSelector);
        foreach (var (k, v) in serviceSelector) Assert.True(podLabels.GetValueOrDefault(k) == v, $"Service selector {k}={v} does not match the pod labels");

        var port = service["spec"]["ports"].Items.Single();
        string target = port["targetPort"].RequireText();
        var containerPort = Server["ports"].Items.Single();
        Assert.True(target == containerPort["name"].Text || target == containerPort["containerPort"].Text, $"Service targetPort '{target}' is not the container port");
    }

    [Fact]
    public void Hpa_scales_the_deployment_on_cpu_and_documents_the_queue_metric_alternative()
    {
        var hpa = Single("HorizontalPodAutoscaler");
        Assert.Equal("autoscaling/v2", hpa["apiVersion"].Text);
        var target = hpa["spec"]["scaleTargetRef"];
        Assert.Equal("Deployment", target["kind"].Text);
        Assert.Equal("apps/v1", target["apiVersion"].Text);
        Assert.Equal(Deployment["metadata"]["name"].Text, target["name"].Text);
        Assert.True(hpa["spec"]["minReplicas"].RequireInt() >= 1);
        Assert.True(hpa["spec"]["maxReplicas"].RequireInt() >= hpa["spec"]["minReplicas"].RequireInt());
        var cpu = hpa["spec"]["metrics"].Items.Single(m => m["type"].Text == "Resource" && m["resource"]["name"].Text == "cpu");
        Assert.InRange(cpu["resource"]["target"]["averageUtilization"].RequireInt(), 10, 100);

        // The commented alternative: a Pods metric on the queue gauge (text check: it is a comment on purpose).
        string text = TestPaths.ReadText(ManifestPath);
        Assert.Contains("#       name: bitnet_requests_waiting", text);
        Assert.Contains("# - type: Pods", text);
    }

    [Fact]
    public void Kustomization_lists_existing_resources_and_retargets_the_image()
    {
        var k = YamlNode.Load("deploy/kubernetes/kustomization.yaml");
        Assert.Equal("Kustomization", k["kind"].Text);
        foreach (var r in k["resources"].Strings) TestPaths.File($"deploy/kubernetes/{r}");
        string image = k["images"].Items.Single()["name"].RequireText();
        Assert.All(PodSpec["containers"].Items.Concat(PodSpec["initContainers"].Items),
            c => Assert.StartsWith(image + ":", c["image"].RequireText()));
    }
}
