using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// GPT-2's byte-to-unicode alphabet, used by byte-level BPE vocabularies (GGUF <c>tokenizer.ggml.model = gpt2</c>):
/// printable bytes 33..126, 161..172 and 174..255 stand for themselves, the other 68 bytes are shifted to U+0100..U+0143
/// in byte order (so a space is "Ġ" U+0120 and a newline "Ċ" U+010A). Every vocabulary string is spelled in it.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte(ByteToChar);

    /// <summary>The character that spells <paramref name="value"/>.</summary>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>The byte a character of the alphabet spells; false for characters outside it.</summary>
    public static bool TryGetByte(char c, out byte value)
    {
        if (c < CharToByte.Length && CharToByte[c] >= 0)
        {
            value = (byte)CharToByte[c];
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>
    /// Appends the bytes a vocabulary string stands for. Characters outside the alphabet (never in a well-formed
    /// vocabulary) are kept as their own UTF-8 rather than dropped, so nothing silently disappears.
    /// </summary>
    public static void Unmap(string piece, List<byte> destination)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < piece.Length; i++)
        {
            if (TryGetByte(piece[i], out byte b))
            {
                destination.Add(b);
                continue;
            }
            int take = char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]) ? 2 : 1;
            int n = Encoding.UTF8.GetBytes(piece.AsSpan(i, take), utf8);
            for (int k = 0; k < n; k++) destination.Add(utf8[k]);
            i += take - 1;
        }
    }

    /// <summary>Spells <paramref name="bytes"/> in the alphabet; <paramref name="destination"/> must hold one char per byte.</summary>
    public static void Map(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (int i = 0; i < bytes.Length; i++) destination[i] = ByteToChar[bytes[i]];
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
            table[b] = printable ? (char)b : (char)(256 + shifted++);
        }
        return table;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var table = new short[256 + 68];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[byteToChar[b]] = (short)b;
        return table;
    }
}
