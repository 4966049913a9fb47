using BenchmarkDotNet.Attributes;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Quantization;

namespace BitNet.Benchmarks;

/// <summary>
/// The kernels of one 2B4T token, single-threaded, on 2B4T shapes: ternary GEMV (decode, 1 token) and GEMM (batched
/// decode, 8 tokens; prefill, 64: the register-tiled TernaryTiles path) per format, activation quantization, the F16 and
/// Q8 LM head (a slice of its rows) and attention. `ternary-rates` (Program.cs) prints the same GEMMs as GMAC/s in seconds.
/// [MemoryDiagnoser] proves the steady state allocates nothing. Every kernel variant this CPU runs is measured.
/// </summary>
[MemoryDiagnoser]
public unsafe class KernelBenchmarks
{
    public static IEnumerable<string> Variants => KernelSet.Supported.Select(k => k.Name);

    [ParamsSource(nameof(Variants))]
    public string Kernels { get; set; } = "scalar";

    private KernelSet _kernels = KernelSet.Scalar;
    private NativeBuffer<byte> _weights = null!;
    private TernaryMatrix _matrix = null!;
    private QuantizedActivations _act = null!;
    private float[] _y = null!;
    private float[] _x = null!;
    private sbyte[] _q = null!;

    [Params(TernaryLayout.I2S, TernaryLayout.TQ2, TernaryLayout.TQ1)]
    public TernaryLayout Layout { get; set; }

    /// <summary>FFN up/gate (2560 -> 6912) and down (6912 -> 2560).</summary>
    [Params("2560x6912", "6912x2560")]
    public string Shape { get; set; } = "2560x6912";

    [Params(1, 8, 64)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _kernels = KernelSet.Select(Kernels);
        var parts = Shape.Split('x');
        int k = int.Parse(parts[0]), n = int.Parse(parts[1]);
        var format = Layout switch { TernaryLayout.I2S => TensorFormats.I2_S, TernaryLayout.TQ2 => TensorFormats.TQ2_0, _ => TensorFormats.TQ1_0 };
        var values = new float[(long)k * n];
        var rng = new Random(1);
        for (int i = 0; i < values.Length; i++) values[i] = (rng.Next(3) - 1) * 0.5f;
        var bytes = ReferenceQuantizer.Quantize(format.Type, values, k);
        _weights = new NativeBuffer<byte>(bytes.Length);
        bytes.CopyTo(new Span<byte>(_weights.Pointer, bytes.Length));
        _matrix = new TernaryMatrix("bench", Layout, _weights.Pointer, k, n, Layout == TernaryLayout.I2S ? 0.5f : 1f);
        _act = new QuantizedActivations(Tokens, k);
        _x = new float[Tokens * k];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        fixed (float* xp = _x) _act.Quantize(_kernels, xp, Tokens, k, k);
        _y = new float[Tokens * n];
        _q = new sbyte[k];
    }

    [Benchmark]
    public void TernaryMatMul()
    {
        fixed (float* y = _y) _kernels.TernaryMatMul(_matrix, _act, y, _matrix.N, 0, _matrix.N);
    }

    [Benchmark]
    public float ActivationQuantization() => _kernels.QuantizeRow(_x.AsSpan(0, _matrix.K), _q.AsSpan(0, _matrix.K));

    [GlobalCleanup]
    public void Cleanup()
    {
        _weights.Dispose();
        _act.Dispose();
    }
}

/// <summary>The LM head (F16 fused widening vs the Q8_0 requantized copy; F16 also for eight tokens) over 8192 of 2B4T's 128256 rows, and attention.</summary>
[MemoryDiagnoser]
public unsafe class HeadAndAttentionBenchmarks
{
    [ParamsSource(nameof(Variants))]
    public string Kernels { get; set; } = "scalar";

    public static IEnumerable<string> Variants => KernelBenchmarks.Variants;

    private KernelSet _kernels = KernelSet.Scalar;
    private const int Rows = 8192, Dim = 2560;
    private ushort[] _f16 = null!;
    private FloatMatrix _head = null!;
    private Q8RowMatrix _q8 = null!;
    private float[] _x = null!, _y = null!, _scratch = null!;
    private float[] _x8 = null!, _y8 = null!;                  // eight tokens: batched decode's head
    private float[] _keys = null!, _values = null!, _scores = null!, _out = null!;
    private ushort[] _keys16 = null!, _values16 = null!;        // the same keys and values as an F16 cache
    private float[] _q32 = null!, _out32 = null!;               // 32 prompt tokens x 4 query heads
    private System.Runtime.InteropServices.GCHandle _pin;

    [Params(512, 2048)]
    public int Context { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _kernels = KernelSet.Select(Kernels);
        var rng = new Random(2);
        _f16 = new ushort[Rows * Dim];
        for (int i = 0; i < _f16.Length; i++) _f16[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() - 0.5));
        _pin = System.Runtime.InteropServices.GCHandle.Alloc(_f16, System.Runtime.InteropServices.GCHandleType.Pinned);
        _head = new FloatMatrix("head", TensorFormats.F16, (byte*)_pin.AddrOfPinnedObject(), (long)Rows * Dim * 2, Dim, Rows);
        _q8 = new Q8RowMatrix(_head);
        _x = new float[Dim];
        for (int i = 0; i < Dim; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        _y = new float[Rows];
        _x8 = new float[8 * Dim];
        for (int i = 0; i < _x8.Length; i++) _x8[i] = (float)(rng.NextDouble() - 0.5);
        _y8 = new float[8 * Rows];
        _scratch = new float[Dim];
        // 2B4T attention: head dim 128, 5 KV heads (640 floats per position).
        _keys = new float[Context * 640];
        _values = new float[Context * 640];
        for (int i = 0; i < _keys.Length; i++) { _keys[i] = (float)(rng.NextDouble() - 0.5); _values[i] = (float)(rng.NextDouble() - 0.5); }
        _scores = new float[Context];
        _out = new float[128];
        _keys16 = Array.ConvertAll(_keys, f => BitConverter.HalfToUInt16Bits((Half)f));
        _values16 = Array.ConvertAll(_values, f => BitConverter.HalfToUInt16Bits((Half)f));
        _q32 = new float[32 * 512];
        for (int i = 0; i < _q32.Length; i++) _q32[i] = (float)(rng.NextDouble() - 0.5);
        _out32 = new float[32 * 512];
    }

    [Benchmark]
    public void HeadF16()
    {
        fixed (float* x = _x) fixed (float* y = _y) _head.MatMul(_kernels, x, 1, Dim, y, Rows, 0, Rows, _scratch);
    }

    /// <summary>Eight tokens (the 2 x 8 tiles of batched decode).</summary>
    [Benchmark]
    public void HeadF16Batch8()
    {
        fixed (float* x = _x8) fixed (float* y = _y8) _head.MatMul(_kernels, x, 8, Dim, y, Rows, 0, Rows, _scratch);
    }

    [Benchmark]
    public void HeadQ8()
    {
        fixed (float* x = _x) fixed (float* y = _y) _q8.MatMul(_kernels, x, 1, Dim, y, Rows, 0, Rows, _scratch);
    }

    [Benchmark]
    public void AttentionOneHead()
    {
        fixed (float* q = _x) fixed (float* k = _keys) fixed (float* v = _values) fixed (float* o = _out)
            _kernels.Attend(KvCacheType.F32, q, 1, (byte*)k, (byte*)v, 640 * sizeof(float), Context, 128, _scores, o);
    }

    /// <summary>
    /// Prefill: the last 32 tokens of a Context-token prompt, the 4 query heads of one KV head (2B4T's group), F16 cache:
    /// one pool item of the prompt's attention (four 8-token tiles sharing one widening of the cache).
    /// </summary>
    [Benchmark]
    public void AttentionPrefillBlock()
    {
        fixed (float* q = _q32) fixed (ushort* k = _keys16) fixed (ushort* v = _values16) fixed (float* o = _out32)
            _kernels.AttendBlock(KvCacheType.F16, q, 512, 32, 4, (byte*)k, (byte*)v, 640 * sizeof(ushort), Context - 31, 128, o, 512);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _q8.Dispose();
        _pin.Free();
    }
}
