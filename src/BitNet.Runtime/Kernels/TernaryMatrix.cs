using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Kernels;

/// <summary>The byte layouts the ternary kernels read directly (docs/bitnet-runtime.md §4).</summary>
public enum TernaryLayout
{
    /// <summary>bitnet.cpp I2_S: 32 bytes per 128 weights, codes high bits first, one f32 scale per tensor.</summary>
    I2S,
    /// <summary>llama.cpp TQ2_0: 66 bytes per 256 weights (64 code bytes, low bits first, fp16 d).</summary>
    TQ2,
    /// <summary>llama.cpp TQ1_0: 54 bytes per 256 weights (base-3 packed trits, fp16 d).</summary>
    TQ1,
}

/// <summary>
/// A ternary weight matrix of N output rows by K inputs, viewed in place (memory-mapped) or, for float files that
/// hold ternary values, repacked once into I2_S. Output j for a token with int8 activations q and scale a is
/// <c>a * OutputScale * sum_b d_b * sum_i (code_ji - 1) * q_i</c>, where d_b is the one tensor scale (I2_S) or the
/// per-256-block scale (TQ formats).
/// </summary>
public sealed unsafe class TernaryMatrix : IDisposable
{
    private readonly IDisposable? _owner;

    public TernaryMatrix(string name, TernaryLayout layout, byte* data, int k, int n, float tensorScale, IDisposable? owner = null)
    {
        int block = layout == TernaryLayout.I2S ? 128 : 256;
        if (k <= 0 || n <= 0 || k % block != 0)
            throw new InvalidDataException($"tensor '{name}': {k} inputs is not a positive multiple of the {layout} block size {block}");
        Name = name;
        Layout = layout;
        Data = data;
        K = k;
        N = n;
        TensorScale = tensorScale;
        _owner = owner;
        BlockWeights = layout == TernaryLayout.I2S ? 128 : 256;
        BlockBytes = layout switch { TernaryLayout.I2S => 32, TernaryLayout.TQ2 => 66, _ => 54 };
        RowBytes = (long)k / BlockWeights * BlockBytes;
    }

    public string Name { get; }
    public TernaryLayout Layout { get; }
    public byte* Data { get; }

    /// <summary>Inputs per row.</summary>
    public int K { get; }

    /// <summary>Output rows.</summary>
    public int N { get; }

    /// <summary>I2_S per-tensor scale (1 for the TQ formats, whose scales live in the blocks).</summary>
    public float TensorScale { get; }

    /// <summary>Extra output multiplier (the `bitnet` arch's optional per-tensor `.scale` tensors).</summary>
    public float OutputScale { get; set; } = 1f;

    public int BlockWeights { get; }

    public int BlockBytes { get; }

    /// <summary>Bytes per row (a field: the kernels compute row addresses in their inner loops).</summary>
    public long RowBytes { get; }

    public byte* Row(int n) => Data + n * RowBytes;

    public long TotalBytes => RowBytes * N;

    private int _code3 = -1; // -1 unknown, else 0 / 1 (threads may both compute it: the same answer)

    /// <summary>
    /// Whether an I2_S matrix holds a code 3 anywhere (two set bits in one 2-bit field; no valid file has one, its
    /// weight would be +2). Found by one scan on first use; such a matrix keeps the byte-dot kernels, which take any code.
    /// </summary>
    public bool HasCode3
    {
        get
        {
            if (_code3 < 0) _code3 = Layout == TernaryLayout.I2S && ScanCode3() ? 1 : 0;
            return _code3 == 1;
        }
    }

    private unsafe bool ScanCode3()
    {
        long bytes = TotalBytes, i = 0;
        var any = System.Runtime.Intrinsics.Vector256<byte>.Zero;
        for (; i + 32 <= bytes; i += 32)
        {
            var v = System.Runtime.Intrinsics.Vector256.Load(Data + i);
            any |= v & (v >>> 1);
        }
        byte rest = 0;
        for (; i < bytes; i++) rest |= (byte)(Data[i] & (Data[i] >> 1));
        return ((any & System.Runtime.Intrinsics.Vector256.Create((byte)0x55)) != System.Runtime.Intrinsics.Vector256<byte>.Zero) || (rest & 0x55) != 0;
    }

    public static TernaryLayout LayoutOf(GgmlType type) => type switch
    {
        GgmlType.I2_S => TernaryLayout.I2S,
        GgmlType.TQ2_0 => TernaryLayout.TQ2,
        GgmlType.TQ1_0 => TernaryLayout.TQ1,
        _ => throw new ArgumentException($"{type} is not a ternary layout"),
    };

    public void Dispose() => _owner?.Dispose();

    public override string ToString() => $"{Name} {Layout} [{K} x {N}]";
}
