namespace BitNet.Runtime.Grammar;

/// <summary>A set of byte values (256 bits): the terminal symbol of a byte-level grammar.</summary>
internal readonly struct ByteSet : IEquatable<ByteSet>
{
    private readonly ulong _w0, _w1, _w2, _w3;

    private ByteSet(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0; _w1 = w1; _w2 = w2; _w3 = w3;
    }

    public static ByteSet Empty => default;

    public static ByteSet Of(byte value) => Range(value, value);

    /// <summary>The bytes <paramref name="low"/>..<paramref name="high"/>, both included.</summary>
    public static ByteSet Range(int low, int high)
    {
        ulong w0 = 0, w1 = 0, w2 = 0, w3 = 0;
        for (int b = low; b <= high; b++)
        {
            ulong bit = 1UL << (b & 63);
            switch (b >> 6)
            {
                case 0: w0 |= bit; break;
                case 1: w1 |= bit; break;
                case 2: w2 |= bit; break;
                default: w3 |= bit; break;
            }
        }
        return new ByteSet(w0, w1, w2, w3);
    }

    public static ByteSet OfChars(string ascii)
    {
        var set = Empty;
        foreach (char c in ascii) set = set.Union(Of((byte)c));
        return set;
    }

    public ByteSet Union(ByteSet other) => new(_w0 | other._w0, _w1 | other._w1, _w2 | other._w2, _w3 | other._w3);

    public ByteSet Except(ByteSet other) => new(_w0 & ~other._w0, _w1 & ~other._w1, _w2 & ~other._w2, _w3 & ~other._w3);

    public bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

    public bool Contains(int b) => (Word(b >> 6) >> (b & 63) & 1) != 0;

    public ulong Word(int index) => index switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };

    public bool Equals(ByteSet other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is ByteSet other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);
}
