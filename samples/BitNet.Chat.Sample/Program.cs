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
    await foreach (var update in chat.GetStreamingResponseAsync(history, new() { MaxOutputTokens = 128 }))
    {
        Console.Write(update.Text);
        updates.Add(update);
    }
    Console.WriteLine();
    history.AddMessages(updates);
}
