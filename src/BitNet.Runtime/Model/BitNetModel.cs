using BitNet.Runtime.Gguf;
using BitNet.Runtime.Weights;

namespace BitNet.Runtime.Model;

/// <summary>A loaded model: its open weight source (a GGUF file, mapped or read into huge pages, or a Hugging Face directory) and the weights
/// bound to it.</summary>
public sealed class BitNetModel : IDisposable
{
    private BitNetModel(string path, IWeightSource file, ModelWeights weights)
    {
        Path = path;
        File = file;
        Weights = weights;
    }

    public string Path { get; }
    /// <summary>The container: GGUF-style metadata (architecture, tokenizer.*) and tensors, whatever the format on disk.</summary>
    public IWeightSource File { get; }
    public ModelWeights Weights { get; }
    public ModelConfig Config => Weights.Config;

    /// <summary>Opens a GGUF file or a Hugging Face model directory; every problem with it surfaces as an
    /// <see cref="InvalidDataException"/>.</summary>
    public static BitNetModel Load(string path, ModelLoadOptions? options = null)
    {
        var file = WeightSources.Open(path, options?.Progress, options?.HugePages ?? true);
        try
        {
            return new BitNetModel(path, file, ModelWeights.Load(file, options));
        }
        catch (InvalidDataException e)
        {
            file.Dispose();
            throw e.Message.StartsWith(path, StringComparison.Ordinal) ? e : new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Whether the weights were read into transparent huge pages (<see cref="ModelLoadOptions.HugePages"/>) rather than mapped.</summary>
    public bool InHugePages => File is GgufFile { InHugePages: true };

    /// <summary>Bytes of weights read per decoded token (ternary codes + head), the basis of the bandwidth limit.</summary>
    public long WeightBytesPerToken
    {
        get
        {
            long n = Weights.Head.BytesPerPass;
            foreach (var l in Weights.Layers)
                foreach (var m in l.Matrices) n += m.TotalBytes;
            return n;
        }
    }

    public void Dispose()
    {
        Weights.Dispose();
        File.Dispose();
    }
}
