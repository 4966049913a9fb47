using System.Globalization;
using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>Builds a SentencePiece BPE <see cref="TextTokenizer"/> from the per-token arrays (GGUF or ModelProto).</summary>
internal static class SentencePieceVocabulary
{
    /// <summary>What both sources provide.</summary>
    public sealed class Parts
    {
        public required string[] Tokens { get; init; }

        public required float[] Scores { get; init; }

        public required TokenType[] Types { get; init; }

        public int BosId { get; init; } = -1;

        public int EosId { get; init; } = -1;

        public int UnknownId { get; init; } = -1;

        public bool AddBos { get; init; } = true;

        public bool AddSpacePrefix { get; init; } = true;

        public IReadOnlyList<int> ExtraEndOfGenerationIds { get; init; } = [];
    }

    public static TextTokenizer Build(Parts parts)
    {
        string[] tokens = parts.Tokens;
        var pieces = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        int[] byteTokens = new int[256];
        Array.Fill(byteTokens, -1);
        var table = new TokenTable.Builder(tokens.Length);
        for (int id = 0; id < tokens.Length; id++)
        {
            string text = tokens[id];
            TokenType type = parts.Types[id];
            switch (type)
            {
                case TokenType.Byte when TryParseByteToken(text, out byte value):
                    if (byteTokens[value] < 0) byteTokens[value] = id;
                    table.Bytes.Add(value);
                    break;
                case TokenType.Control or TokenType.Unknown or TokenType.UserDefined or TokenType.Byte:
                    if (type == TokenType.UserDefined) pieces.TryAdd(text, id);
                    table.Bytes.AddRange(Encoding.UTF8.GetBytes(text));
                    break;
                case TokenType.Unused:
                    break; // llama.cpp renders unused pieces as nothing and never merges into them
                default:
                    pieces.TryAdd(text, id);
                    table.Bytes.AddRange(Encoding.UTF8.GetBytes(text.Replace(SentencePieceBpeEncoder.SpaceMarker, ' ')));
                    break;
            }
            table.EndToken(type);
        }

        return new TextTokenizer(new TokenizerDefinition
        {
            Kind = TokenizerKind.SentencePiece,
            Encoder = new SentencePieceBpeEncoder(pieces, parts.Scores, byteTokens, parts.UnknownId, parts.AddSpacePrefix),
            Table = table.Build(),
            BosId = parts.BosId,
            EosId = parts.EosId,
            AddBos = parts.AddBos,
            ExtraEndOfGenerationIds = parts.ExtraEndOfGenerationIds,
            StripSpacePrefixOnDecode = parts.AddSpacePrefix,
        });
    }

    /// <summary>"&lt;0x0A&gt;" -> 0x0A.</summary>
    private static bool TryParseByteToken(string text, out byte value)
    {
        value = 0;
        return text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && byte.TryParse(text.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
