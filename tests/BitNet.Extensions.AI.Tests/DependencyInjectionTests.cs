using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Extensions.AI.Tests;

/// <summary>services.AddBitNetChatClient: one host, loaded on first use, disposed with the container.</summary>
public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task The_container_hands_out_one_host_and_its_chat_client()
    {
        var services = new ServiceCollection()
            .AddBitNetChatClient(TestModel.BundledModelPath, new BitNetModelHostOptions { Threads = 2, MaxParallelSequences = 2, ModelId = "stories" });
        BitNetModelHost host;
        await using (var provider = services.BuildServiceProvider())
        {
            var chat = provider.GetRequiredService<IChatClient>();
            host = provider.GetRequiredService<BitNetModelHost>();
            Assert.Same(host.ChatClient, chat);
            Assert.Same(chat, provider.GetRequiredService<IChatClient>());
            var response = await chat.GetResponseAsync("Hello!", new ChatOptions { MaxOutputTokens = 5, Temperature = 0 });
            Assert.Equal("stories", response.ModelId);
            Assert.InRange(response.Usage!.OutputTokenCount!.Value, 1, 5);
        }
        // Disposed with the provider: the engine no longer takes requests.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => host.ChatClient.GetResponseAsync("Hello again"));
    }

    [Fact]
    public void A_missing_model_is_one_line_naming_the_path()
    {
        var provider = new ServiceCollection().AddBitNetChatClient("/nonexistent/model.gguf").BuildServiceProvider();
        var e = Assert.Throws<FileNotFoundException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Equal("model not found: /nonexistent/model.gguf (expected a GGUF file, a Hugging Face model directory or hf:owner/repo)", e.Message);
    }

    [Fact]
    public void Bad_host_options_are_argument_errors()
    {
        Assert.Throws<ArgumentException>(() => BitNetModelHost.Load(TestModel.BundledModelPath, new BitNetModelHostOptions { MaxParallelSequences = 0 }));
        var e = Assert.Throws<ArgumentException>(() => BitNetModelHost.Load(TestModel.BundledModelPath, new BitNetModelHostOptions { ChatFormat = "yaml" }));
        Assert.StartsWith("unknown chat format 'yaml'", e.Message);
        Assert.Throws<ArgumentException>(() => BitNetModelHost.Load(TestModel.BundledModelPath, new BitNetModelHostOptions { ContextLength = 4096 }));
    }
}
