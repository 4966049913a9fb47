using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>
/// The per-token steps (norms, activation quantization, the gated activation, residual adds) on all threads when a
/// step carries several tokens: run on one thread they took about 15% of a 128-token prefill once the matmuls were
/// register-tiled. A single decoded token keeps the serial path (a pool run costs more than its work).
/// </summary>
public sealed unsafe partial class Transformer
{
    /// <summary>Tokens from which the per-token steps are split across the threads.</summary>
    private const int ParallelTokens = 2;

    private enum Stage { Quantize, NormQuantize, Lanes, Gate, Add }

    /// <summary>One per-token step over a range of tokens (or, for the elementwise steps, of float chunks).</summary>
    private sealed class StageWork(Transformer owner) : IParallelWork
    {
        public Stage Stage;
        public float* X, Y;
        public int Width, Stride;
        public float[]? Weight;
        public int Chunk;   // floats per item (Gate, Add)
        public long Total;  // floats in all (Gate, Add)

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            var o = owner;
            switch (Stage)
            {
                case Stage.Quantize:
                    o._s.Act.QuantizeToken(o._w.Kernels, X + (long)index * Stride, index);
                    break;
                case Stage.NormQuantize:
                    // One item per token: the normed row is quantized while it is still in L1, and one pool run
                    // replaces two (each run's dispatch costs more than a decode token's norm).
                    float* y = Y + (long)index * Stride;
                    o.RmsNormRow(X + (long)index * Stride, y, Width, Weight!);
                    o._s.Act.QuantizeToken(o._w.Kernels, y, index);
                    break;
                case Stage.Lanes:
                    o._s.Act.BuildLaneTile(index);
                    break;
                default:
                    long start = (long)index * Chunk;
                    int n = (int)Math.Min(Chunk, Total - start);
                    if (Stage == Stage.Gate) o.GatedActivationRange(X + start, Y + start, n);
                    else TensorPrimitives.Add(new ReadOnlySpan<float>(X + start, n), new ReadOnlySpan<float>(Y + start, n), new Span<float>(X + start, n));
                    break;
            }
        }
    }

    private void RunStage(Stage stage, float* x, float* y, int items, int width = 0, int stride = 0, float[]? weight = null, int chunk = 0, long total = 0)
    {
        var work = _s.StageWork;
        work.Stage = stage;
        work.X = x;
        work.Y = y;
        work.Width = width;
        work.Stride = stride;
        work.Weight = weight;
        work.Chunk = chunk;
        work.Total = total;
        _pool.Run(work, items);
    }

    /// <summary>Elementwise steps over n floats: chunks of whole cache lines, about four per thread.</summary>
    private void RunElementwise(Stage stage, float* x, float* y, long n)
    {
        int chunk = (int)Math.Max(1024, (n / (_pool.ThreadCount * 4) + 15) & ~15L);
        RunStage(stage, x, y, (int)((n + chunk - 1) / chunk), chunk: chunk, total: n);
    }
}
