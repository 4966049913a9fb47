using System.CommandLine;
using System.CommandLine.Parsing;
using BitNet.Cli.Commands;
using BitNet.Runtime.Sampling;

namespace BitNet.Cli.Text;

/// <summary>
/// The sampling and stop flags `generate --prompt` and `chat` share, named as in llama.cpp (scripts depend on them).
/// Defaults are llama.cpp's: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties.
/// </summary>
internal sealed class SamplingOptions
{
    public const float DefaultTemperature = 0.8f;

    public Option<float?> Temperature { get; } = new("--temp")
    {
        Description = $"Sampling temperature, 0 = greedy (default {DefaultTemperature}; generate --tokens: 0, the only value it takes)",
    };

    public Option<int> TopK { get; } = new("--top-k")
    {
        Description = "Keep the K most likely tokens (0 = off)",
        DefaultValueFactory = _ => 40,
    };

    public Option<float> TopP { get; } = new("--top-p")
    {
        Description = "Nucleus sampling: keep the most likely tokens up to this total probability (1 = off)",
        DefaultValueFactory = _ => 0.95f,
    };

    public Option<float> MinP { get; } = new("--min-p")
    {
        Description = "Keep tokens at least this fraction as likely as the best one (0 = off)",
        DefaultValueFactory = _ => 0.05f,
    };

    public Option<float> RepeatPenalty { get; } = new("--repeat-penalty")
    {
        Description = "Penalize tokens of the last --repeat-last-n (1 = off)",
        DefaultValueFactory = _ => 1f,
    };

    public Option<int> RepeatLastN { get; } = new("--repeat-last-n")
    {
        Description = "Window of --repeat-penalty in tokens (0 = whole history)",
        DefaultValueFactory = _ => 64,
    };

    public Option<float> PresencePenalty { get; } = new("--presence-penalty")
    {
        Description = "OpenAI presence penalty, -2..2 (0 = off)",
    };

    public Option<float> FrequencyPenalty { get; } = new("--frequency-penalty")
    {
        Description = "OpenAI frequency penalty, -2..2 (0 = off)",
    };

    public Option<ulong?> Seed { get; } = new("--seed")
    {
        Description = "Random seed: the same seed and prompt give the same text (default: random)",
    };

    public Option<string[]> Stop { get; } = new("--stop")
    {
        Description = "Stop when the text contains this string (repeatable); the string is not printed",
    };

    private IEnumerable<Option> All =>
        [Temperature, TopK, TopP, MinP, RepeatPenalty, RepeatLastN, PresencePenalty, FrequencyPenalty, Seed, Stop];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Options.Add(option);
    }

    /// <summary>The first of these flags given explicitly on the command line (default values do not count), or null.</summary>
    public string? FirstGiven(ParseResult result, bool exceptTemperature)
    {
        foreach (var option in All)
        {
            if (exceptTemperature && option == Temperature) continue;
            if (result.GetResult(option) is OptionResult { Implicit: false }) return option.Name;
        }
        return null;
    }

    /// <summary>The stop strings given with --stop; an empty one is a user error.</summary>
    public IReadOnlyList<string> StopStrings(ParseResult result)
    {
        var stops = result.GetValue(Stop) ?? [];
        foreach (var stop in stops)
            if (string.IsNullOrEmpty(stop)) throw new CliException("--stop: a stop string cannot be empty");
        return stops;
    }

    /// <summary>Builds and validates the parameters; a bad value becomes a <see cref="CliException"/> naming the flag.</summary>
    public SamplingParameters Build(ParseResult result, int vocabSize)
    {
        var parameters = new SamplingParameters
        {
            Temperature = result.GetValue(Temperature) ?? DefaultTemperature,
            TopK = result.GetValue(TopK),
            TopP = result.GetValue(TopP),
            MinP = result.GetValue(MinP),
            RepetitionPenalty = result.GetValue(RepeatPenalty),
            RepeatLastN = result.GetValue(RepeatLastN),
            PresencePenalty = result.GetValue(PresencePenalty),
            FrequencyPenalty = result.GetValue(FrequencyPenalty),
            Seed = result.GetValue(Seed),
        };
        try
        {
            parameters.Validate(vocabSize);
        }
        catch (ArgumentException e) when (e.ParamName is { } field && FlagOf(field) is { } flag)
        {
            // "TopP must be in (0, 1], got 2 (Parameter 'TopP')" -> "--top-p must be in (0, 1], got 2"
            string message = e.Message;
            string suffix = $" (Parameter '{field}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
            throw new CliException(message.Replace(field, flag, StringComparison.Ordinal));
        }
        return parameters;
    }

    private string? FlagOf(string field) => field switch
    {
        nameof(SamplingParameters.Temperature) => Temperature.Name,
        nameof(SamplingParameters.TopK) => TopK.Name,
        nameof(SamplingParameters.TopP) => TopP.Name,
        nameof(SamplingParameters.MinP) => MinP.Name,
        nameof(SamplingParameters.RepetitionPenalty) => RepeatPenalty.Name,
        nameof(SamplingParameters.RepeatLastN) => RepeatLastN.Name,
        nameof(SamplingParameters.PresencePenalty) => PresencePenalty.Name,
        nameof(SamplingParameters.FrequencyPenalty) => FrequencyPenalty.Name,
        _ => null,
    };
}
