using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Model;

/// <summary>A loaded model: the open GGUF file (memory-mapped) and the weights bound to it.</summary>
public sealed class BitNetModel : IDisposable
{
    private BitNetModel(string path, GgufFile file, ModelWeights weights)
    {
        Path = path;
        File = file;
        Weights = weights;
    }

    public string Path { get; }
    public GgufFile File { get; }
    public ModelWeights Weights { get; }
    public ModelConfig Config => Weights.Config;

    /// <summary>Opens a GGUF model; every problem with the file surfaces as an <see cref="InvalidDataException"/>.</summary>
    public static BitNetModel Load(string path, ModelLoadOptions? options = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new BitNetModel(path, file, ModelWeights.Load(file, options));
        }
        catch (InvalidDataException e)
        {
            file.Dispose();
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

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
