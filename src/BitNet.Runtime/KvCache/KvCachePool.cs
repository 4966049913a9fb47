using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.KvCache;

/// <summary>
/// A fixed pool of per-sequence key/value caches, allocated once. Slot s, layer l holds <c>K[ctx, kvDim]</c> and
/// <c>V[ctx, kvDim]</c> as F16 (default), F32 or Q8_0 (each head vector in its own <see cref="Q8KvLayout"/> blocks);
/// attention reads them in place (no per-step widening of the cache).
/// Memory is native and committed by the OS on first touch, so an idle slot costs address space, not RSS.
/// </summary>
public sealed unsafe class KvCachePool : IDisposable
{
    private readonly NativeBuffer<byte>[] _slots;
    private readonly long _layerStride;   // bytes
    private readonly int _headDim;

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
        _headDim = config.HeadDim;
        HeadBytes = HeadBytesOf(type, config.HeadDim);
        PositionBytes = (long)config.KvHeads * HeadBytes;
        _layerStride = 2L * contextLength * PositionBytes;
        _slots = new NativeBuffer<byte>[slots];
        for (int i = 0; i < slots; i++) _slots[i] = new NativeBuffer<byte>(_layerStride * Layers, zero: false);
    }

    public KvCacheType Type { get; }

    /// <summary>Bytes of one head vector of one position (keys or values): where KV head g starts is g * HeadBytes.</summary>
    public int HeadBytes { get; }

    /// <summary>Bytes of one position's keys (or values) in one layer: the attention kernel's stride.</summary>
    public long PositionBytes { get; }

    public int Slots { get; }
    public int ContextLength { get; }
    public int Layers { get; }
    public int KvDim { get; }

    /// <summary>Bytes of KV per context position of one sequence (all layers, K and V).</summary>
    public long BytesPerPosition => 2L * Layers * PositionBytes;

    /// <summary>Bytes of KV of one sequence at the full context.</summary>
    public long BytesPerSlot => BytesPerPosition * ContextLength;

    /// <summary>Bytes needed for <paramref name="slots"/> sequences of <paramref name="contextLength"/> positions.</summary>
    public static long BytesFor(ModelConfig config, int slots, int contextLength, KvCacheType type) =>
        2L * config.Layers * config.KvHeads * HeadBytesOf(type, config.HeadDim) * contextLength * slots;

    private static int HeadBytesOf(KvCacheType type, int headDim) => type switch
    {
        KvCacheType.F16 => headDim * 2,
        KvCacheType.F32 => headDim * 4,
        KvCacheType.Q8_0 => Q8KvLayout.HeadBytes(headDim),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown KV cache type"),
    };

    /// <summary>Position 0 of layer <paramref name="layer"/>'s keys; position p starts at p * <see cref="PositionBytes"/>.</summary>
    public byte* Keys(int slot, int layer) => _slots[slot].Pointer + layer * _layerStride;

    public byte* Values(int slot, int layer) => Keys(slot, layer) + ContextLength * PositionBytes;

    /// <summary>Stores one position's key and value vectors (kvDim floats each), converting to the cache type.</summary>
    public void Store(int slot, int layer, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        long at = position * PositionBytes;
        if (Type == KvCacheType.F32)
        {
            key.CopyTo(new Span<float>(Keys(slot, layer) + at, KvDim));
            value.CopyTo(new Span<float>(Values(slot, layer) + at, KvDim));
            return;
        }
        if (Type == KvCacheType.Q8_0)
        {
            StoreQ8(key, Keys(slot, layer) + at);
            StoreQ8(value, Values(slot, layer) + at);
            return;
        }
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(key, new Span<Half>(Keys(slot, layer) + at, KvDim));
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(value, new Span<Half>(Values(slot, layer) + at, KvDim));
    }

    /// <summary>One position's kvDim floats as KV heads of Q8_0 blocks (each head blocked on its own).</summary>
    private void StoreQ8(ReadOnlySpan<float> x, byte* dst)
    {
        fixed (float* p = x)
            for (int h = 0; h * _headDim < KvDim; h++)
                Q8KvLayout.Quantize(p + h * _headDim, _headDim, dst + (long)h * HeadBytes);
    }

    /// <summary>Copies positions [0, count) of every layer from one slot to another (prefix reuse, n > 1 choices).</summary>
    public void CopyPrefix(int fromSlot, int toSlot, int count)
    {
        if ((uint)count > (uint)ContextLength) throw new ArgumentOutOfRangeException(nameof(count));
        long bytes = count * PositionBytes;
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
