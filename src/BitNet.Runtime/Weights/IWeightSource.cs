using BitNet.Runtime.Gguf;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.Weights;

/// <summary>
/// Where a model's tensors come from, below <see cref="ModelWeights"/>: a GGUF file, or a Hugging Face safetensors
/// directory presented in GGUF terms (GGUF tensor names, ggml shape order, a ggml type per tensor, GGUF-style
/// metadata). Everything above this seam is container-agnostic. Pointers stay valid while the source is open.
/// </summary>
public unsafe interface IWeightSource : IDisposable
{
    /// <summary>Path (file or directory) for messages.</summary>
    string Source { get; }

    /// <summary>Bytes of the container(s) on disk.</summary>
    long Length { get; }

    /// <summary>GGUF-style metadata: <c>general.architecture</c>, <c>{arch}.*</c> hyper-parameters, <c>tokenizer.*</c>.</summary>
    GgufMetadata Metadata { get; }

    IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The graph when the container says more than the architecture name does (an HF Llama checkpoint
    /// has NEOX-paired q/k); null: <see cref="ArchitectureTraits.Find"/> of <c>general.architecture</c>.</summary>
    ArchitectureTraits? Traits => null;

    bool TryGetTensor(string name, out GgufTensorInfo info);

    GgufTensorInfo GetTensor(string name);

    byte* GetTensorPointer(GgufTensorInfo info);

    ReadOnlySpan<byte> GetTensorData(GgufTensorInfo info);
}
