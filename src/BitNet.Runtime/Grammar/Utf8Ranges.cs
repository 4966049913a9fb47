namespace BitNet.Runtime.Grammar;

/// <summary>
/// Turns a range of Unicode scalar values into UTF-8 byte-range sequences: each sequence is a list of byte ranges,
/// one per encoded byte, and a scalar is in the range exactly when its encoding matches one of the sequences.
/// This is how character classes become byte-level grammar terminals, including "any character" in strings.
/// </summary>
internal static class Utf8Ranges
{
    /// <summary>Appends the sequences for scalars <paramref name="low"/>..<paramref name="high"/> (surrogates skipped).</summary>
    public static void Append(int low, int high, List<(byte Low, byte High)[]> output)
    {
        if (low > high) return;
        // Surrogate code points have no UTF-8 encoding.
        if (low <= 0xDFFF && high >= 0xD800)
        {
            Append(low, 0xD7FF, output);
            Append(0xE000, high, output);
            return;
        }
        // Split where the encoded length changes so both ends of each piece have the same number of bytes.
        foreach (int boundary in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF])
        {
            if (low <= boundary && high > boundary)
            {
                Append(low, boundary, output);
                Append(boundary + 1, high, output);
                return;
            }
        }
        int length = EncodedLength(low);
        if (length == 1)
        {
            output.Add([((byte)low, (byte)high)]);
            return;
        }
        // A sequence of independent byte ranges only describes the range when, for every continuation-byte suffix,
        // the range covers whole blocks: split off the partial blocks at either end first.
        for (int i = 1; i < length; i++)
        {
            int mask = (1 << (6 * i)) - 1;
            if ((low & ~mask) == (high & ~mask)) continue;
            if ((low & mask) != 0)
            {
                Append(low, low | mask, output);
                Append((low | mask) + 1, high, output);
                return;
            }
            if ((high & mask) != mask)
            {
                Append(low, (high & ~mask) - 1, output);
                Append(high & ~mask, high, output);
                return;
            }
        }
        Span<byte> lowBytes = stackalloc byte[4], highBytes = stackalloc byte[4];
        Encode(low, lowBytes);
        Encode(high, highBytes);
        var sequence = new (byte, byte)[length];
        for (int i = 0; i < length; i++) sequence[i] = (lowBytes[i], highBytes[i]);
        output.Add(sequence);
    }

    public static int EncodedLength(int scalar) => scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4;

    /// <summary>Writes the UTF-8 encoding of <paramref name="scalar"/>; returns its length.</summary>
    public static int Encode(int scalar, Span<byte> output)
    {
        switch (EncodedLength(scalar))
        {
            case 1:
                output[0] = (byte)scalar;
                return 1;
            case 2:
                output[0] = (byte)(0xC0 | scalar >> 6);
                output[1] = (byte)(0x80 | scalar & 0x3F);
                return 2;
            case 3:
                output[0] = (byte)(0xE0 | scalar >> 12);
                output[1] = (byte)(0x80 | scalar >> 6 & 0x3F);
                output[2] = (byte)(0x80 | scalar & 0x3F);
                return 3;
            default:
                output[0] = (byte)(0xF0 | scalar >> 18);
                output[1] = (byte)(0x80 | scalar >> 12 & 0x3F);
                output[2] = (byte)(0x80 | scalar >> 6 & 0x3F);
                output[3] = (byte)(0x80 | scalar & 0x3F);
                return 4;
        }
    }
}
