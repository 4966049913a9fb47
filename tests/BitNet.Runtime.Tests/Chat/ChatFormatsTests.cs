using BitNet.Runtime.Chat;

namespace BitNet.Runtime.Tests.Chat;

public class ChatFormatsTests
{
    private static readonly HashSet<string> Llama3Vocabulary =
        ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    private static readonly HashSet<string> ChatMlVocabulary = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"];

    private const string OfficialBitNetPlaceholder =
        "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}{% if message['role'] == 'user' %}" +
        "{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}{% endif %}{% endfor %}";

    private const string Llama3Template =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + " +
        "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}";

    private const string ChatMlTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";

    [Fact]
    public void Names_ListTheBuiltInFormats()
    {
        Assert.Equal(["bitnet-2b4t", "llama3", "chatml", "falcon3", "plain"], ChatFormats.Names);
        foreach (string name in ChatFormats.Names) Assert.Equal(name, ChatFormats.Get(name).Name);
        Assert.Same(Llama3ChatFormat.Instance, ChatFormats.Get("LLaMA3"));
    }

    [Fact]
    public void UnknownName_ListsTheValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => ChatFormats.Get("vicuna"));
        Assert.Contains("'vicuna'", e.Message);
        foreach (string name in ChatFormats.Names) Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("bitnet-b1.58", null, "bitnet-2b4t")]
    [InlineData("bitnet-25", null, "bitnet-2b4t")]
    [InlineData("bitnet-b1.58", OfficialBitNetPlaceholder, "bitnet-2b4t")]
    [InlineData("llama", OfficialBitNetPlaceholder, "bitnet-2b4t")]      // the placeholder identifies the model
    [InlineData("llama", Llama3Template, "llama3")]
    [InlineData(null, Llama3Template, "llama3")]
    [InlineData("bitnet", null, "plain")]                                // 1bitLLM base models
    [InlineData("llama", null, "plain")]
    [InlineData(null, "{{ messages }}", "plain")]
    public void Detect_WithALlama3Vocabulary(string? architecture, string? template, string expected)
    {
        Assert.Equal(expected, ChatFormats.Detect(architecture, template, Llama3Vocabulary.Contains).Name);
    }

    /// <summary>The shape of Falcon3-*-Instruct's tokenizer_config.json template (the tool-calling branches left out).</summary>
    private const string Falcon3Template =
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}" +
        "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}" +
        "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\n' + message['content'] + eos_token + '\n' }}{% endif %}" +
        "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}";

    private static readonly HashSet<string> Falcon3Vocabulary = ["<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>"];

    [Fact]
    public void Detect_Falcon3()
    {
        Assert.Equal("falcon3", ChatFormats.Detect("llama", Falcon3Template, Falcon3Vocabulary.Contains).Name);
        Assert.Equal("plain", ChatFormats.Detect("llama", Falcon3Template, Llama3Vocabulary.Contains).Name);
    }

    [Fact]
    public void Detect_ChatMl()
    {
        Assert.Equal("chatml", ChatFormats.Detect("qwen2", ChatMlTemplate, ChatMlVocabulary.Contains).Name);
    }

    [Fact]
    public void Detect_RequiresTheFormatsSpecialTokensInTheVocabulary()
    {
        // A template naming tokens the vocabulary lacks would be rendered as plain text: fall back.
        Assert.Equal("plain", ChatFormats.Detect("llama", ChatMlTemplate, Llama3Vocabulary.Contains).Name);
        Assert.Equal("plain", ChatFormats.Detect("llama", Llama3Template, ChatMlVocabulary.Contains).Name);
        Assert.Equal("plain", ChatFormats.Detect("bitnet-b1.58", null, _ => false).Name);
    }
}
