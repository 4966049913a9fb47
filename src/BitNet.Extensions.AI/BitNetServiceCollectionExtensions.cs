using BitNet.Extensions.AI;
using Microsoft.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a BitNet model and its clients in a service collection.</summary>
public static class BitNetServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="BitNetModelHost"/> for <paramref name="model"/> (loaded when first resolved,
    /// disposed with the service provider) and its <see cref="IChatClient"/>.
    /// </summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="model">A GGUF file, a Hugging Face model directory or <c>hf:owner/repo</c>.</param>
    /// <param name="options">Engine sizes and chat defaults; null = the defaults.</param>
    public static IServiceCollection AddBitNetChatClient(this IServiceCollection services, string model, BitNetModelHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        services.AddSingleton(_ => BitNetModelHost.Load(model, options));
        services.AddSingleton<IChatClient>(sp => sp.GetRequiredService<BitNetModelHost>().ChatClient);
        return services;
    }
}
