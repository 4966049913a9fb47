using System.Buffers.Binary;
using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Reads a SentencePiece <c>tokenizer.model</c>: a protobuf <c>sentencepiece.ModelProto</c>. Only the fields a BPE
/// model needs are decoded (pieces; trainer_spec model_type, unk/bos/eos ids; normalizer_spec add_dummy_prefix),
/// with a small bounds-checked wire-format reader instead of generated protobuf classes.
/// <para>
/// Like llama.cpp, the normalizer is not applied: Llama-style models use the identity normalizer, and
/// remove_extra_whitespaces is ignored (whitespace runs are tokenized as written).
/// </para>
/// </summary>
internal static class SentencePieceModelFile
{
    // Field numbers from sentencepiece_model.proto.
    private const int ModelPieces = 1, ModelTrainerSpec = 2, ModelNormalizerSpec = 3;
    private const int PieceText = 1, PieceScore = 2, PieceType = 3;
    private const int TrainerModelType = 3, TrainerUnkId = 40, TrainerBosId = 41, TrainerEosId = 42;
    private const int NormalizerAddDummyPrefix = 3;
    private const int ModelTypeBpe = 2;

    public static TextTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"SentencePiece model not found: {path}", path);
        SentencePieceVocabulary.Parts parts;
        try { parts = Parse(File.ReadAllBytes(path)); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(
                $"{path}: not a readable SentencePiece ModelProto ({e.Message}); a Llama-3 tiktoken file needs FromTiktokenFile", e);
        }
        return SentencePieceVocabulary.Build(parts);
    }

    internal static SentencePieceVocabulary.Parts Parse(ReadOnlySpan<byte> model)
    {
        var tokens = new List<string>();
        var scores = new List<float>();
        var types = new List<TokenType>();
        long modelType = 1, unkId = 0, bosId = 1, eosId = 2; // proto defaults: UNIGRAM, 0, 1, 2
        bool addDummyPrefix = true;

        var reader = new ProtoReader(model);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == ModelPieces && wire == ProtoReader.LengthDelimited)
            {
                var piece = new ProtoReader(reader.ReadLengthDelimited());
                string text = "";
                float score = 0;
                long type = (long)TokenType.Normal;
                while (piece.TryReadTag(out int f, out int w))
                {
                    if (f == PieceText && w == ProtoReader.LengthDelimited) text = Encoding.UTF8.GetString(piece.ReadLengthDelimited());
                    else if (f == PieceScore && w == ProtoReader.Fixed32) score = BitConverter.Int32BitsToSingle((int)piece.ReadFixed32());
                    else if (f == PieceType && w == ProtoReader.Varint) type = (long)piece.ReadVarint();
                    else piece.Skip(w);
                }
                if (type is < (long)TokenType.Normal or > (long)TokenType.Byte)
                    throw new InvalidDataException($"piece {tokens.Count} has unknown type {type}");
                tokens.Add(text);
                scores.Add(score);
                types.Add((TokenType)type);
            }
            else if (field == ModelTrainerSpec && wire == ProtoReader.LengthDelimited)
            {
                var trainer = new ProtoReader(reader.ReadLengthDelimited());
                while (trainer.TryReadTag(out int f, out int w))
                {
                    if (w != ProtoReader.Varint) { trainer.Skip(w); continue; }
                    long v = (long)trainer.ReadVarint();
                    if (f == TrainerModelType) modelType = v;
                    else if (f == TrainerUnkId) unkId = (int)v; // int32 fields: negatives arrive sign-extended to 64 bits
                    else if (f == TrainerBosId) bosId = (int)v;
                    else if (f == TrainerEosId) eosId = (int)v;
                }
            }
            else if (field == ModelNormalizerSpec && wire == ProtoReader.LengthDelimited)
            {
                var normalizer = new ProtoReader(reader.ReadLengthDelimited());
                while (normalizer.TryReadTag(out int f, out int w))
                {
                    if (f == NormalizerAddDummyPrefix && w == ProtoReader.Varint) addDummyPrefix = normalizer.ReadVarint() != 0;
                    else normalizer.Skip(w);
                }
            }
            else
            {
                reader.Skip(wire);
            }
        }

        if (tokens.Count == 0) throw new InvalidDataException("the model has no pieces");
        if (modelType != ModelTypeBpe)
            throw new NotSupportedException($"SentencePiece model_type {modelType} is not supported; only BPE (2), as used by Llama-style models");
        return new SentencePieceVocabulary.Parts
        {
            Tokens = tokens.ToArray(),
            Scores = scores.ToArray(),
            Types = types.ToArray(),
            UnknownId = CheckId(unkId, tokens.Count, "unk_id"),
            BosId = CheckId(bosId, tokens.Count, "bos_id"),
            EosId = CheckId(eosId, tokens.Count, "eos_id"),
            AddBos = bosId >= 0,
            AddSpacePrefix = addDummyPrefix,
        };
    }

    private static int CheckId(long id, int count, string name)
    {
        if (id < 0) return -1;
        if (id >= count) throw new InvalidDataException($"trainer_spec.{name} = {id} is outside the {count} pieces");
        return (int)id;
    }

    /// <summary>Protobuf wire format over a span; every read is bounds-checked.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public bool TryReadTag(out int field, out int wire)
        {
            if (_position >= _data.Length)
            {
                field = wire = 0;
                return false;
            }
            ulong tag = ReadVarint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field == 0) throw new InvalidDataException($"field number 0 at byte {_position}");
            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length) throw new InvalidDataException("truncated varint");
                byte b = _data[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
            throw new InvalidDataException($"varint longer than 10 bytes at byte {_position}");
        }

        public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ReadOnlySpan<byte> ReadLengthDelimited()
        {
            ulong length = ReadVarint();
            if (length > (ulong)(_data.Length - _position))
                throw new InvalidDataException($"field of {length} bytes at byte {_position} runs past the end ({_data.Length} bytes)");
            return Take((int)length);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case Varint: ReadVarint(); break;
                case Fixed64: Take(8); break;
                case LengthDelimited: ReadLengthDelimited(); break;
                case Fixed32: Take(4); break;
                default: throw new InvalidDataException($"unsupported wire type {wire} at byte {_position}");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _data.Length - _position)
                throw new InvalidDataException($"truncated: {count} bytes needed at byte {_position} of {_data.Length}");
            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
