using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Tokenization;
using BitNet.Runtime.Weights;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>`bitnet convert`: an HF directory written as an I2_S GGUF in bitnet.cpp's layout reproduces the same cases.</summary>
public sealed class GgufConverterTests(ITestOutputHelper output) : IDisposable
{
    private readonly HfFixtures _fixtures = new();

    [Theory]
    [InlineData("packed")]
    [InlineData("bf16")]
    public void ConvertedGgufReproducesTheCases(string layout)
    {
        string gguf = Path.Combine(_fixtures.Root, layout + ".gguf");
        using (var source = HuggingFaceDirectory.Open(TestPaths.SharedFile("reference", "tiny-hf", layout)))
            GgufConverter.Convert(source, gguf);

        using (var file = GgufFile.Open(gguf))
        {
            Assert.Equal("bitnet-b1.58", file.Architecture);
            Assert.Equal("llama-bpe", file.Metadata.GetString("tokenizer.ggml.pre"));
            Assert.Equal("gpt2", file.Metadata.GetString("tokenizer.ggml.model"));
            var q = file.GetTensor("blk.0.attn_q.weight");
            Assert.Equal(36u, q.TypeId);
            Assert.Equal(256L * 256 / 4 + 32, q.ByteSize); // codes, then the f32 scale padded to 32 bytes
            Assert.Equal(28, file.Tensors.Count(t => t.Format == TensorFormats.I2_S));
            Assert.All(file.Tensors.Where(t => t.Name.Contains("norm")), t => Assert.Equal(TensorFormats.F32, t.Format));
            Assert.False(file.TryGetTensor("output.weight", out _));
            // The vocabulary survives: the converted file tokenizes like the directory.
            var a = TextTokenizer.FromGguf(file.Metadata);
            var b = HuggingFaceTokenizerLoader.Load(HfFixtures.Packed, 961, 956, [957, 960]);
            foreach (var s in new[] { "Hello world", "<|eot_id|>User: it's 2024!\n" })
                Assert.Equal(b.Encode(s, true, true), a.Encode(s, true, true));

            // The same codes and scales as bitnet.cpp's own I2_S file of this model.
            using var reference = GgufFile.Open(TestPaths.SharedFile("reference", "tiny-random", "tiny-b158-i2_s.gguf"));
            var r = reference.GetTensor("blk.0.attn_q.weight");
            Assert.True(file.GetTensorData(q)[..(256 * 256 / 4 + 4)].SequenceEqual(reference.GetTensorData(r)[..(256 * 256 / 4 + 4)]));
        }

        var cases = ReferenceModelTests.Cases("tiny-random");
        foreach (var r in ReferenceCheck.Run(gguf, cases))
        {
            output.WriteLine(r.ToString());
            Assert.True(r.Passes, r.ToString());
        }
    }

    public void Dispose() => _fixtures.Dispose();
}
