using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using BitNet.Server.Options;

namespace BitNet.Server.Tests.Startup;

/// <summary>
/// The server's first five minutes, run as a real process: --help and --version, bad flags and values, unusable
/// models and a port in use each end with one line and an exit code, never a stack trace or a server stuck at 503.
/// </summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Help_lists_every_flag_with_its_environment_variable_and_default()
    {
        foreach (string flag in new[] { "--help", "-h" })
        {
            var result = await ServerProcess.RunAsync([flag]);
            Assert.True(result.ExitCode == 0, result.ToString());
            foreach (var f in CommandLineArguments.Flags)
            {
                Assert.Contains(string.Join(", ", f.Names), result.Out);
                if (f.EnvironmentVariable is { } env) Assert.Contains($"env {env}", result.Out);
            }
            Assert.Equal(CommandLineArguments.Flags.Count, Regex.Matches(result.Out, "default: ").Count);
            Assert.Contains("default: 4; env BitNet__Parallel", result.Out);
            Assert.Contains("[1..256]", result.Out);
        }
    }

    [Fact]
    public async Task Version_prints_the_version()
    {
        var result = await ServerProcess.RunAsync(["--version"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^BitNet\.Server \d+\.\d+\.\d+\s*$", result.Out);
    }

    [Theory]
    [InlineData("--bogus-flag 1", "unknown flag --bogus-flag")]
    [InlineData("--parallel 0", "--parallel: 0 is out of range (accepted: 1..256)")]
    [InlineData("-np 300", "--parallel: 300 is out of range (accepted: 1..256)")]
    [InlineData("--ctx-size 99999999", "--ctx-size: 99999999 is out of range (accepted: 0..1048576)")]
    [InlineData("--ctx-size abc", "--ctx-size: 'abc' is not an integer (accepted: 0..1048576)")]
    [InlineData("--port 99999", "--port: 99999 is out of range (accepted: 1..65535)")]
    [InlineData("--threads", "--threads needs a value")]
    [InlineData("stray", "unexpected argument 'stray'")]
    public async Task A_bad_flag_is_one_line_naming_it_and_exit_code_2(string args, string message)
    {
        var result = await ServerProcess.RunAsync(args.Split(' '));
        Assert.StartsWith($"error: {message}", ServerProcess.AssertOneLineError(result, 2));
    }

    [Theory]
    [InlineData("BitNet__Parallel", "0", "--parallel (BitNet:Parallel): 0 is out of range (accepted: 1..256)")]
    [InlineData("BitNet__ContextSize", "abc", "--ctx-size (BitNet:ContextSize): 'abc' is not an integer (accepted: 0..1048576)")]
    [InlineData("BitNet__MaxQueuedRequests", "-1", "BitNet:MaxQueuedRequests: -1 is out of range (accepted: 0..100000)")]
    [InlineData("BitNet__Kernels", "avx1024", "--kernels (BitNet:Kernels): kernels 'avx1024' is not one of auto, AVX-512, AVX-VNNI, AVX-512BW, AVX2, AdvSimd+Dp, AdvSimd, scalar")]
    [InlineData("BitNet__KvCacheType", "f8", "--kv-type (BitNet:KvCacheType): 'f8' is not one of f16, f32, q8_0")]
    [InlineData("BitNet__Head", "q4", "--head (BitNet:Head): head format 'q4' is not one of native, q8_0")]
    public async Task A_bad_environment_variable_is_one_line_naming_the_flag_and_setting(string variable, string value, string message)
    {
        var result = await ServerProcess.RunAsync(["--port", ServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string> { [variable] = value });
        Assert.Equal($"error: {message}", ServerProcess.AssertOneLineError(result, 2));
    }

    public static TheoryData<string> UnusableModels() =>
        ["missing", "directory", "text", "vocabulary-only", "truncated-data", "truncated-header", "bad-magic", "huge-tensor-count"];

    [Theory]
    [MemberData(nameof(UnusableModels))]
    public async Task An_unusable_model_exits_with_one_line_before_listening(string kind)
    {
        string dir = Directory.CreateTempSubdirectory("bitnet-startup-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.gguf");
            var bundled = File.ReadAllBytes(TestPaths.BundledModel);
            switch (kind)
            {
                case "missing": break;
                case "directory": Directory.CreateDirectory(path); break;
                case "text": File.WriteAllText(path, "this is not a model\n"); break;
                case "vocabulary-only": File.Copy(Path.Combine(TestPaths.RepoRoot, "..", "shared", "tokenizers", "llama3", "llama3-vocab.gguf"), path); break;
                case "truncated-data": File.WriteAllBytes(path, bundled[..(bundled.Length * 3 / 4)]); break;
                case "truncated-header": File.WriteAllBytes(path, bundled[..200]); break;
                case "bad-magic": File.WriteAllBytes(path, [(byte)'G', (byte)'G', (byte)'M', (byte)'L', .. bundled[4..]]); break;
                default: File.WriteAllBytes(path, [.. bundled[..8], .. BitConverter.GetBytes(ulong.MaxValue / 2), .. bundled[16..]]); break;
            }
            int port = ServerProcess.FreePort();
            var result = await ServerProcess.RunAsync(["--model", path, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            string line = ServerProcess.AssertOneLineError(result, 1);
            Assert.Contains($"--model {path}", line);
            Assert.DoesNotContain("Now listening", result.Out);
            if (kind == "directory") Assert.Contains("is a directory", line);
            if (kind == "missing") Assert.Contains("not found", line);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_the_model_is_never_loaded()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var result = await ServerProcess.RunAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            string line = ServerProcess.AssertOneLineError(result, 1);
            Assert.Contains($"127.0.0.1:{port}", line);
            Assert.Contains("already in use", line);
            Assert.DoesNotContain("Loading model", result.Out);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public async Task A_context_above_the_trained_one_is_a_warning_naming_both()
    {
        int port = ServerProcess.FreePort();
        string log = await ServerProcess.RunUntilAsync(["--ctx-size", "4096", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            line => line.Contains(" ready: ", StringComparison.Ordinal));
        var warning = log.Split('\n').Single(l => l.Contains("WRN", StringComparison.Ordinal) && l.Contains("--ctx-size", StringComparison.Ordinal));
        Assert.Contains("4096", warning);
        Assert.Contains("512", warning);
        Assert.Contains("context 512", log);
    }
}
