using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.KvCache;

/// <summary>
/// A fixed pool of per-sequence key/value caches, allocated once. Slot s, layer l holds <c>K[ctx, kvDim]</c> and
/// <c>V[ctx, kvDim]</c> as F16 (default) or F32; attention reads them in place (no per-step widening of the cache).
/// Memory is native and committed by the OS on first touch, so an idle slot costs address space, not RSS.
/// </summary>
public sealed unsafe class KvCachePool : IDisposable
{
    private readonly NativeBuffer<byte>[] _slots;
    private readonly long _layerStride;   // bytes

    public KvCachePool(ModelConfig config, int slots, int contextLength, KvCacheType type = KvCacheType.F16)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "at least one KV slot is needed");
        if (contextLength < 1 || contextLength > config.Context)
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength,
                $"context length must be 1..{config.Context} (the model's trained context)");
        Slots = slots;
        ContextLength = contextLength;
        Layers = config.Layers;
        KvDim = config.KvDim;
        Type = type;
        ElementBytes = type == KvCacheType.F16 ? 2 : 4;
        _layerStride = 2L * contextLength * KvDim * ElementBytes;
        _slots = new NativeBuffer<byte>[slots];
        for (int i = 0; i < slots; i++) _slots[i] = new NativeBuffer<byte>(_layerStride * Layers, zero: false);
    }

    public KvCacheType Type { get; }

    /// <summary>Bytes per cached element (2 for F16, 4 for F32).</summary>
    public int ElementBytes { get; }

    public int Slots { get; }
    public int ContextLength { get; }
    public int Layers { get; }
    public int KvDim { get; }

    /// <summary>Bytes of KV per context position of one sequence (all layers, K and V).</summary>
    public long BytesPerPosition => 2L * Layers * KvDim * ElementBytes;

    /// <summary>Bytes of KV of one sequence at the full context.</summary>
    public long BytesPerSlot => BytesPerPosition * ContextLength;

    /// <summary>Bytes needed for <paramref name="slots"/> sequences of <paramref name="contextLength"/> positions.</summary>
    public static long BytesFor(ModelConfig config, int slots, int contextLength, KvCacheType type) =>
        2L * config.Layers * config.KvDim * (type == KvCacheType.F16 ? 2 : 4) * contextLength * slots;

    /// <summary>Position 0 of layer <paramref name="layer"/>'s keys (elements of <see cref="ElementBytes"/>).</summary>
    public byte* Keys(int slot, int layer) => _slots[slot].Pointer + layer * _layerStride;

    public byte* Values(int slot, int layer) => Keys(slot, layer) + (long)ContextLength * KvDim * ElementBytes;

    /// <summary>Stores one position's key and value vectors (kvDim floats each), converting to the cache type.</summary>
    public void Store(int slot, int layer, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        long at = (long)position * KvDim * ElementBytes;
        if (Type == KvCacheType.F32)
        {
            key.CopyTo(new Span<float>(Keys(slot, layer) + at, KvDim));
            value.CopyTo(new Span<float>(Values(slot, layer) + at, KvDim));
            return;
        }
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(key, new Span<Half>(Keys(slot, layer) + at, KvDim));
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(value, new Span<Half>(Values(slot, layer) + at, KvDim));
    }

    /// <summary>Copies positions [0, count) of every layer from one slot to another (prefix reuse, n > 1 choices).</summary>
    public void CopyPrefix(int fromSlot, int toSlot, int count)
    {
        if ((uint)count > (uint)ContextLength) throw new ArgumentOutOfRangeException(nameof(count));
        long bytes = (long)count * KvDim * ElementBytes;
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
