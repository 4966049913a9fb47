using System.Diagnostics;

namespace BitNet.Runtime.Model;

/// <summary>Where the forward pass spends its time, per step kind (for `bitnet bench --profile` and the docs).</summary>
public sealed class ForwardProfile
{
    public enum Stage { Embedding, Norms, ActivationQuant, TernaryMatMul, Rope, KvStore, Attention, FfnActivation, Residual, Head }

    private readonly long[] _ticks = new long[Enum.GetValues<Stage>().Length];

    public void Add(Stage stage, long startTimestamp) => _ticks[(int)stage] += Stopwatch.GetTimestamp() - startTimestamp;

    public void Reset() => Array.Clear(_ticks);

    public TimeSpan this[Stage stage] => Stopwatch.GetElapsedTime(0, _ticks[(int)stage]);

    public TimeSpan Total
    {
        get
        {
            long sum = 0;
            foreach (var t in _ticks) sum += t;
            return Stopwatch.GetElapsedTime(0, sum);
        }
    }

    public IEnumerable<(Stage Stage, TimeSpan Time)> Entries()
    {
        foreach (var s in Enum.GetValues<Stage>()) yield return (s, this[s]);
    }
}
