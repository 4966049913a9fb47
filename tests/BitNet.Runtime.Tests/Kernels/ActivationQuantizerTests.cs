using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The int8 activation quantizer of every variant against its definition (round half to even, clamp to int8). The
/// ternary kernels of every variant are checked by <see cref="KernelVariantTests"/> through the self-test.
/// </summary>
public sealed class ActivationQuantizerTests
{
    public static TheoryData<string, int> VariantsAndLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (var k in KernelSet.Supported)
            foreach (int length in new[] { 1, 31, 32, 33, 6912 }) data.Add(k.Name, length);
        return data;
    }

    [Theory]
    [MemberData(nameof(VariantsAndLengths))]
    public void ActivationQuantizerMatchesTheDefinition(string variant, int length)
    {
        var rng = new Random(length);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 20 - 10);
        x[rng.Next(length)] = 12.5f; // ties: 12.5 * 127 / 12.5 is exactly 127
        var q = new sbyte[length];
        float scale = KernelSet.Select(variant).QuantizeRow(x, q);
        float m = 0;
        foreach (var v in x) m = Math.Max(m, Math.Abs(v));
        Assert.Equal(m / 127f, scale);
        for (int i = 0; i < length; i++)
        {
            float r = MathF.Round(x[i] * (127f / m), MidpointRounding.ToEven);
            Assert.Equal((sbyte)Math.Clamp(r, -128, 127), q[i]);
        }
    }

    [Theory]
    [MemberData(nameof(KernelVariantTests.SupportedVariants), MemberType = typeof(KernelVariantTests))]
    public void ActivationQuantizerRoundsHalfToEven(string variant)
    {
        // m = 127 makes the scale exactly 1, so x is its own quantized value before rounding.
        // 32 values so the vector loop (not only the scalar tail) sees the ties.
        float[] pattern = [127f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f];
        var x = Enumerable.Range(0, 32).Select(i => pattern[i % 8]).ToArray();
        var q = new sbyte[x.Length];
        KernelSet.Select(variant).QuantizeRow(x, q);
        sbyte[] expected = [127, 0, 2, 2, 0, -2, -2, 3];
        Assert.Equal(Enumerable.Range(0, 32).Select(i => expected[i % 8]), q);
    }
}
