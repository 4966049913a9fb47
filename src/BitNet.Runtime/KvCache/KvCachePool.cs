using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.KvCache;

/// <summary>
/// A fixed pool of per-sequence key/value caches, allocated once. Slot s, layer l holds
/// <c>K[ctx, kvDim]</c> and <c>V[ctx, kvDim]</c> (float32). Memory is native and committed by the OS on first
/// touch, so an idle slot costs address space, not RSS.
/// </summary>
public sealed unsafe class KvCachePool : IDisposable
{
    private readonly NativeBuffer<float>[] _slots;
    private readonly long _layerStride;

    public KvCachePool(ModelConfig config, int slots, int contextLength)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "at least one KV slot is needed");
        if (contextLength < 1 || contextLength > config.Context)
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength,
                $"context length must be 1..{config.Context} (the model's trained context)");
        Slots = slots;
        ContextLength = contextLength;
        Layers = config.Layers;
        KvDim = config.KvDim;
        _layerStride = 2L * contextLength * KvDim;
        _slots = new NativeBuffer<float>[slots];
        for (int i = 0; i < slots; i++) _slots[i] = new NativeBuffer<float>(_layerStride * Layers, zero: false);
    }

    public int Slots { get; }
    public int ContextLength { get; }
    public int Layers { get; }
    public int KvDim { get; }

    /// <summary>Bytes of KV per context position of one sequence (all layers, K and V).</summary>
    public long BytesPerPosition => 2L * Layers * KvDim * sizeof(float);

    public float* Keys(int slot, int layer) => _slots[slot].Pointer + layer * _layerStride;

    public float* Values(int slot, int layer) => _slots[slot].Pointer + layer * _layerStride + (long)ContextLength * KvDim;

    /// <summary>Copies positions [0, count) of every layer from one slot to another (prefix reuse, n > 1 choices).</summary>
    public void CopyPrefix(int fromSlot, int toSlot, int count)
    {
        if ((uint)count > (uint)ContextLength) throw new ArgumentOutOfRangeException(nameof(count));
        long bytes = (long)count * KvDim * sizeof(float);
        for (int l = 0; l < Layers; l++)
        {
            Buffer.MemoryCopy(Keys(fromSlot, l), Keys(toSlot, l), bytes, bytes);
            Buffer.MemoryCopy(Values(fromSlot, l), Values(toSlot, l), bytes, bytes);
        }
    }

    public void Dispose()
    {
        foreach (var s in _slots) s.Dispose();
    }
}
