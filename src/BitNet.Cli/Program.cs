using System.CommandLine;
using BitNet.Cli.Commands;

// `bitnet`: inspect, evaluate, generate with and synthesize BitNet b1.58 models.
var root = new RootCommand("BitNet.Server command line: run 1.58-bit (ternary) language models on a CPU.")
{
    InfoCommand.Create(),
    ConvertCommand.Create(),
    EvalCommand.Create(),
    GenerateCommand.Create(),
    TokenizeCommand.Create(),
    ChatCommand.Create(),
    SynthCommand.Create(),
    BenchCommand.Create(),
    PullCommand.Create(),
    StressCommand.Create(),
    SelftestCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
