using System.Buffers;
using System.Text;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Tokenization;

/// <summary>The algorithm family of a vocabulary.</summary>
public enum TokenizerKind
{
    /// <summary>GPT-2 style byte-level BPE (GGUF <c>gpt2</c>, tiktoken): Llama-3 and BitNet b1.58 2B4T.</summary>
    ByteLevelBpe,

    /// <summary>SentencePiece BPE with byte fallback (GGUF <c>llama</c>): Llama-2 and the small BitNet test models.</summary>
    SentencePiece,
}

/// <summary>
/// The engine's tokenizer: text to token ids and back, with llama.cpp's semantics (its test vectors are the oracle).
/// Build one per model with <see cref="FromGguf"/>, <see cref="FromTiktokenFile"/> or <see cref="FromSentencePieceModel"/>;
/// an instance is immutable and safe to use from several threads at once. Streaming output goes through a
/// per-sequence <see cref="StreamingDetokenizer"/>.
/// </summary>
public sealed class TextTokenizer
{
    private readonly IFragmentEncoder _encoder;
    private readonly TokenTable _table;
    private readonly SpecialTokenSplitter _specials;
    private readonly bool _stripSpacePrefix;
    private readonly int[] _endOfGeneration;

    internal TextTokenizer(TokenizerDefinition definition)
    {
        _encoder = definition.Encoder;
        _table = definition.Table;
        _specials = new SpecialTokenSplitter(_table);
        _stripSpacePrefix = definition.StripSpacePrefixOnDecode;
        Kind = definition.Kind;
        BosId = definition.BosId;
        EosId = definition.EosId;
        AddBos = definition.AddBos && BosId >= 0;
        _endOfGeneration = EndOfGenerationSet(definition);
    }

    /// <summary>
    /// Control tokens whose text ends a turn or a document in the vocabularies llama.cpp knows (its EOG list), found
    /// by name because many GGUF files declare only EOS.
    /// </summary>
    private static readonly string[] EndTokenTexts =
    [
        "</s>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>",
        "<end_of_turn>", "<|return|>", "<EOT>", "<|EOT|>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
    ];

    /// <summary>
    /// EOS, the declared end-of-turn / end-of-message ids, control tokens named like an end (<see cref="EndTokenTexts"/>)
    /// and BOS: a model that starts a new document has ended the one it was writing (the bundled TinyStories model
    /// emits &lt;s&gt; between stories). No generated text may contain any of them.
    /// </summary>
    private int[] EndOfGenerationSet(TokenizerDefinition definition)
    {
        var ids = new List<int>();
        void Add(int id)
        {
            if (id >= 0 && id < VocabSize && !ids.Contains(id)) ids.Add(id);
        }
        Add(EosId);
        foreach (int id in definition.ExtraEndOfGenerationIds) Add(id);
        for (int id = 0; id < _table.Count; id++)
        {
            if (_table.Type(id) != TokenType.Control) continue;
            var bytes = _table.Bytes(id);
            if (bytes.Length is < 3 or > 32) continue;
            if (Array.IndexOf(EndTokenTexts, Encoding.UTF8.GetString(bytes)) >= 0) Add(id);
        }
        Add(BosId);
        return ids.ToArray();
    }

    /// <summary>Reads the vocabulary a GGUF file carries (<c>tokenizer.ggml.*</c>; model <c>gpt2</c> or <c>llama</c>).</summary>
    /// <exception cref="InvalidDataException">A tokenizer key is missing or inconsistent.</exception>
    /// <exception cref="NotSupportedException">The tokenizer model is neither <c>gpt2</c> nor <c>llama</c>.</exception>
    public static TextTokenizer FromGguf(GgufMetadata metadata) => GgufTokenizerLoader.Load(metadata);

    /// <summary>
    /// Reads a Llama-3 tiktoken <c>tokenizer.model</c> (lines of <c>base64-bytes rank</c>) and adds the 256 Llama-3
    /// special tokens after the last rank (128000 <c>&lt;|begin_of_text|&gt;</c> ... 128255).
    /// </summary>
    public static TextTokenizer FromTiktokenFile(string path) => TiktokenFileLoader.Load(path);

    /// <summary>Reads a SentencePiece <c>tokenizer.model</c> (protobuf ModelProto, BPE type, e.g. Llama-2's).</summary>
    public static TextTokenizer FromSentencePieceModel(string path) => SentencePieceModelFile.Load(path);

    /// <summary>The algorithm family.</summary>
    public TokenizerKind Kind { get; }

    /// <summary>Number of token ids, special tokens included.</summary>
    public int VocabSize => _table.Count;

    /// <summary>Beginning-of-sequence token, -1 if the vocabulary has none.</summary>
    public int BosId { get; }

    /// <summary>End-of-sequence token, -1 if the vocabulary has none.</summary>
    public int EosId { get; }

    /// <summary>Whether prompts should start with <see cref="BosId"/> (<c>tokenizer.ggml.add_bos_token</c>).</summary>
    public bool AddBos { get; }

    /// <summary>
    /// Tokens that end generation, in this order: EOS, the end-of-turn / end-of-message tokens the metadata names (for
    /// Llama-3 vocabularies 128001 <c>&lt;|end_of_text|&gt;</c>, 128008 <c>&lt;|eom_id|&gt;</c> and 128009
    /// <c>&lt;|eot_id|&gt;</c>), control tokens spelled like an end of turn or document (<c>&lt;|im_end|&gt;</c>,
    /// <c>&lt;end_of_turn&gt;</c>, ...), and BOS (a new document begins, so the current one is over).
    /// </summary>
    public IReadOnlyList<int> EndOfGenerationIds => _endOfGeneration;

    /// <summary>
    /// Tokens that cannot begin a chat answer: their text, after leading spaces, starts with punctuation that closes or
    /// continues something (<c>: ; , . ! ? ) ] }</c>) or with a line break. After a prompt ending in "Assistant:" a
    /// small model often writes another ':'; chat answers mask these until their first visible character.
    /// </summary>
    public IReadOnlyList<int> AnswerStartExclusions => _answerStartExclusions ??= FindAnswerStartExclusions();

    private int[]? _answerStartExclusions;

    private int[] FindAnswerStartExclusions()
    {
        var ids = new List<int>();
        for (int id = 0; id < _table.Count; id++)
        {
            if (_table.Type(id) is TokenType.Control or TokenType.Unused) continue;
            var bytes = _table.Bytes(id);
            int i = 0;
            while (i < bytes.Length && bytes[i] == (byte)' ') i++;
            if (i < bytes.Length && ":;,.!?)]}\n\r"u8.IndexOf(bytes[i]) >= 0) ids.Add(id);
        }
        return ids.ToArray();
    }

    /// <summary>Whether <paramref name="id"/> is one of <see cref="EndOfGenerationIds"/>.</summary>
    public bool IsEndOfGeneration(int id) => Array.IndexOf(_endOfGeneration, id) >= 0;

    /// <summary>Control or user-defined token (<c>&lt;|eot_id|&gt;</c>, <c>&lt;s&gt;</c>, ...), the kind matched verbatim when parsing specials.</summary>
    public bool IsSpecial(int id)
    {
        CheckId(id, nameof(id));
        return _table.Type(id) is TokenType.Control or TokenType.UserDefined;
    }

    /// <summary>The id of a special token spelled exactly <paramref name="text"/>, e.g. "&lt;|eot_id|&gt;".</summary>
    public bool TryGetSpecialTokenId(string text, out int id)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _specials.TryGetId(text, out id);
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/>. With <paramref name="parseSpecial"/> the texts of special tokens become those
    /// tokens; without it they are ordinary text, so user input cannot forge control tokens. <paramref name="addBos"/>
    /// prepends <see cref="BosId"/> once, also when the text itself starts with the BOS special.
    /// </summary>
    public int[] Encode(string text, bool addBos, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fragments = new List<Fragment>(4);
        if (parseSpecial) _specials.Split(text, fragments);
        else if (text.Length > 0) fragments.Add(new Fragment(text, 0, text.Length, -1));
        return EncodeFragments(fragments, addBos);
    }

    /// <summary>
    /// Tokenizes a rendered chat prompt: specials are recognized only in segments that allow them, and text that
    /// continues across segment boundaries is joined before BPE so "User: " + "Hi" tokenizes like "User: Hi".
    /// </summary>
    public int[] Encode(IReadOnlyList<PromptSegment> segments, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var fragments = new List<Fragment>(segments.Count * 2);
        for (int i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            if (segment.Text is null) throw new ArgumentException($"prompt segment {i} has no text", nameof(segments));
            if (segment.AllowSpecial) _specials.Split(segment.Text, fragments);
            else if (segment.Text.Length > 0) fragments.Add(new Fragment(segment.Text, 0, segment.Text.Length, -1));
        }
        return EncodeFragments(fragments, addBos);
    }

    /// <summary>
    /// Text of <paramref name="ids"/> decoded from the start of a sequence: the token bytes joined, invalid UTF-8
    /// replaced by U+FFFD. For SentencePiece vocabularies the dummy-prefix space of the first token (after a leading
    /// BOS) is dropped, as llama.cpp and Hugging Face do. <paramref name="skipSpecial"/> leaves out control,
    /// user-defined and unknown tokens.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        if (ids.IsEmpty) return string.Empty;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(256, ids.Length * 8));
        try
        {
            int length = 0;
            bool strip = _stripSpacePrefix;
            var specials = skipSpecial ? SpecialText.SkipAll : SpecialText.Keep;
            foreach (int id in ids)
            {
                var piece = PieceBytes(id, specials, ref strip);
                if (length + piece.Length > buffer.Length)
                {
                    byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + piece.Length));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                piece.CopyTo(buffer.AsSpan(length));
                length += piece.Length;
            }
            return Encoding.UTF8.GetString(buffer, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The raw bytes token <paramref name="id"/> stands for: byte-level pieces unmapped from the GPT-2 alphabet,
    /// SentencePiece pieces with U+2581 as a space, <c>&lt;0xXX&gt;</c> as that byte, special tokens as their text.
    /// May be part of a UTF-8 character. The span points into the tokenizer's table; it never changes.
    /// </summary>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        CheckId(id, nameof(id));
        return _table.Bytes(id);
    }

    /// <summary><see cref="TokenBytes"/> as text (a partial UTF-8 character shows as U+FFFD).</summary>
    public string TokenText(int id) => Encoding.UTF8.GetString(TokenBytes(id));

    /// <summary>
    /// A detokenizer for one sequence. <paramref name="atSequenceStart"/>: the first token starts the text (its
    /// SentencePiece dummy-prefix space is dropped, matching <see cref="Decode"/>); pass false when streaming a
    /// completion that continues a prompt, so " world" keeps its space.
    /// </summary>
    public StreamingDetokenizer CreateStreamingDetokenizer(bool skipSpecial = false, bool atSequenceStart = true) =>
        new(this, skipSpecial ? SpecialText.SkipAll : SpecialText.Keep, atSequenceStart && _stripSpacePrefix);

    /// <summary>
    /// The detokenizer for what a model generates (the server's answers, the CLI's output): control tokens
    /// (<c>&lt;s&gt;</c>, <c>&lt;|start_header_id|&gt;</c>, ...) are never text, user-defined tokens are (llama.cpp's
    /// <c>token_to_piece</c> without <c>special</c>). <paramref name="atSequenceStart"/> as in
    /// <see cref="CreateStreamingDetokenizer"/>.
    /// </summary>
    public StreamingDetokenizer CreateOutputDetokenizer(bool atSequenceStart) =>
        new(this, SpecialText.SkipControl, atSequenceStart && _stripSpacePrefix);

    /// <summary>Whether <paramref name="id"/> is a control token (never shown in generated text).</summary>
    public bool IsControl(int id)
    {
        CheckId(id, nameof(id));
        return _table.Type(id) == TokenType.Control;
    }

    /// <summary>
    /// The bytes one token contributes to decoded text. <paramref name="stripLeadingSpace"/> is the pending
    /// dummy-prefix removal: the first emitted token other than BOS consumes it.
    /// </summary>
    internal ReadOnlySpan<byte> PieceBytes(int id, SpecialText specials, ref bool stripLeadingSpace)
    {
        CheckId(id, "ids");
        if (specials == SpecialText.SkipAll && _table.IsMarker(id)) return default;
        if (specials == SpecialText.SkipControl && _table.Type(id) == TokenType.Control) return default;
        var bytes = _table.Bytes(id);
        if (stripLeadingSpace && id != BosId)
        {
            stripLeadingSpace = false;
            if (!bytes.IsEmpty && bytes[0] == (byte)' ') bytes = bytes[1..];
        }
        return bytes;
    }

    private int[] EncodeFragments(List<Fragment> fragments, bool addBos)
    {
        var output = new List<int>(16);
        int i = 0;
        if (addBos && BosId >= 0)
        {
            output.Add(BosId);
            if (fragments.Count > 0 && fragments[0].TokenId == BosId) i = 1; // the text already starts with BOS
        }
        while (i < fragments.Count)
        {
            if (!fragments[i].IsText)
            {
                output.Add(fragments[i++].TokenId);
                continue;
            }
            int end = i, total = 0;
            while (end < fragments.Count && fragments[end].IsText) total += fragments[end++].Length;
            if (end == i + 1)
            {
                _encoder.Encode(fragments[i].Text, output);
            }
            else
            {
                // Text runs from neighbouring segments form one piece of text for BPE.
                char[] joined = ArrayPool<char>.Shared.Rent(total);
                int at = 0;
                for (int k = i; k < end; k++)
                {
                    fragments[k].Text.CopyTo(joined.AsSpan(at));
                    at += fragments[k].Length;
                }
                _encoder.Encode(joined.AsSpan(0, total), output);
                ArrayPool<char>.Shared.Return(joined);
            }
            i = end;
        }
        return output.ToArray();
    }

    private void CheckId(int id, string parameter)
    {
        if ((uint)id >= (uint)_table.Count)
            throw new ArgumentOutOfRangeException(parameter, id, $"token id {id} is outside the vocabulary (0..{_table.Count - 1})");
    }
}

/// <summary>Which special tokens decoded text leaves out.</summary>
internal enum SpecialText
{
    /// <summary>Every token as its text (<c>&lt;s&gt;</c> included).</summary>
    Keep,

    /// <summary>Control tokens left out; user-defined and unknown tokens kept.</summary>
    SkipControl,

    /// <summary>Control, user-defined and unknown tokens left out.</summary>
    SkipAll,
}

/// <summary>What a loader hands to <see cref="TextTokenizer"/>.</summary>
internal sealed class TokenizerDefinition
{
    public required TokenizerKind Kind { get; init; }

    public required IFragmentEncoder Encoder { get; init; }

    public required TokenTable Table { get; init; }

    public int BosId { get; init; } = -1;

    public int EosId { get; init; } = -1;

    public bool AddBos { get; init; }

    /// <summary>End-of-generation tokens besides EOS (out-of-range and -1 entries are ignored).</summary>
    public IReadOnlyList<int> ExtraEndOfGenerationIds { get; init; } = [];

    /// <summary>SentencePiece with a dummy prefix: decoding from the start drops the first token's leading space.</summary>
    public bool StripSpacePrefixOnDecode { get; init; }
}
