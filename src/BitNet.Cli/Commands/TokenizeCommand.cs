using System.CommandLine;
using BitNet.Cli.Text;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet tokenize --model M --text "Hello" [--special] [--bos]`: the token ids of a text as JSON
/// <c>{"tokens":[...]}</c>. Reads only the vocabulary, so vocabulary-only GGUFs (no tensors) work too.
/// </summary>
public static class TokenizeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.Description = "Path of a GGUF file with a vocabulary (a model or a vocabulary-only file)";
        var text = new Option<string>("--text") { Description = "Text to tokenize", Required = true };
        var special = new Option<bool>("--special")
        {
            Description = "Turn special-token texts such as <|eot_id|> into those tokens (default: ordinary text)",
        };
        var bos = new Option<bool>("--bos") { Description = "Prepend the BOS token" };
        var cmd = new Command("tokenize", "Print the token ids of a text") { model, text, special, bos };
        cmd.SetAction(r => CliRunner.Run(() => Run(r.GetValue(model)!, r.GetValue(text)!, r.GetValue(special), r.GetValue(bos))));
        return cmd;
    }

    private static int Run(string path, string text, bool special, bool bos)
    {
        TextTokenizer tokenizer;
        using (var file = BitNet.Runtime.Weights.WeightSources.Open(path))
        {
            try
            {
                tokenizer = TextTokenizer.FromGguf(file.Metadata);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
        }
        if (bos && tokenizer.BosId < 0) throw new CliException("--bos: the vocabulary has no BOS token");
        TokenJson.WriteLine(Console.Out, tokenizer.Encode(text, addBos: bos, parseSpecial: special));
        return 0;
    }
}
