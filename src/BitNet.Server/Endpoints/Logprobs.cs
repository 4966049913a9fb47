using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Tokenization;
using BitNet.Server.Contracts;

namespace BitNet.Server.Endpoints;

/// <summary>OpenAI's logprob entries: the token's text, its UTF-8 bytes and the top alternatives.</summary>
public static class Logprobs
{
    public static TokenLogprobDto ForToken(TextTokenizer tokenizer, GenerationEvent e)
    {
        var top = e.TopLogprobs is { } t
            ? t.Select(x => new TopLogprobDto(tokenizer.TokenText(x.TokenId), x.Logprob, Bytes(tokenizer, x.TokenId))).ToArray()
            : [];
        return new TokenLogprobDto(tokenizer.TokenText(e.TokenId), e.Logprob, Bytes(tokenizer, e.TokenId), top);
    }

    public static int[] Bytes(TextTokenizer tokenizer, int id)
    {
        var b = tokenizer.TokenBytes(id);
        var result = new int[b.Length];
        for (int i = 0; i < b.Length; i++) result[i] = b[i];
        return result;
    }
}
