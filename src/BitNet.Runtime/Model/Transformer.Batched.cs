using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>
/// The per-token steps between matmuls on all threads when a step carries several tokens: run on one thread they took
/// about 15% of a 128-token prefill once the matmuls were register-tiled. A single decoded token keeps the serial path
/// (a pool run costs more than its work).
/// <para>
/// Before a matmul, one item takes a token (or a lane tile's 16 tokens) through every step its activations need:
/// residual add, gated activation, RMS norm, int8 quantization and, for a tile, the token-lane copy, while its row is
/// in L1 (each step was a pool run of its own, over rows the other core had partly written). The operations per
/// element are the serial steps', so the results are identical.
/// </para>
/// </summary>
public sealed unsafe partial class Transformer
{
    /// <summary>Tokens from which the per-token steps are split across the threads.</summary>
    private const int ParallelTokens = 2;

    private enum Stage { Activations, Lanes, Tables, Rope, Add }

    /// <summary>One per-token step over a range of tokens (or, for the residual add, of float chunks).</summary>
    private sealed class StageWork(Transformer owner) : IParallelWork
    {
        public Stage Stage;
        public float* X;            // rows [T, Stride]: the input, updated in place by the residual add and the activation
        public float* Residual;     // added to X first, or null
        public float* Up;           // X = act(X) * Up next, or null
        public float* Normed;       // rmsnorm(X) * Weight, which is quantized, when Weight is set
        public float[]? Weight;
        public int Width, Stride;
        public bool Tiles;          // an Activations item is a lane tile (16 tokens, then their lanes), not one token
        public int Chunk;           // floats per item (Add)
        public long Total;          // floats in all (Add)

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            var o = owner;
            switch (Stage)
            {
                case Stage.Activations when Tiles:
                    int end = Math.Min(o._s.Tokens, index * 16 + 16);
                    for (int t = index * 16; t < end; t++) PrepareToken(t);
                    o._s.Act.BuildLaneTile(index);
                    break;
                case Stage.Activations:
                    PrepareToken(index);
                    break;
                case Stage.Lanes:
                    o._s.Act.BuildLaneTile(index);
                    break;
                case Stage.Tables:
                    o._s.Act.BuildTables(index);
                    break;
                case Stage.Rope:
                    o.RopeToken(o._s.Q, index, o._c.QDim, o._c.Heads);
                    o.RopeToken(o._s.K, index, o._c.KvDim, o._c.KvHeads);
                    break;
                default:
                    long start = (long)index * Chunk;
                    int n = (int)Math.Min(Chunk, Total - start);
                    TensorPrimitives.Add(new ReadOnlySpan<float>(X + start, n), new ReadOnlySpan<float>(Residual + start, n), new Span<float>(X + start, n));
                    break;
            }
        }

        /// <summary>Token t's steps, each the serial path's operations on its row (while the row stays in L1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PrepareToken(int t)
        {
            var o = owner;
            float* x = X + (long)t * Stride;
            if (Residual != null)
            {
                var row = new Span<float>(x, Width);
                TensorPrimitives.Add(row, new ReadOnlySpan<float>(Residual + (long)t * Stride, Width), row);
            }
            if (Up != null) o.GatedActivationRange(x, Up + (long)t * Stride, Width);
            if (Weight is null)
            {
                o._s.Act.QuantizeToken(o._w.Kernels, x, t);
                return;
            }
            float* y = Normed + (long)t * Stride;
            float absMax = o.RmsNormRowAbsMax(x, y, Width, Weight);
            o._s.Act.QuantizeToken(o._w.Kernels, y, t, absMax);
        }
    }

    /// <summary>
    /// The activations of the next matmul from rows x [tokens, width]: x += residual, then x = act(x) * up, then
    /// rmsnorm(x) * norm into <paramref name="normed"/>, then int8; each step only where its argument is given.
    /// </summary>
    private void PrepareActivations(float* x, int tokens, int width, float* residual = null, float* up = null, float[]? norm = null, float* normed = null)
    {
        var act = _s.Act;
        if (tokens < ParallelTokens)
        {
            // Step by step, so that `bitnet bench --profile` still shows each one for a decoded token.
            if (residual != null) Add(x, residual, tokens * width);
            if (up != null) GatedActivation(x, up, tokens * width);
            if (norm is not null)
            {
                RmsNorm(x, normed, tokens, width, width, norm);
                x = normed;
            }
            long t0 = Stamp();
            act.Quantize(_w.Kernels, x, tokens, width, width);
            Record(ForwardProfile.Stage.ActivationQuant, t0);
            return;
        }
        // Several tokens: one stage for all steps, counted as ActivationQuant.
        long start = Stamp();
        act.Prepare(tokens, width);
        var work = _s.StageWork;
        work.Stage = Stage.Activations;
        work.X = x;
        work.Residual = residual;
        work.Up = up;
        work.Weight = norm;
        work.Normed = normed;
        work.Width = width;
        work.Stride = width;
        // Whole tiles when there are enough to share (each core then builds lanes from rows it just quantized).
        work.Tiles = act.LaneTiles >= _pool.ThreadCount;
        _pool.Run(work, work.Tiles ? act.LaneTiles : tokens);
        if (!work.Tiles)
        {
            work.Stage = Stage.Lanes;
            _pool.Run(work, act.LaneTiles);
        }
        if (act.HasTables)
        {
            // One token per item: 8-10x a lane tile's work per token, which a few tile-sized items left unbalanced.
            work.Stage = Stage.Tables;
            _pool.Run(work, tokens);
        }
        Record(ForwardProfile.Stage.ActivationQuant, start);
    }

    /// <summary>x += y over n floats: chunks of whole cache lines, about four per thread.</summary>
    private void Add(float* x, float* y, int n)
    {
        long start = Stamp();
        if (_s.Tokens < ParallelTokens || _pool.ThreadCount == 1)
        {
            var a = new Span<float>(x, n);
            TensorPrimitives.Add(a, new ReadOnlySpan<float>(y, n), a);
        }
        else
        {
            var work = _s.StageWork;
            work.Stage = Stage.Add;
            work.X = x;
            work.Residual = y;
            work.Chunk = (int)Math.Max(1024, (n / (_pool.ThreadCount * 4) + 15) & ~15L);
            work.Total = n;
            _pool.Run(work, (int)((n + work.Chunk - 1) / work.Chunk));
        }
        Record(ForwardProfile.Stage.Residual, start);
    }
}
