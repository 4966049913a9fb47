// Chat with the bundled model in this process: run from the repository root with
//   dotnet run --project samples/BitNet.Chat.Sample [-- path/to/model.gguf]
using BitNet.Extensions.AI;
using Microsoft.Extensions.AI;

using var bitnet = BitNetModelHost.Load(args.Length > 0 ? args[0] : "models/stories3m-b158-i2_s.gguf");
IChatClient chat = bitnet.ChatClient;
List<ChatMessage> history = [];
while (Console.ReadLine() is { Length: > 0 } line)
{
    history.Add(new(ChatRole.User, line));
    List<ChatResponseUpdate> updates = [];
    try
    {
        await foreach (var update in chat.GetStreamingResponseAsync(history, new() { MaxOutputTokens = 128 }))
        {
            Console.Write(update.Text);
            updates.Add(update);
        }
    }
    catch (ArgumentException e)     // the conversation outgrew the model's context (512 tokens for the bundled model)
    {
        Console.WriteLine($"[{e.Message}: starting a new conversation]");
        history.Clear();
        continue;
    }
    Console.WriteLine();
    history.AddMessages(updates);
}
