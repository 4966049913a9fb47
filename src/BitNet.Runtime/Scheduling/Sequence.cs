using BitNet.Runtime.Decoding;

namespace BitNet.Runtime.Scheduling;

public enum SequenceState
{
    /// <summary>Running prompt chunks through the model.</summary>
    Prefilling,
    /// <summary>An extra choice waiting for the first choice's prefill to be copied into its slot.</summary>
    AwaitingPrefix,
    /// <summary>Generating one token per step.</summary>
    Decoding,
    Finished,
}

/// <summary>One choice of one request as the engine runs it: its KV slot, position, sampler and text state.</summary>
internal sealed class Sequence
{
    public Sequence(ActiveRequest owner, int choice, int slot, TokenDecoder decoder)
    {
        Owner = owner;
        Choice = choice;
        Slot = slot;
        Decoder = decoder;
    }

    public ActiveRequest Owner { get; }
    public int Choice { get; }
    public int Slot { get; }

    /// <summary>Sampling, stop rules, text and grammar state of this choice (the decoding path the CLI shares).</summary>
    public TokenDecoder Decoder { get; }
    public SequenceState State { get; set; }

    /// <summary>Tokens with KV in the slot = position of the next token fed.</summary>
    public int Position { get; set; }

    /// <summary>Prompt tokens fed so far (prefill progress).</summary>
    public int PromptFed { get; set; }

    /// <summary>The token to feed in the next decode step (the last one sampled).</summary>
    public int PendingToken { get; set; } = -1;

    /// <summary>Row of the step's logits this sequence reads, or -1.</summary>
    public int LogitsRow { get; set; } = -1;

    /// <summary>The step's sampled token, text and outcome, between the sampling stage and its events.</summary>
    public DecodeStep Sampled { get; set; }

    /// <summary>Why the step's sampling failed (non-finite logits), or null.</summary>
    public InvalidOperationException? SampleError { get; set; }
}

/// <summary>A request in the engine: its choices, its event channel and its clocks.</summary>
internal sealed class ActiveRequest(GenerationRequest request, System.Threading.Channels.ChannelWriter<GenerationEvent> events, long submitted)
{
    public GenerationRequest Request { get; } = request;
    public System.Threading.Channels.ChannelWriter<GenerationEvent> Events { get; } = events;
    public long Submitted { get; } = submitted;
    public long Admitted { get; set; }
    public long PromptDone { get; set; }
    public long FirstToken { get; set; }
    public int CachedTokens { get; set; }
    public int CompletionTokens { get; set; }
    /// <summary>This request's share of the process CPU time of the steps it took part in (by tokens fed).</summary>
    public double CpuSeconds { get; set; }
    public int OpenChoices { get; set; }
    public List<Sequence> Sequences { get; } = [];

    /// <summary>The request's decoding rules, built at admission and shared by its choices.</summary>
    public DecodingRules? Rules { get; set; }
    public bool Failed { get; set; }

    /// <summary>An embedding request (no tokens sampled): the sum of its tokens' final hidden states so far, else null.</summary>
    public float[]? EmbeddingSum { get; init; }

    /// <summary>The finished embedding (L2-normalized mean), set by the engine before the Completed event.</summary>
    public float[]? Embedding { get; set; }
}
