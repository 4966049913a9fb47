using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>Loads a Llama-3 tiktoken <c>tokenizer.model</c> (Hugging Face / Meta format) into a <see cref="TextTokenizer"/>.</summary>
internal static class TiktokenFileLoader
{
    public static TextTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"tiktoken file not found: {path}", path);
        byte[] content = File.ReadAllBytes(path);
        List<byte[]> ranks;
        try { ranks = ParseRanks(content); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }

        int specialBase = ranks.Count;
        var table = new TokenTable.Builder(specialBase + Llama3Vocabulary.SpecialCount);
        foreach (byte[] bytes in ranks) table.Add(bytes, TokenType.Normal);
        for (int i = 0; i < Llama3Vocabulary.SpecialCount; i++)
            table.Add(Encoding.UTF8.GetBytes(Llama3Vocabulary.SpecialName(i)), TokenType.Control);

        var encoder = TiktokenFragmentEncoder.FromTiktokenText(new MemoryStream(content, writable: false), PreTokenizerPatterns.Llama3());
        var extraEog = new List<int>();
        foreach (int id in Llama3Vocabulary.EndOfGenerationIds) extraEog.Add(id - Llama3Vocabulary.SpecialBase + specialBase);
        return new TextTokenizer(new TokenizerDefinition
        {
            Kind = TokenizerKind.ByteLevelBpe,
            Encoder = encoder,
            Table = table.Build(),
            BosId = specialBase + (Llama3Vocabulary.BeginOfText - Llama3Vocabulary.SpecialBase),
            EosId = specialBase + (Llama3Vocabulary.EndOfText - Llama3Vocabulary.SpecialBase),
            AddBos = true,
            ExtraEndOfGenerationIds = extraEog,
        });
    }

    /// <summary>Lines <c>base64 rank</c>; ranks must be 0, 1, 2, ... in order (the library and our table assume it).</summary>
    private static List<byte[]> ParseRanks(ReadOnlySpan<byte> content)
    {
        var ranks = new List<byte[]>(128_000);
        int lineNumber = 0;
        while (!content.IsEmpty)
        {
            lineNumber++;
            int newline = content.IndexOf((byte)'\n');
            var line = newline < 0 ? content : content[..newline];
            content = newline < 0 ? default : content[(newline + 1)..];
            line = line.TrimEnd((byte)'\r');
            if (line.IsEmpty) continue;
            int space = line.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(line[(space + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int rank))
                throw new InvalidDataException($"line {lineNumber} is not '<base64> <rank>'");
            if (rank != ranks.Count)
                throw new InvalidDataException($"line {lineNumber} has rank {rank}, expected {ranks.Count} (ranks must be consecutive)");
            var base64 = line[..space];
            byte[] bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(base64.Length)];
            if (Base64.DecodeFromUtf8(base64, bytes, out _, out int written) != OperationStatus.Done || written == 0)
                throw new InvalidDataException($"line {lineNumber}: invalid base64 token");
            ranks.Add(written == bytes.Length ? bytes : bytes[..written]);
        }
        if (ranks.Count == 0) throw new InvalidDataException("no ranks found");
        return ranks;
    }
}
