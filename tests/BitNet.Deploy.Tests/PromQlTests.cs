using BitNet.Deploy.Tests.Parsing;

namespace BitNet.Deploy.Tests;

/// <summary>The metric-name extraction the dashboard check relies on: it must find names and ignore everything else.</summary>
public sealed class PromQlTests
{
    [Theory]
    [InlineData("histogram_quantile(0.95, sum by (service, le) (rate(foo_seconds_bucket{service=~\"$service\"}[$__rate_interval])))", "foo_seconds_bucket")]
    [InlineData("sum(rate(a_total{x=\"by(y)\"}[5m])) / sum(rate(b_total[5m] offset 1h))", "a_total,b_total")]
    [InlineData("max by (service) (bitnet_kv_cache_usage)", "bitnet_kv_cache_usage")]
    [InlineData("up == bool 1 and on (instance) node:cpu:rate5m", "up,node:cpu:rate5m")]
    [InlineData("1 - 0.95", "")]
    public void Extracts_metric_names_only(string expr, string expected)
    {
        string[] want = expected.Length == 0 ? [] : expected.Split(',');
        Assert.Equal(want, PromQl.MetricNames(expr));
    }

    [Fact]
    public void Lists_label_matchers_and_grouping_labels()
    {
        const string expr = "sum by (service, outcome) (rate(x_total{gen_ai_token_type=\"output\", service=~\"$service\"}[1m]))";
        Assert.Equal([("gen_ai_token_type", "=", "output"), ("service", "=~", "$service")], PromQl.LabelMatchersOf(expr));
        Assert.Equal(["service", "outcome"], PromQl.GroupingLabels(expr));
    }
}
