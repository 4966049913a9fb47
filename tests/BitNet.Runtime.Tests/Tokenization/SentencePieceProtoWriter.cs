using System.Text;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>
/// Writes a minimal sentencepiece ModelProto (protobuf wire format) from per-token arrays, to test
/// FromSentencePieceModel without shipping a Llama-2 tokenizer.model and to feed the library's own reader.
/// </summary>
internal static class SentencePieceProtoWriter
{
    public static byte[] Write(string[] tokens, float[] scores, int[] types, int modelType = 2, bool addDummyPrefix = true,
        int unkId = 0, int bosId = 1, int eosId = 2)
    {
        var model = new MemoryStream();
        for (int i = 0; i < tokens.Length; i++)
        {
            var piece = new MemoryStream();
            WriteBytes(piece, 1, Encoding.UTF8.GetBytes(tokens[i]));
            WriteTag(piece, 2, 5);
            piece.Write(BitConverter.GetBytes(scores[i]));
            WriteTag(piece, 3, 0);
            WriteVarint(piece, (ulong)types[i]);
            WriteBytes(model, 1, piece.ToArray());
        }
        var trainer = new MemoryStream();
        WriteTag(trainer, 3, 0);
        WriteVarint(trainer, (ulong)modelType);
        WriteTag(trainer, 35, 0); // byte_fallback
        WriteVarint(trainer, 1);
        foreach (var (field, value) in new[] { (40, unkId), (41, bosId), (42, eosId), (43, -1) })
        {
            WriteTag(trainer, field, 0);
            WriteVarint(trainer, unchecked((ulong)(long)value)); // int32: negatives are sign-extended
        }
        WriteBytes(model, 2, trainer.ToArray());
        var normalizer = new MemoryStream();
        WriteBytes(normalizer, 1, Encoding.UTF8.GetBytes("identity"));
        WriteTag(normalizer, 3, 0);
        WriteVarint(normalizer, addDummyPrefix ? 1UL : 0UL);
        WriteTag(normalizer, 4, 0); // remove_extra_whitespaces = false
        WriteVarint(normalizer, 0);
        WriteTag(normalizer, 5, 0); // escape_whitespaces = true
        WriteVarint(normalizer, 1);
        WriteBytes(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteTag(s, field, 2);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
