using System.Numerics.Tensors;

namespace BitNet.Runtime.Sampling;

/// <summary>
/// Picks the next token of one sequence from its logits. Create one per sequence; its vocabulary-sized scratch is its
/// own or borrowed (<see cref="SamplerBuffers"/>, one per engine slot), so <see cref="Sample"/> and
/// <see cref="Accept"/> allocate nothing once the history buffers have grown.
/// <para>
/// Order, as in vLLM: logit_bias, penalties (repetition, then presence / frequency), then either greedy (argmax) or
/// temperature -> top-k -> top-p -> min-p -> a draw from the renormalized survivors with a seeded RNG.
/// </para>
/// <para>
/// Log-probabilities (when <see cref="SamplingParameters.TopLogprobs"/> >= 0) are the log-softmax of the logits after
/// bias and penalties but before temperature and truncation: the model's own distribution as the request shaped it,
/// which is what vLLM reports by default. Greedy requests therefore still get meaningful logprobs.
/// </para>
/// Not thread-safe: one sequence, one thread (the engine loop).
/// </summary>
public sealed class Sampler
{
    /// <summary>Top-p without top-k first ranks this many best tokens; wider nuclei go to <see cref="NucleusBuckets"/>.</summary>
    private const int TopPWindow = 256;

    private readonly int _vocabSize;
    private readonly SamplingParameters _parameters;
    private readonly float _invTemperature;
    private readonly int _topK;                     // 0 = off (also when >= vocabulary)
    private readonly int[] _biasTokens;
    private readonly float[] _biasValues;
    private readonly PenaltyHistory? _history;
    private Xoshiro256StarStar _rng;

    private readonly SamplerBuffers _buffers;       // weights, candidates (order: see SelectCandidates), sort keys
    private readonly float[] _weights;
    private readonly int[] _candidates;
    private readonly float[] _candidateWeights;
    private int _candidateCount;                    // of the last draw; -1 = the whole vocabulary

    private readonly int[] _topIds;                 // [min(TopLogprobs, vocab)]
    private readonly TokenLogprob[] _topLogprobs;
    private float _lastLogprob = float.NaN;

    /// <summary>
    /// Creates the sampler of one sequence. <paramref name="buffers"/> lends it the vocabulary-sized scratch (no sampler
    /// may use them at the same time); null allocates its own. Throws <see cref="ArgumentException"/> for invalid
    /// parameters or buffers of another vocabulary size.
    /// </summary>
    public Sampler(int vocabSize, SamplingParameters parameters, SamplerBuffers? buffers = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate(vocabSize);
        if (buffers is not null && buffers.VocabSize != vocabSize)
            throw new ArgumentException($"the buffers are for a vocabulary of {buffers.VocabSize}, not {vocabSize}", nameof(buffers));
        _vocabSize = vocabSize;
        _parameters = parameters;
        _invTemperature = parameters.IsGreedy ? 0f : 1f / parameters.Temperature;
        _topK = parameters.TopK < vocabSize ? parameters.TopK : 0;

        var bias = parameters.LogitBias;
        _biasTokens = new int[bias?.Count ?? 0];
        _biasValues = new float[_biasTokens.Length];
        if (bias is not null)
        {
            int i = 0;
            foreach (var (token, value) in bias) (_biasTokens[i], _biasValues[i++]) = (token, value);
        }

        if (parameters.HasPenalties) _history = new PenaltyHistory(vocabSize, parameters);

        Seed = parameters.Seed ?? (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        _rng = new Xoshiro256StarStar(Seed);

        _buffers = buffers ?? new SamplerBuffers(vocabSize);
        _weights = _buffers.Weights;
        _candidates = _buffers.Candidates;
        _candidateWeights = _buffers.CandidateWeights;

        int top = Math.Min(Math.Max(parameters.TopLogprobs, 0), vocabSize);
        _topIds = new int[top];
        _topLogprobs = new TokenLogprob[top];
    }

    /// <summary>Vocabulary size: the required length of the logits.</summary>
    public int VocabSize => _vocabSize;

    /// <summary>The parameters this sampler was created with.</summary>
    public SamplingParameters Parameters => _parameters;

    /// <summary>The seed in use: the requested one, or the random one drawn when none was given.</summary>
    public ulong Seed { get; }

    /// <summary>Log-probability of the token returned by the last <see cref="Sample"/>; NaN when logprobs are off.</summary>
    public float LastLogprob => _lastLogprob;

    /// <summary>
    /// The most likely tokens of the last <see cref="Sample"/> with their log-probabilities, best first
    /// (min(TopLogprobs, vocabulary) entries; empty when logprobs are off). Valid until the next Sample.
    /// </summary>
    public ReadOnlySpan<TokenLogprob> LastTopLogprobs => _topLogprobs;

    /// <summary>How many tokens the last draw chose from; -1 = the whole vocabulary (greedy draws: not updated).</summary>
    internal int LastCandidateCount => _candidateCount;

    /// <summary>The token ids the last draw chose from (empty when it was the whole vocabulary); valid until the buffers' next use.</summary>
    internal ReadOnlySpan<int> LastCandidates => _candidates.AsSpan(0, Math.Max(_candidateCount, 0));

    /// <summary>
    /// Returns the next token. <paramref name="logits"/> must hold one value per vocabulary entry; on return it holds
    /// the logits after logit_bias and penalties (temperature and truncation work on private copies).
    /// Call <see cref="Accept"/> with the token the sequence actually appends so the penalties see it.
    /// </summary>
    public int Sample(Span<float> logits)
    {
        if (logits.Length != _vocabSize)
            throw new ArgumentException($"expected {_vocabSize} logits (the vocabulary size), got {logits.Length}", nameof(logits));

        for (int i = 0; i < _biasTokens.Length; i++) logits[_biasTokens[i]] += _biasValues[i];
        _history?.Apply(logits);

        float max = TensorPrimitives.Max(logits);
        if (!float.IsFinite(max))
            throw new InvalidOperationException(float.IsNaN(max)
                ? "logits contain NaN: the forward pass produced invalid values"
                : $"logits have no finite maximum ({max}): cannot sample");

        // Greedy: the first index holding the maximum, so ties resolve like top-k 1.
        int token = _parameters.IsGreedy ? logits.IndexOf(max) : Draw(logits, max);

        if (_parameters.TopLogprobs >= 0) RecordLogprobs(logits, max, token);
        return token;
    }

    /// <summary>Appends a generated token to the history the penalties look at.</summary>
    public void Accept(int token)
    {
        if ((uint)token >= (uint)_vocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary [0, {_vocabSize})");
        _history?.Add(token);
    }

    /// <summary>
    /// Feeds the prompt to the penalty history when <see cref="SamplingParameters.PenalizePrompt"/> is set
    /// (otherwise only validates the ids). Call once, before the first <see cref="Sample"/>.
    /// </summary>
    public void AcceptPrompt(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens)
            if ((uint)token >= (uint)_vocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), token, $"prompt token id outside the vocabulary [0, {_vocabSize})");
        if (!_parameters.PenalizePrompt || _history is null) return;
        foreach (int token in tokens) _history.Add(token);
    }

    private int Draw(ReadOnlySpan<float> logits, float max)
    {
        _candidateCount = SelectCandidates(logits, max);
        if (_candidateCount < 0) return DrawFrom(_weights, null);
        return DrawFrom(_candidateWeights.AsSpan(0, _candidateCount), _candidates.AsSpan(0, _candidateCount));
    }

    /// <summary>
    /// Applies temperature, top-k, top-p and min-p. Works on weights relative to the best token,
    /// w_i = p_i / p_max = exp((l_i - max) / T), so min-p is simply w_i >= MinP, and top-p and min-p both keep a
    /// prefix of the tokens in rank order: the survivors are the shorter prefix. Returns the number of survivors in
    /// _candidates / _candidateWeights (best first after top-k or a narrow top-p; in vocabulary or bucket order
    /// otherwise, which a draw does not care about), or -1 when nothing is truncated (weights in _weights).
    /// </summary>
    private int SelectCandidates(ReadOnlySpan<float> logits, float max)
    {
        float topP = _parameters.TopP, minP = _parameters.MinP;

        if (_topK > 0)
        {
            // Temperature is monotonic: rank on raw logits, then scale only the k survivors.
            TopSelection.SelectTop(logits, _topK, _candidates, ref _buffers.SortKeys);
            var ids = _candidates.AsSpan(0, _topK);
            var w = _candidateWeights.AsSpan(0, _topK);
            for (int i = 0; i < ids.Length; i++) w[i] = logits[ids[i]];
            RelativeWeights(w, max, w);
            return topP < 1f || minP > 0f ? RankPrefix(w, TopPTarget(w, topP), minP) : _topK;
        }

        var all = _weights.AsSpan();
        RelativeWeights(logits, max, all);

        if (topP < 1f)
        {
            // The nucleus is usually a few dozen tokens: rank a small window first; only when its cumulative
            // probability falls short (a flat distribution) bucket the whole vocabulary instead of sorting it.
            double target = TopPTarget(all, topP);
            int window = Math.Min(TopPWindow, _vocabSize);
            TopSelection.SelectTop(logits, window, _candidates, ref _buffers.SortKeys);
            var w = _candidateWeights.AsSpan(0, window);
            for (int i = 0; i < window; i++) w[i] = all[_candidates[i]];
            int n = RankPrefix(w, target, minP);
            if (n < window || window == _vocabSize) return n;
            _buffers.NucleusBuckets ??= new NucleusBuckets();
            return _buffers.NucleusBuckets.Select(logits, all, max, _parameters.Temperature, target, minP,
                _candidates, _candidateWeights, ref _buffers.SortKeys);
        }

        if (minP > 0f)
        {
            int n = 0;
            for (int i = 0; i < all.Length; i++)
            {
                if (all[i] < minP) continue;
                _candidates[n] = i;
                _candidateWeights[n++] = all[i];
            }
            return n;
        }

        return -1;
    }

    /// <summary>
    /// Length of the kept prefix of weights in rank order: top-p keeps tokens up to and including the one whose
    /// cumulative weight reaches <paramref name="topPTarget"/>; min-p stops before the first weight below
    /// <paramref name="minP"/>. The best token (weight 1) always survives.
    /// </summary>
    private static int RankPrefix(ReadOnlySpan<float> rankedWeights, double topPTarget, float minP)
    {
        double cumulative = 0;
        for (int i = 0; i < rankedWeights.Length; i++)
        {
            float w = rankedWeights[i];
            if (w < minP) return Math.Max(i, 1);
            cumulative += w;
            if (cumulative >= topPTarget) return i + 1;
        }
        return rankedWeights.Length;
    }

    /// <summary>The cumulative weight top-p must reach; infinite when top-p is off, so rounding never cuts a tail.</summary>
    private static double TopPTarget(ReadOnlySpan<float> weights, float topP) =>
        topP < 1f ? topP * (double)TensorPrimitives.Sum(weights) : double.PositiveInfinity;

    /// <summary>destination = exp((logits - max) / T), in [0, 1], 1 at the best token.</summary>
    private void RelativeWeights(ReadOnlySpan<float> logits, float max, Span<float> destination)
    {
        TensorPrimitives.Subtract(logits, max, destination);
        TensorPrimitives.Multiply(destination, _invTemperature, destination);
        TensorPrimitives.Exp(destination, destination);
    }

    /// <summary>Inverse-CDF draw; <paramref name="ids"/> null means index = token id.</summary>
    private int DrawFrom(ReadOnlySpan<float> weights, ReadOnlySpan<int> ids)
    {
        double threshold = _rng.NextDouble() * TensorPrimitives.Sum(weights);
        double cumulative = 0;
        int lastPositive = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            float w = weights[i];
            if (w <= 0f) continue;
            cumulative += w;
            lastPositive = i;
            if (threshold < cumulative) break;
        }
        // Rounding can leave the threshold a hair above the final sum: the last token with weight takes it.
        return ids.IsEmpty ? lastPositive : ids[lastPositive];
    }

    private void RecordLogprobs(ReadOnlySpan<float> logits, float max, int token)
    {
        // log p_i = l_i - logZ, logZ = max + log(sum exp(l - max)): stable for any logit range.
        var scratch = _weights.AsSpan();
        TensorPrimitives.Subtract(logits, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        float logZ = max + MathF.Log(TensorPrimitives.Sum(scratch));
        _lastLogprob = logits[token] - logZ;

        if (_topIds.Length == 0) return;
        TopSelection.SelectTop(logits, _topIds.Length, _topIds, ref _buffers.SortKeys);
        for (int i = 0; i < _topIds.Length; i++)
            _topLogprobs[i] = new TokenLogprob(_topIds[i], logits[_topIds[i]] - logZ);
    }
}
