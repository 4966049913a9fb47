using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Hardening;

/// <summary>The bundled model with small generation limits, so that fuzzed requests that happen to be valid stay cheap.</summary>
public sealed class HardeningServer : ServerFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "4",
        ["BitNet:MaxQueuedRequests"] = "64",
        ["BitNet:DefaultMaxTokens"] = "2",
        ["BitNet:MaxTokensCap"] = "8",
        ["BitNet:MaxRequestBodyBytes"] = "1048576",
    };
}
