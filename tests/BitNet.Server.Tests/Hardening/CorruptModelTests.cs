using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Server.Tests.Hardening;

/// <summary>Corrupt model files (truncated, damaged header, damaged tensor table) never kill the process: /health says why with 503.</summary>
public sealed class CorruptModelTests
{
    public static TheoryData<string> Damages() => ["truncated-data", "truncated-header", "bad-magic", "huge-tensor-count"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task ACorruptModelLeavesHealthAt503WithTheReason(string damage)
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "models", "stories3m-b158-i2_s.gguf"));
        bytes = damage switch
        {
            "truncated-data" => bytes[..(bytes.Length * 3 / 4)],
            "truncated-header" => bytes[..200],
            "bad-magic" => [(byte)'G', (byte)'G', (byte)'M', (byte)'L', .. bytes[4..]],
            _ => [.. bytes[..8], .. BitConverter.GetBytes(ulong.MaxValue / 2), .. bytes[16..]],
        };
        string path = Path.Combine(Path.GetTempPath(), $"bitnet-corrupt-{damage}-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        try
        {
            await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
            {
                b.UseSetting("Serilog:MinimumLevel:Default", "Fatal");
                b.UseSetting("BitNet:Model", path);
            });
            using var client = factory.CreateClient();
            await factory.Services.GetRequiredService<BitNet.Server.Hosting.ModelHost>().Loaded.WaitAsync(TimeSpan.FromSeconds(30));
            using var health = await client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            string message = body.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Contains(path, message);
            using var chat = await client.PostAsync("/v1/chat/completions", new StringContent(
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
