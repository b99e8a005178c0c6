using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.Models;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The LSTM kernels against float64 on the machine it runs on: the reproduction of the oneDNN fp32 inference fault
/// (native-notes/onednn-lstm-inference.md). For each layer shape of every preset, of fastai's 400/1152/3 and of the shapes
/// the fault was first seen at, it prints the max abs error of every kernel (<see cref="LstmKernel"/>) in no-grad and
/// training calls, fp32 and bf16, at the check's own batches (1 and 7, 5 steps) and at a training-sized batch
/// (32 × 70), with 1 and 2 threads, and each kernel's time at 32 × 70 (median of 5; forward, plus backward in
/// training); then the cost of the start-up check (<see cref="LstmKernelCheck"/>) for each preset,
/// measured on a fresh check. Writes perf-results/LstmNumerics.md; exit code 1 when a kernel the engine uses by default
/// (fp32 as chosen by the check, the bf16-GEMM layer) is wrong at the training-sized batch, which would mean the check's
/// small problems missed a fault; 0 otherwise, whatever the other kernels do.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run lstm-numerics</c>.
/// </summary>
internal static class LstmNumericsRun
{
    // (inputs, hidden): tiny 16/32/2, small 64/256/3, the peer shape 128/384/3, fastai's 400/1152/3, and the
    // fault's first reported shapes.
    private static readonly (int Inputs, int Hidden, string Where)[] Shapes =
    {
        (16, 32, "tiny"), (32, 16, "tiny"),
        (64, 256, "small"), (256, 256, "small"), (256, 64, "small"),
        (128, 384, "peer"), (384, 384, "peer"), (384, 128, "peer"),
        (400, 1152, "large"), (1152, 1152, "large"), (1152, 400, "large"),
        (8, 12, "reported"), (100, 400, "reported"), (128, 300, "reported"),
    };

    public static int Execute(RunContext context)
    {
        TorchRuntime.Initialize();
        var report = new StringBuilder();
        report.AppendLine("# LSTM kernels against float64").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- machine: {CpuInfo.Describe()}, {Environment.ProcessorCount} logical cores");
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; libtorch {torch.__version__}");
        report.AppendLine(CultureInfo.InvariantCulture, $"- command: `{context.Command}`");
        string isa = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? "";
        report.AppendLine(CultureInfo.InvariantCulture, $"- ONEDNN_MAX_CPU_ISA: {(isa.Length == 0 ? "unset" : isa)}");
        report.AppendLine("- error: max abs difference of output, final h and c (and, in training, every gradient relative to its largest magnitude) from the float64 reference (LstmReference, hand-written backward); inputs are exact in the compute dtype");
        report.AppendLine(CultureInfo.InvariantCulture, $"- tolerance: fp32 {LstmKernelCheck.Float32Tolerance:G2}, bf16 {LstmKernelCheck.BFloat16Tolerance:G2}; **bold** = beyond it; ✓ = the kernel the engine's check chooses");
        report.AppendLine("- check batches: 1 and 7 × 3 steps (no-grad), 5 × 3 (training); big: 32 × 70; ms: one call at 32 × 70 (forward, plus backward in training), median of 5");
        report.AppendLine("- paths the engine takes by default: fp32 → `Fused` (or the check's fallback), bf16 → `Bf16Gemm`; fused bf16 (`Fused`/`Steps` in the bf16 tables) runs only for layers opted in with `AwdLstmEncoder.FusedBf16MaxHidden`, and keeps its cell state in bf16").AppendLine();

        var probe = new LstmKernelCheck(LstmKernels.Run, _ => { });
        bool wrongInUse = false;
        foreach (int threads in new[] { 1, 2 })
        {
            TorchRuntime.Initialize(threads);
            foreach (bool inference in new[] { true, false })
            {
                foreach (ScalarType type in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                {
                    var kernels = new List<LstmKernel> { LstmKernel.Fused };
                    if (inference)
                    {
                        kernels.Add(LstmKernel.FusedTrainingKernel);
                    }
                    kernels.Add(LstmKernel.Steps);
                    if (type == ScalarType.BFloat16)
                    {
                        kernels.Add(LstmKernel.Bf16Gemm);
                    }
                    report.AppendLine(CultureInfo.InvariantCulture, $"## {(inference ? "no-grad" : "training")}, {(type == ScalarType.Float32 ? "fp32" : "bf16")}, {threads} thread{(threads == 1 ? "" : "s")}").AppendLine();
                    report.AppendLine("| shape | preset | " + string.Join(" | ", kernels.Select(k => $"{k} (check) | {k} (32 × 70) | {k} ms")) + " |");
                    report.AppendLine("|---|---|" + string.Concat(kernels.Select(_ => "---:|---:|---:|")));
                    foreach (var (inputs, hidden, where) in Shapes)
                    {
                        var row = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"| {inputs}→{hidden} | {where} |"));
                        foreach (LstmKernel kernel in kernels)
                        {
                            var shape = new LstmKernelCheck.Shape(kernel == LstmKernel.Bf16Gemm ? LstmKernel.Bf16Gemm : LstmKernel.Fused,
                                inference, type, inputs, hidden, threads);
                            double check = probe.Measure(kernel, shape);
                            double big = probe.Measure(kernel, shape, new[] { 32 }, 70);
                            double tolerance = type == ScalarType.Float32 ? LstmKernelCheck.Float32Tolerance : LstmKernelCheck.BFloat16Tolerance;
                            bool chosen = kernel == LstmKernel.Bf16Gemm || probe.Choose(shape).Kernel == kernel;
                            bool defaultPath = type == ScalarType.Float32 || kernel == LstmKernel.Bf16Gemm;
                            if (chosen && defaultPath && big > tolerance)
                            {
                                wrongInUse = true;
                            }
                            double ms = Milliseconds(kernel, inference, type, inputs, hidden);
                            row.Append(CultureInfo.InvariantCulture, $" {Cell(check, tolerance)}{(chosen ? " ✓" : "")} | {Cell(big, tolerance)} | {ms:F1} |");
                        }
                        report.AppendLine(row.ToString());
                        Console.WriteLine(row);
                    }
                    report.AppendLine();
                }
            }
        }
        TorchRuntime.Initialize(1);
        report.AppendLine("## Cost of the start-up check (a fresh check per preset, 1 thread)").AppendLine();
        report.AppendLine("| preset | layer shapes | no-grad fp32 ms | training fp32 ms | no-grad + training bf16-GEMM ms |");
        report.AppendLine("|---|---|---:|---:|---:|");
        foreach (var (name, emb, hid, layers) in new[] { ("tiny", 16, 32, 2), ("small", 64, 256, 3), ("peer", 128, 384, 3), ("large", 400, 1152, 3) })
        {
            var config = new AwdLstmConfig(EmbeddingSize: emb, HiddenSize: hid, Layers: layers);
            var shapes = Enumerable.Range(0, layers).Select(l => (config.LayerInputSize(l), config.LayerOutputSize(l))).Distinct().ToArray();
            double Cost(LstmKernel preferred, bool inference, ScalarType type)
            {
                var fresh = new LstmKernelCheck(LstmKernels.Run, _ => { });
                var clock = Stopwatch.StartNew();
                foreach (var (i, h) in shapes)
                {
                    fresh.Choose(new LstmKernelCheck.Shape(preferred, inference, type, i, h, 1));
                }
                return clock.Elapsed.TotalMilliseconds;
            }
            double noGrad = Cost(LstmKernel.Fused, true, ScalarType.Float32);
            double training = Cost(LstmKernel.Fused, false, ScalarType.Float32);
            double bf16 = Cost(LstmKernel.Bf16Gemm, true, ScalarType.BFloat16) + Cost(LstmKernel.Bf16Gemm, false, ScalarType.BFloat16);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {string.Join(", ", shapes.Select(s => $"{s.Item1}→{s.Item2}"))} | {noGrad:F0} | {training:F0} | {bf16:F0} |");
            report.AppendLine(line);
            Console.WriteLine(line);
        }
        report.AppendLine();
        report.AppendLine(wrongInUse
            ? "**A kernel the engine uses by default is wrong at the training-sized batch: the check's small batches missed a fault.**"
            : "Every kernel the engine uses by default (fp32 as the check chose, bf16-GEMM) is also right at the training-sized batch.");
        string path = context.Write("LstmNumerics.md", report.ToString());
        Console.WriteLine($"report: {path}");
        return wrongInUse ? 1 : 0;
    }

    // Median of 5 calls on 32 × 70 (forward and, for training, backward), after one warm-up call.
    private static double Milliseconds(LstmKernel kernel, bool inference, ScalarType type, int inputs, int hidden)
    {
        using var scope = torch.NewDisposeScope();
        ScalarType inputType = kernel == LstmKernel.Bf16Gemm ? ScalarType.Float32 : type;
        Tensor[] tensors =
        {
            torch.rand(32, 70, inputs).to(inputType), torch.zeros(1, 32, hidden).to(inputType), torch.zeros(1, 32, hidden).to(inputType),
            torch.rand(4 * hidden, inputs).sub_(0.5).div_(Math.Sqrt(hidden)).to(inputType),
            torch.rand(4 * hidden, hidden).sub_(0.5).div_(Math.Sqrt(hidden)).to(inputType),
            torch.zeros(4 * hidden).to(inputType), torch.zeros(4 * hidden).to(inputType),
        };
        var times = new List<double>();
        for (int call = 0; call < 6; call++)
        {
            using var step = torch.NewDisposeScope();
            using var mode = inference ? torch.no_grad() : torch.enable_grad();
            Tensor[] leaves = tensors.Select(t => inference ? t : t.detach().requires_grad_()).ToArray();
            var clock = Stopwatch.StartNew();
            var (y, _, _) = LstmKernels.Run(kernel, leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6], train: !inference);
            if (!inference)
            {
                y.to(ScalarType.Float32).sum().backward();
            }
            if (call > 0)
            {
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    private static string Cell(double error, double tolerance) =>
        error <= tolerance ? error.ToString("0.0e0", CultureInfo.InvariantCulture) : $"**{error.ToString("0.00e0", CultureInfo.InvariantCulture)}**";
}
