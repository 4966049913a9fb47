using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Byte-level BPE through Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/>: the regex splits the text, a piece
/// that is itself a token is emitted whole, otherwise its bytes are merged lowest rank first. That is llama.cpp's
/// Llama-3 behaviour (merges + <c>ignore_merges</c>) whenever ranks are token ids, as in every tiktoken-born vocabulary.
/// </summary>
internal sealed class TiktokenFragmentEncoder(TiktokenTokenizer tokenizer) : IFragmentEncoder
{
    public void Encode(ReadOnlySpan<char> text, List<int> output) =>
        output.AddRange(tokenizer.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));

    /// <summary>
    /// Builds the tokenizer from token byte strings whose rank is their id, by writing the tiktoken text format
    /// (<c>base64 rank</c> per line) the library reads. Tokens with <paramref name="include"/> false are left out.
    /// </summary>
    public static TiktokenFragmentEncoder FromRanks(TokenTable table, Func<int, bool> include, Regex preTokenizer)
    {
        var text = new MemoryStream(table.Count * 16);
        byte[] line = new byte[256];
        for (int id = 0; id < table.Count; id++)
        {
            var bytes = table.Bytes(id);
            if (bytes.IsEmpty || !include(id)) continue;
            int need = Base64.GetMaxEncodedToUtf8Length(bytes.Length) + 16;
            if (line.Length < need) line = new byte[need];
            Base64.EncodeToUtf8(bytes, line, out _, out int n);
            line[n++] = (byte)' ';
            id.TryFormat(line.AsSpan(n), out int digits, default, CultureInfo.InvariantCulture);
            n += digits;
            line[n++] = (byte)'\n';
            text.Write(line, 0, n);
        }
        text.Position = 0;
        return FromTiktokenText(text, preTokenizer);
    }

    /// <summary>Reads the tiktoken text format (a Llama-3 <c>tokenizer.model</c>) with no special tokens: they are split out before.</summary>
    public static TiktokenFragmentEncoder FromTiktokenText(Stream tiktokenText, Regex preTokenizer)
    {
        try
        {
            return new(TiktokenTokenizer.Create(tiktokenText, new RegexPreTokenizer(preTokenizer, null), normalizer: null, specialTokens: null));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"the tiktoken ranks were rejected (duplicate or malformed tokens?): {e.Message}", e);
        }
    }
}

/// <summary>
/// Byte-level BPE through Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> driven by the GGUF merge list, for
/// vocabularies whose ranks are not token ids. With <paramref name="ignoreMerges"/> a regex piece that is a whole token
/// is emitted as is before any merging, which llama.cpp does for Llama-3 style vocabularies and BpeTokenizer cannot be
/// told to do (it would split " Việt" into " Vi", "á»ĩ", "t" where llama.cpp emits the single token).
/// </summary>
internal sealed class MergesBpeFragmentEncoder(BpeTokenizer bpe, Regex preTokenizer, Dictionary<string, int>? wholeTokens) : IFragmentEncoder
{
    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        if (wholeTokens is null)
        {
            output.AddRange(bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));
            return;
        }
        var lookup = wholeTokens.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var match in preTokenizer.EnumerateMatches(text))
        {
            var piece = text.Slice(match.Index, match.Length);
            if (TryWholeToken(piece, lookup, out int id)) output.Add(id);
            else output.AddRange(bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    private static bool TryWholeToken(ReadOnlySpan<char> piece, Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup, out int id)
    {
        int max = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = max <= 256 ? stackalloc byte[256] : (rentedBytes = ArrayPool<byte>.Shared.Rent(max));
        Span<char> spelled = max <= 256 ? stackalloc char[256] : (rentedChars = ArrayPool<char>.Shared.Rent(max));
        int n = Encoding.UTF8.GetBytes(piece, bytes);
        ByteLevelAlphabet.Map(bytes[..n], spelled);
        bool found = lookup.TryGetValue(spelled[..n], out id);
        if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
        return found;
    }

    /// <summary>Builds the library tokenizer from the vocabulary strings (GPT-2 alphabet) and merges ("a b" per rank).</summary>
    public static MergesBpeFragmentEncoder Create(Dictionary<string, int> vocabulary, string[] merges, Regex preTokenizer, bool ignoreMerges)
    {
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(preTokenizer, null),
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new InvalidDataException($"tokenizer.ggml.merges: the BPE tokenizer rejected the merge list: {e.Message}", e);
        }
        return new MergesBpeFragmentEncoder(bpe, preTokenizer, ignoreMerges ? vocabulary : null);
    }
}
