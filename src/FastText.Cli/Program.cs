using System.CommandLine;
using System.Diagnostics;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

var threads = new Option<int?>("--threads") { Description = "Torch intra-op threads (default: FASTTEXT_TORCH_THREADS or the core count)." };

var demo = new Command("demo", "Run the end-to-end job on the shipped sample data (placeholder: proves the toolchain end to end).");
demo.Options.Add(threads);
demo.SetAction(parse =>
{
    int used = TorchRuntime.Initialize(parse.GetValue(threads));
    Console.WriteLine($"libtorch loaded ({used} intra-op thread(s), CUDA available: {torch.cuda.is_available()}).");
    using var scope = torch.NewDisposeScope();
    torch.manual_seed(0);
    using var lstm = nn.LSTM(32, 64, numLayers: 2, batchFirst: true);
    var x = torch.randn(8, 16, 32);
    var watch = Stopwatch.StartNew();
    var (y, _, _) = lstm.call(x, null);
    y.sum().backward();
    Console.WriteLine($"LSTM forward+backward on CPU: output {string.Join('x', y.shape)} in {watch.Elapsed.TotalMilliseconds:F1} ms.");
    return 0;
});

var root = new RootCommand("FastText.Engine: ULMFiT text models on TorchSharp.");
root.Subcommands.Add(demo);
return root.Parse(args).Invoke();
