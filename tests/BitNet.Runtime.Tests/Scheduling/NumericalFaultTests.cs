using BitNet.Runtime.Gguf;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Scheduling;

/// <summary>A corrupt weight that blows up one token's activations ends that request with an error; the others in the batch are untouched.</summary>
public sealed class NumericalFaultTests
{
    [Fact]
    public async Task OverflowInOneSequenceFailsOnlyThatRequest()
    {
        string original = TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf");
        string path = Path.Combine(Path.GetTempPath(), $"bitnet-fault-{Guid.NewGuid():N}.gguf");
        try
        {
            TextTokenizer tokenizer;
            int poisoned;
            // Rewrite the model with an untied head (output.weight = the original embedding) and one embedding row
            // blown up, so that only sequences containing that token overflow; the head itself stays sane.
            using (var file = GgufFile.Open(original))
            {
                tokenizer = TextTokenizer.FromGguf(file.Metadata);
                var goodTokens = tokenizer.Encode("Once upon a time", addBos: true, parseSpecial: false);
                // The bad prompt's last token: its logits are the first read from the overflowed residual stream.
                poisoned = tokenizer.Encode("The dragon", addBos: true, parseSpecial: false)[^1];
                Assert.DoesNotContain(poisoned, goodTokens);
                var writer = new GgufWriter();
                foreach (var (key, value) in file.Metadata.Values) writer.AddValue(key, value);
                foreach (var t in file.Tensors)
                {
                    var bytes = file.GetTensorData(t).ToArray();
                    if (t.Name == "token_embd.weight")
                    {
                        writer.AddTensor("output.weight", t.Shape, (BitNet.Runtime.Quantization.GgmlType)t.TypeId, (byte[])bytes.Clone());
                        var row = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan((int)(poisoned * t.Shape[0] * 4), (int)t.Shape[0] * 4));
                        row.Fill(3e38f);
                    }
                    writer.AddTensor(t.Name, t.Shape, (BitNet.Runtime.Quantization.GgmlType)t.TypeId, bytes);
                }
                writer.Write(path);
            }

            using var clean = BitNetModel.Load(original);
            using var model = BitNetModel.Load(path);
            using var engine = new InferenceEngine(model, tokenizer, new EngineOptions { MaxSequences = 2, MaxBatchTokens = 64, Threads = 2 });
            GenerationRequest Request(string text) => new()
            {
                PromptTokens = tokenizer.Encode(text, addBos: true, parseSpecial: false),
                MaxTokens = 16,
                Sampling = new SamplingParameters { Temperature = 0 },
                StopTokens = tokenizer.EndOfGenerationIds,
            };
            var bad = Request("The dragon");
            Assert.Contains(poisoned, bad.PromptTokens);
            var good = Request("Once upon a time");
            Assert.True(engine.TrySubmit(bad, out var badEvents));
            Assert.True(engine.TrySubmit(good, out var goodEvents));

            var badList = await ReadAll(badEvents);
            var goodList = await ReadAll(goodEvents);
            Assert.Equal(GenerationEventKind.Failed, badList[^1].Kind);
            Assert.Contains("NaN", badList[^1].Text);
            Assert.True(goodList[^1].Kind == GenerationEventKind.Completed, goodList[^1].Text);

            // The healthy request produced exactly what the unmodified model produces alone.
            using var cleanEngine = new InferenceEngine(clean, tokenizer, new EngineOptions { MaxSequences = 1, MaxBatchTokens = 64, Threads = 2 });
            Assert.True(cleanEngine.TrySubmit(Request("Once upon a time"), out var reference));
            Assert.Equal(Text(await ReadAll(reference)), Text(goodList));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<List<GenerationEvent>> ReadAll(System.Threading.Channels.ChannelReader<GenerationEvent> reader)
    {
        var list = new List<GenerationEvent>();
        await foreach (var e in reader.ReadAllAsync()) list.Add(e);
        return list;
    }

    private static string Text(List<GenerationEvent> events) =>
        string.Concat(events.Where(e => e.Kind is GenerationEventKind.Token or GenerationEventKind.ChoiceFinished).Select(e => e.Text));
}
