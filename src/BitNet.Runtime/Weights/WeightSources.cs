using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Weights;

/// <summary>Opens a model path as a weight source: a Hugging Face directory (config.json inside) or a GGUF file.</summary>
public static class WeightSources
{
    public static IWeightSource Open(string path, IProgress<string>? progress = null, bool hugePages = false)
    {
        if (Directory.Exists(path))
        {
            if (!HuggingFaceDirectory.IsModelDirectory(path))
                throw new InvalidDataException($"{path}: a directory without config.json is not a Hugging Face model directory");
            return HuggingFaceDirectory.Open(path, progress);
        }
        return GgufFile.Open(path, hugePages);
    }
}
