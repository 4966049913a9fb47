using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Server.Tests.Hardening;

/// <summary>Graceful shutdown and request deadlines.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task ShutdownLetsTheStreamInFlightFinishAndRefusesNewWork()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            b.UseSetting("BitNet:Parallel", "2");
            b.UseSetting("BitNet:ShutdownGraceSeconds", "30");
        });
        using var client = factory.CreateClient();
        var host = factory.Services.GetRequiredService<BitNet.Server.Hosting.ModelHost>();
        await host.Loaded.WaitAsync(TimeSpan.FromSeconds(60));

        // A long streaming answer (a huge bias on an ordinary token keeps the model from ending early).
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a long story." }),
            ["max_tokens"] = 300, ["temperature"] = 0, ["stream"] = true,
            ["logit_bias"] = BanEndOfGeneration(host),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        for (int i = 0; i < 3; i++) await reader.ReadLineAsync();

        // SIGTERM equivalent: the host stops while the stream is running.
        var stopping = Task.Run(() => host.StopAsync(CancellationToken.None));
        for (int i = 0; i < 100 && host.State != BitNet.Server.Hosting.ModelState.Stopping; i++) await Task.Delay(10);
        using (var refused = await client.PostAsync("/v1/chat/completions", new StringContent(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }
        using (var health = await client.GetAsync("/health")) Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);

        // The stream in flight still runs to its normal end.
        string rest = await reader.ReadToEndAsync();
        Assert.Contains("\"finish_reason\":\"length\"", rest);
        Assert.EndsWith("data: [DONE]\n\n", rest);
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A -100 bias on every end-of-generation token (EOS, and BOS between stories) keeps the model writing.</summary>
    private static JsonObject BanEndOfGeneration(BitNet.Server.Hosting.ModelHost host)
    {
        var bias = new JsonObject();
        foreach (int id in host.Tokenizer!.EndOfGenerationIds) bias[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = -100;
        return bias;
    }

    [Fact]
    public async Task ARequestDeadlineEndsGenerationWithWhatWasProduced()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            b.UseSetting("BitNet:Parallel", "1");
        });
        using var client = factory.CreateClient();
        var host = factory.Services.GetRequiredService<BitNet.Server.Hosting.ModelHost>();
        await host.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        var json = await client.PostOkAsync("/v1/completions", new JsonObject
        {
            ["prompt"] = "Once upon a time", ["max_tokens"] = 500, ["temperature"] = 0, ["timeout"] = 0.05,
            ["logit_bias"] = BanEndOfGeneration(host),
        });
        var choice = json.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        int tokens = json.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.InRange(tokens, 0, 499);
        // The slot is free again: the next request runs.
        var next = await client.PostOkAsync("/v1/completions", new JsonObject { ["prompt"] = "The cat", ["max_tokens"] = 3 });
        Assert.Equal(3, next.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
