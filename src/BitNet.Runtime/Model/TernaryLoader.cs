using BitNet.Runtime.Gguf;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Weights;

namespace BitNet.Runtime.Model;

/// <summary>
/// Binds a BitLinear weight to the ternary kernels: I2_S / TQ2_0 / TQ1_0 tensors are used in place; float tensors
/// (F32/F16/BF16 files, or latent weights) are ternarized once and repacked into I2_S.
/// </summary>
internal static class TernaryLoader
{
    /// <param name="latent">Whether float weights that are not ternary-valued are latent weights to ternarize
    /// (BitNet checkpoints) rather than proof of an ordinary model this engine does not run.</param>
    public static unsafe TernaryMatrix Load(IWeightSource file, string baseName, int k, int n, bool latent = true)
    {
        var info = file.GetTensor(baseName + ".weight");
        ModelWeights.ExpectShape(info, k, n);
        var format = info.Format ?? throw new InvalidDataException(latent
            ? $"tensor '{info.Name}' has unsupported type {info.TypeId}"
            : $"tensor '{info.Name}' has type {info.TypeName}, not a ternary type (I2_S, TQ1_0, TQ2_0): this is an ordinary " +
              "quantized model, and BitNet.Server runs only ternary (1.58-bit) models");
        TernaryMatrix m;
        if (format.IsTernary)
        {
            byte* p = file.GetTensorPointer(info);
            var layout = TernaryMatrix.LayoutOf(format.Type);
            float scale = layout == TernaryLayout.I2S ? *(float*)(p + (long)k * n / 4) : 1f;
            if (!float.IsFinite(scale))
                throw new InvalidDataException($"tensor '{info.Name}' has a non-finite I2_S scale");
            m = new TernaryMatrix(info.Name, layout, p, k, n, scale);
        }
        else
        {
            m = Repack(file, info, k, n, latent);
        }

        if (file.TryGetTensor(baseName + ".scale", out var scaleInfo))
            m.OutputScale = ModelWeights.LoadVector(file, scaleInfo.Name, 1)[0];
        return m;
    }

    /// <summary>
    /// Float weights: if every nonzero |w| is the same value s the tensor already is t*s (a ternary model saved as
    /// floats) and is kept exactly; otherwise they are latent weights, quantized with absmean (s = mean|W|,
    /// t = clamp(round(W/s), -1, 1)) as BitNet b1.58 does at load.
    /// </summary>
    private static unsafe TernaryMatrix Repack(IWeightSource file, GgufTensorInfo info, int k, int n, bool latent)
    {
        if (k % 128 != 0)
            throw new InvalidDataException($"tensor '{info.Name}': {k} inputs is not a multiple of 128, required for ternary kernels");
        var data = file.GetTensorData(info);
        var values = new float[(long)k * n];
        for (int r = 0; r < n; r++) info.Format!.DequantizeRow(data, r, values.AsSpan(r * k, k));

        float common = 0;
        bool exact = true;
        double absSum = 0;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) throw new InvalidDataException($"tensor '{info.Name}' contains NaN or infinity");
            float a = MathF.Abs(v);
            absSum += a;
            if (a == 0) continue;
            if (common == 0) common = a;
            else if (a != common) exact = false;
        }
        if (!exact && !latent)
            throw new InvalidDataException($"tensor '{info.Name}' holds ordinary {info.TypeName} weights, not ternary values: " +
                "this is not a 1.58-bit model, and BitNet.Server runs only ternary models");
        float scale = exact ? (common == 0 ? 1f : common) : (float)Math.Max(absSum / values.Length, 1e-8);

        var buffer = new NativeBuffer<byte>((long)k * n / 4);
        byte* dst = buffer.Pointer;
        for (long blk = 0; blk < (long)k * n / 128; blk++)
        {
            var src = values.AsSpan((int)(blk * 128), 128);
            for (int i = 0; i < 32; i++)
            {
                dst[blk * 32 + i] = (byte)((Code(src[i], scale) << 6) | (Code(src[32 + i], scale) << 4)
                    | (Code(src[64 + i], scale) << 2) | Code(src[96 + i], scale));
            }
        }
        return new TernaryMatrix(info.Name, TernaryLayout.I2S, dst, k, n, scale, buffer);
    }

    private static int Code(float w, float scale) => (int)Math.Clamp(MathF.Round(w / scale), -1f, 1f) + 1;
}
