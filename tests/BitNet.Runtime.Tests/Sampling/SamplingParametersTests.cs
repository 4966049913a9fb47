using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Sampling;

public class SamplingParametersTests
{
    private const int Vocab = 100;

    [Fact]
    public void Defaults_AreValid_AndChangeNothing()
    {
        var p = new SamplingParameters();
        p.Validate(Vocab);
        Assert.Equal(1f, p.Temperature);
        Assert.Equal(0, p.TopK);
        Assert.Equal(1f, p.TopP);
        Assert.Equal(0f, p.MinP);
        Assert.Equal(1f, p.RepetitionPenalty);
        Assert.Equal(64, p.RepeatLastN);
        Assert.False(p.HasPenalties);
        Assert.False(p.IsGreedy);
        Assert.True(p.TopLogprobs < 0);
    }

    [Fact]
    public void Boundaries_AreAccepted()
    {
        new SamplingParameters
        {
            Temperature = 0, TopK = 1_000_000, TopP = 1e-6f, MinP = 1, RepetitionPenalty = 1e-3f,
            PresencePenalty = -2, FrequencyPenalty = 2, RepeatLastN = 0, TopLogprobs = 20, Seed = ulong.MaxValue,
            LogitBias = new Dictionary<int, float> { [0] = -100, [Vocab - 1] = 100 },
        }.Validate(Vocab);
    }

    [Theory]
    [InlineData("Temperature", -0.1f)]
    [InlineData("Temperature", float.NaN)]
    [InlineData("Temperature", float.PositiveInfinity)]
    [InlineData("TopK", -1f)]
    [InlineData("TopP", 0f)]
    [InlineData("TopP", 1.01f)]
    [InlineData("TopP", float.NaN)]
    [InlineData("MinP", -0.01f)]
    [InlineData("MinP", 1.5f)]
    [InlineData("MinP", float.NaN)]
    [InlineData("RepetitionPenalty", 0f)]
    [InlineData("RepetitionPenalty", -1f)]
    [InlineData("RepetitionPenalty", float.PositiveInfinity)]
    [InlineData("PresencePenalty", 2.5f)]
    [InlineData("PresencePenalty", float.NaN)]
    [InlineData("FrequencyPenalty", -2.01f)]
    [InlineData("FrequencyPenalty", float.NegativeInfinity)]
    [InlineData("RepeatLastN", -1f)]
    [InlineData("TopLogprobs", 21f)]
    public void OutOfRange_ThrowsNamingTheField(string field, float value)
    {
        var p = field switch
        {
            "Temperature" => new SamplingParameters { Temperature = value },
            "TopK" => new SamplingParameters { TopK = (int)value },
            "TopP" => new SamplingParameters { TopP = value },
            "MinP" => new SamplingParameters { MinP = value },
            "RepetitionPenalty" => new SamplingParameters { RepetitionPenalty = value },
            "PresencePenalty" => new SamplingParameters { PresencePenalty = value },
            "FrequencyPenalty" => new SamplingParameters { FrequencyPenalty = value },
            "RepeatLastN" => new SamplingParameters { RepeatLastN = (int)value },
            "TopLogprobs" => new SamplingParameters { TopLogprobs = (int)value },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
        var e = Assert.Throws<ArgumentException>(() => p.Validate(Vocab));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(field, e.Message);
        Assert.Throws<ArgumentException>(() => new Sampler(Vocab, p));
    }

    [Theory]
    [InlineData(Vocab, 1f)]
    [InlineData(-1, 1f)]
    [InlineData(0, 100.5f)]
    [InlineData(0, -101f)]
    [InlineData(0, float.NaN)]
    [InlineData(0, float.NegativeInfinity)]
    public void BadLogitBias_ThrowsNamingTheField(int token, float bias)
    {
        var p = new SamplingParameters { LogitBias = new Dictionary<int, float> { [token] = bias } };
        var e = Assert.Throws<ArgumentException>(() => p.Validate(Vocab));
        Assert.Equal("LogitBias", e.ParamName);
        Assert.Contains(token.ToString(), e.Message);
    }

    [Fact]
    public void NonPositiveVocabulary_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingParameters().Validate(0));
    }
}
