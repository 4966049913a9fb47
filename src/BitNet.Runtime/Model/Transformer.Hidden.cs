using System.Numerics.Tensors;

namespace BitNet.Runtime.Model;

public sealed unsafe partial class Transformer
{
    /// <summary>
    /// The final hidden state of token <paramref name="token"/> of the last <see cref="Forward"/> call: its residual
    /// stream after the final RMS norm (times <c>output_norm</c>), exactly the vector the head multiplies, whether or
    /// not that token asked for logits. Embeddings pool these. Valid until the next Forward.
    /// </summary>
    public void FinalHidden(int token, Span<float> destination)
    {
        int d = _c.Embedding;
        if ((uint)token >= (uint)_s.Tokens) throw new ArgumentOutOfRangeException(nameof(token), token, $"the last batch had {_s.Tokens} tokens");
        if (destination.Length < d) throw new ArgumentException($"destination holds {destination.Length} floats; {d} needed");
        // The same arithmetic as the head's norm (RmsNorm), so the result is bit-identical to the head's input.
        var x = new ReadOnlySpan<float>(_s.X + (long)token * d, d);
        var y = destination[..d];
        float ss = TensorPrimitives.SumOfSquares(x);
        float scale = 1f / MathF.Sqrt(ss / d + _c.RmsEps);
        TensorPrimitives.Multiply(x, scale, y);
        TensorPrimitives.Multiply(y, _w.OutputNorm, y);
    }
}
