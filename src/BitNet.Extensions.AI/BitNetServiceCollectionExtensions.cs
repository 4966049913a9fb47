using BitNet.Extensions.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a BitNet model and its clients in a service collection (one model per container).</summary>
public static class BitNetServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="BitNetModelHost"/> for <paramref name="model"/> (loaded when first resolved,
    /// disposed with the service provider) and its <see cref="IChatClient"/>. If a host is already registered (by
    /// <see cref="AddBitNetEmbeddingGenerator"/>), that one is used and these arguments are ignored.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="model">A GGUF file, a Hugging Face model directory or <c>hf:owner/repo</c>.</param>
    /// <param name="options">Engine sizes and chat defaults; null = the defaults.</param>
    public static IServiceCollection AddBitNetChatClient(this IServiceCollection services, string model, BitNetModelHostOptions? options = null)
    {
        AddHost(services, model, options);
        services.AddSingleton<IChatClient>(sp => sp.GetRequiredService<BitNetModelHost>().ChatClient);
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="BitNetModelHost"/> for <paramref name="model"/> (unless one is registered
    /// already) and its <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="model">A GGUF file, a Hugging Face model directory or <c>hf:owner/repo</c>.</param>
    /// <param name="options">Engine sizes; null = the defaults.</param>
    public static IServiceCollection AddBitNetEmbeddingGenerator(this IServiceCollection services, string model, BitNetModelHostOptions? options = null)
    {
        AddHost(services, model, options);
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<BitNetModelHost>().EmbeddingGenerator);
        return services;
    }

    private static void AddHost(IServiceCollection services, string model, BitNetModelHostOptions? options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        services.TryAddSingleton(_ => BitNetModelHost.Load(model, options));
    }
}
