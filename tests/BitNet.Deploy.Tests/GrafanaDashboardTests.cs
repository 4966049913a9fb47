using System.Text.Json;
using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>The Grafana dashboard: valid JSON, sane layout, and queries that only use metrics the server exports.</summary>
public sealed class GrafanaDashboardTests
{
    private const string DashboardPath = "deploy/grafana/dashboards/bitnet-server.json";
    private static readonly JsonElement Dashboard = JsonDocument.Parse(TestPaths.ReadText(DashboardPath)).RootElement;

    private static IEnumerable<JsonElement> Panels => Dashboard.GetProperty("panels").EnumerateArray();

    /// <summary>(panel title, PromQL) for every query of every panel and every query variable.</summary>
    private static List<(string Where, string Expr)> Queries()
    {
        var result = new List<(string, string)>();
        foreach (var panel in Panels)
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
                result.Add((panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!));
        foreach (var variable in Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query") continue;
            var q = variable.GetProperty("query");
            string text = q.ValueKind == JsonValueKind.String ? q.GetString()! : q.GetProperty("query").GetString()!;
            // label_values(metric, label) is Grafana's, not PromQL: check its metric argument.
            if (text.StartsWith("label_values(", StringComparison.Ordinal)) text = text["label_values(".Length..text.IndexOf(',')];
            result.Add(($"variable {variable.GetProperty("name").GetString()}", text));
        }
        return result;
    }

    [Fact]
    public void Dashboard_has_identity_and_unique_non_overlapping_panels()
    {
        Assert.Equal("bitnet-server", Dashboard.GetProperty("uid").GetString());
        Assert.False(string.IsNullOrEmpty(Dashboard.GetProperty("title").GetString()));
        var ids = new HashSet<int>();
        var cells = new HashSet<(int, int)>();
        foreach (var panel in Panels)
        {
            string title = panel.GetProperty("title").GetString()!;
            Assert.True(ids.Add(panel.GetProperty("id").GetInt32()), $"panel '{title}': duplicate id");
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
            var g = panel.GetProperty("gridPos");
            int x = g.GetProperty("x").GetInt32(), y = g.GetProperty("y").GetInt32(), w = g.GetProperty("w").GetInt32(), h = g.GetProperty("h").GetInt32();
            Assert.True(x >= 0 && w > 0 && x + w <= 24 && h > 0, $"panel '{title}': gridPos outside the 24-column grid");
            for (int i = x; i < x + w; i++)
                for (int j = y; j < y + h; j++)
                    Assert.True(cells.Add((i, j)), $"panel '{title}' overlaps another panel at ({i},{j})");
        }
        Assert.True(ids.Count >= 7, $"expected the seven required panels, found {ids.Count}");
    }

    [Fact]
    public void Every_metric_a_query_uses_is_exported_by_the_server()
    {
        var queries = Queries();
        Assert.NotEmpty(queries);
        foreach (var (where, expr) in queries)
        {
            var names = PromQl.MetricNames(expr);
            Assert.True(names.Count > 0, $"{where}: no metric found in '{expr}'");
            foreach (var name in names)
                Assert.True(ServerFacts.SeriesNames.Contains(name), $"{where}: '{name}' is not a metric the server exports (query: {expr})");
            foreach (var (label, _, value) in PromQl.LabelMatchersOf(expr))
            {
                Assert.True(ServerFacts.Labels.Contains(label), $"{where}: label '{label}' does not exist on the server's series");
                if (label == "gen_ai_token_type") Assert.True(value is "input" or "output", $"{where}: gen_ai_token_type is input or output, not '{value}'");
            }
            foreach (var label in PromQl.GroupingLabels(expr))
                Assert.True(ServerFacts.Labels.Contains(label), $"{where}: grouping by unknown label '{label}'");
        }
    }

    [Fact]
    public void Required_panels_are_present()
    {
        var exprs = Queries().Select(q => q.Expr).ToList();
        bool Uses(string fragment) => exprs.Any(e => e.Contains(fragment, StringComparison.Ordinal));

        Assert.True(Uses("rate(gen_ai_server_token_usage_total{gen_ai_token_type=\"output\""), "output tokens/s");
        foreach (var histogram in new[] { "gen_ai_server_time_to_first_token_seconds", "gen_ai_server_time_per_output_token_seconds" })
            foreach (var q in new[] { "0.50", "0.95", "0.99" })
                Assert.True(exprs.Any(e => e.StartsWith($"histogram_quantile({q},", StringComparison.Ordinal) && e.Contains(histogram + "_bucket", StringComparison.Ordinal)
                    && PromQl.GroupingLabels(e).Contains("le")), $"p{q} of {histogram} (histogram_quantile over _bucket grouped by le)");
        Assert.True(Uses("bitnet_requests_running"), "running requests");
        Assert.True(Uses("bitnet_requests_waiting"), "waiting requests");
        Assert.True(Uses("bitnet_kv_cache_usage"), "KV cache usage");
        Assert.True(Uses("bitnet_prefix_cache_hit_ratio"), "prefix cache hit ratio");
        Assert.Contains(exprs, e => e.Contains("rate(bitnet_requests_total", StringComparison.Ordinal) && PromQl.GroupingLabels(e).Contains("outcome"));
    }

    [Fact]
    public void Panels_use_the_datasource_variable_that_resolves_to_the_provisioned_prometheus()
    {
        var variables = Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().ToList();
        var ds = variables.Single(v => v.GetProperty("type").GetString() == "datasource");
        Assert.Equal("prometheus", ds.GetProperty("query").GetString());
        string reference = "${" + ds.GetProperty("name").GetString() + "}";
        foreach (var panel in Panels)
            Assert.Equal(reference, panel.GetProperty("datasource").GetProperty("uid").GetString());
    }
}
