using System.Runtime.InteropServices;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Model;
using BitNet.Runtime.Safetensors;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Weights;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>
/// tiny-llama as a Hugging Face LlamaForCausalLM directory: q/k rows un-permuted back to HF's rotate_half order (what
/// llama.cpp's converter undoes), so it must run with NEOX rope, and `convert` must permute them again for the NORM
/// rope of a llama GGUF. Both must reproduce tiny-llama's cases; float (latent-style) and packed U8 weights.
/// </summary>
public sealed class HuggingFaceLlamaTests(ITestOutputHelper output) : IDisposable
{
    private readonly HfFixtures _fixtures = new();

    private string MakeLlamaDirectory(bool packed)
    {
        string dir = Path.Combine(_fixtures.Root, packed ? "llama-packed" : "llama-f32");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), $$$"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 256, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 768, "vocab_size": 961,
             "max_position_embeddings": 512, "rms_norm_eps": 1e-06, "rope_theta": 1000042.0, "hidden_act": "silu",
             "tie_word_embeddings": false, "rope_scaling": null, "bos_token_id": 956, "eos_token_id": 957,
             "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                     "quantization_mode": "{{{(packed ? "offline" : "online")}}}"}}
            """);
        using var gguf = GgufFile.Open(TestPaths.SharedFile("reference", "tiny-llama", "tiny-llama-f32.gguf"));
        var entries = new List<SafetensorsWriter.Entry>();
        foreach (var t in gguf.Tensors)
        {
            float[] w = MemoryMarshal.Cast<byte, float>(gguf.GetTensorData(t)).ToArray();
            long k = t.Shape[0], n = t.Rows;
            if (t.Name.Contains("attn_q") || t.Name.Contains("attn_k"))
                w = Unpermute(w, (int)k, (int)n, t.Name.Contains("attn_q") ? 4 : 2);
            string name = HuggingFaceTensorNames.ToHf(t.Name);
            if (packed && HuggingFaceTensorNames.IsProjection(t.Name))
            {
                float s = w.Select(MathF.Abs).Where(a => a > 0).First();
                var bytes = new byte[n / 4 * k];
                long r = n / 4;
                for (long row = 0; row < n; row++)
                    for (long c = 0; c < k; c++)
                        bytes[row % r * k + c] |= (byte)(((int)MathF.Round(w[row * k + c] / s) + 1) << (int)(2 * (row / r)));
                entries.Add(new(name, "U8", [n / 4, k], bytes));
                entries.Add(new(name[..^".weight".Length] + ".weight_scale", "F32", [1], BitConverter.GetBytes(s)));
            }
            else
            {
                entries.Add(new(name, "F32", t.Shape.Length == 1 ? [k] : [n, k], MemoryMarshal.AsBytes(w.AsSpan()).ToArray()));
            }
        }
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), entries);
        return dir;
    }

    /// <summary>GGUF row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i.</summary>
    private static float[] Unpermute(float[] w, int k, int n, int heads)
    {
        var hf = new float[w.Length];
        int hd = n / heads;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hd / 2; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(w, (long)(h * hd + 2 * i + j) * k, hf, (long)(h * hd + j * hd / 2 + i) * k, k);
        return hf;
    }

    private void AssertPasses(string model)
    {
        var cases = ReferenceModelTests.Cases("tiny-llama");
        var results = ReferenceCheck.Run(model, cases);
        Assert.Equal(cases.Count, results.Count);
        foreach (var r in results)
        {
            output.WriteLine(r.ToString());
            Assert.True(r.Passes, r.ToString());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HfLlamaRunsWithNeoxRopeAndConvertsToANormRopeGguf(bool packed)
    {
        string dir = MakeLlamaDirectory(packed);
        using (var model = BitNetModel.Load(dir))
        {
            Assert.Equal("llama", model.Config.Architecture);
            Assert.Equal(RopeStyle.Neox, model.Config.Rope);
            Assert.False(model.Weights.TiedHead);
        }
        AssertPasses(dir);

        string gguf = Path.Combine(_fixtures.Root, $"llama-{packed}.gguf");
        using (var source = HuggingFaceDirectory.Open(dir)) GgufConverter.Convert(source, gguf);
        using (var converted = BitNetModel.Load(gguf)) Assert.Equal(RopeStyle.Norm, converted.Config.Rope);
        AssertPasses(gguf);
    }

    public void Dispose() => _fixtures.Dispose();
}
