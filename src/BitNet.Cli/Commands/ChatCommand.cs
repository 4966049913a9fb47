using System.CommandLine;
using BitNet.Cli.Text;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet chat --model M [--system S] [--chat-format NAME]`: a multi-turn conversation on stdin / stdout with the
/// model's chat format (detected from the GGUF unless named). Lines starting with / are commands (/reset, /exit);
/// Ctrl-C stops the current answer, not the program. Works with stdin redirected (one message per line).
/// </summary>
public static class ChatCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var system = new Option<string>("--system", "-s") { Description = "System message that opens the conversation" };
        var format = new Option<string>("--chat-format")
        {
            Description = $"Chat format: {string.Join(", ", ChatFormats.Names)} (default: detected from the model)",
        };
        var count = new Option<int>("-n", "--n-predict")
        {
            Description = $"Most tokens per answer (-1 = until the end of the turn or the context; default {ChatOptions.DefaultAnswerTokens})",
            DefaultValueFactory = _ => ChatOptions.DefaultAnswerTokens,
        };
        var sampling = new SamplingOptions();
        var threads = CommonOptions.Threads();
        var ctx = new Option<int>("--ctx-size", "-c") { Description = "Context length (default: the model's)" };
        var cmd = new Command("chat", "Talk with a model (interactive; reads stdin, one message per line)")
        {
            model, system, format, count, threads, ctx,
        };
        sampling.AddTo(cmd);
        cmd.SetAction(r => CliRunner.Run(() =>
        {
            int n = r.GetValue(count), context = r.GetValue(ctx);
            if (n < -1) throw new CliException("-n must be >= 0, or -1 for no limit");
            if (context < 0) throw new CliException("--ctx-size must be >= 0 (0 = the model's)");
            var stops = sampling.StopStrings(r);
            using var loaded = BitNetModel.Load(r.GetValue(model)!);
            var options = new ChatOptions
            {
                Sampling = sampling.Build(r, loaded.Config.Vocab),
                SystemPrompt = r.GetValue(system),
                MaxAnswerTokens = n,
                StopStrings = stops,
            };
            var tokenizer = TextTokenizer.FromGguf(loaded.File.Metadata);
            var chatFormat = SelectFormat(r.GetValue(format), loaded, tokenizer);
            using var pool = new WorkerPool(CommonOptions.CheckThreads(r.GetValue(threads)));
            int length = context > 0 ? Math.Min(context, loaded.Config.Context) : loaded.Config.Context;
            using var session = new ModelSession(loaded, pool, length, maxChunk: 64);
            var loop = new ChatLoop(session, tokenizer, chatFormat, options);
            Run(loop);
            return 0;
        }));
        return cmd;
    }

    /// <summary>The named format, or the one <see cref="ChatFormats.Detect"/> picks from the GGUF metadata.</summary>
    internal static ChatFormat SelectFormat(string? name, BitNetModel model, TextTokenizer tokenizer)
    {
        if (name is not null)
        {
            try { return ChatFormats.Get(name); }
            catch (ArgumentException e) { throw new CliException($"--chat-format: {e.Message.Split(" (Parameter")[0]}"); }
        }
        string? template = model.File.Metadata.GetStringOrNull("tokenizer.chat_template");
        return ChatFormats.Detect(model.Config.Architecture, template, text => tokenizer.TryGetSpecialTokenId(text, out _));
    }

    private static void Run(ChatLoop loop)
    {
        // Ctrl-C during an answer only ends that answer; at the prompt it ends the program as usual.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (!loop.IsAnswering) return;
            e.Cancel = true;
            loop.CancelAnswer();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            loop.Run(Console.In, Console.Out, Console.Error, interactive: !Console.IsInputRedirected);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
