using System.Globalization;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Native;
using FastText.Engine.Pipeline;
using FastText.Engine.Text;
using TorchSharp;

// Experiment harness for perf-results/SampleEfficiency-small (issue #6): classifier runs the CLI cannot express.
// Not part of the solution. Small preset, 1 torch thread (FASTTEXT_TORCH_THREADS is ignored). Usage:
//   harness clf corpus=<labelled corpus> out=<run folder> lm=<LM folder|random|none> sched=recipe|onecycle sizes=100,all
//           [seed=42] [mult=1] [cap=8] [stages="-1:1:0.02;-2:1:0.02;-3:1:0.01;0:2:0.005"]
//       one classifier per size, epochs scaled as UlmfitPipeline.CompareSampleEfficiency does; lm=random saves a freshly
//       initialised LM (seed 12345) and trains from it, lm=none is the from-scratch arm; prints "RESULT … acc=…".
//   harness pretrain corpus=<corpus> out=<LM folder> epochs=4 lr=0.01   (= fasttext pretrain on that corpus)
//   harness check corpus=<labelled corpus> out=<scratch folder> lm=<LM folder> pre=<pretrained LM's vocab.txt>
//       classifier encoder vs LM encoder outputs, embedding spread, vocabulary coverage.
var kv = args.Skip(1).Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
string Get(string k, string d) => kv.TryGetValue(k, out var v) ? v : d;
string Need(string k) => kv.TryGetValue(k, out var v) ? v : throw new ArgumentException($"missing {k}=");
TorchRuntime.Initialize(1);
var sink = new ConsoleSink();
var preset = UlmfitPreset.Small;
if (kv.TryGetValue("stages", out var st))
{
    preset = preset with { ClassifierStages = st.Split(';').Select(s => s.Split(':')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture), double.Parse(p[2], CultureInfo.InvariantCulture))).ToArray() };
}
if (kv.TryGetValue("seed", out var sd)) preset = preset with { Seed = int.Parse(sd, CultureInfo.InvariantCulture) };
string mode = args[0];
using var labelled = TextDataset.Load(Need("corpus"));
var run = new UlmfitPipeline(Need("out"), preset, sink);
if (mode == "pretrain")
{
    var p = preset with { PretrainEpochs = int.Parse(Get("epochs", "4"), CultureInfo.InvariantCulture), PretrainLearningRate = double.Parse(Get("lr", "0.01"), CultureInfo.InvariantCulture) };
    var r2 = new UlmfitPipeline(Need("out"), p, sink);
    r2.Pretrain(labelled, ".");
    r2.SaveReport();
    return;
}
LanguageModelArtifact Lm(string spec)
{
    if (spec != "random") return LanguageModelArtifact.Open(spec);
    torch.manual_seed(12345);
    using var m = new AwdLstmLanguageModel(labelled.Vocabulary.Count, run.LanguageModelConfig);
    return LanguageModelArtifact.Save(Path.Combine(run.RunFolder, "random-lm"), m, labelled.Vocabulary, labelled.Tokenization, labelled.MaxTokens);
}
if (mode == "check")
{
    var lmA = LanguageModelArtifact.Open(Need("lm"));
    using var lmModel = lmA.LoadModel();
    var model = TextClassifier.Create(labelled.Vocabulary.Count, run.LanguageModelConfig, labelled.ClassNames.Count, preset.ClassifierDropMultiplier, preset.ClassifierSequenceLength);
    ModelWeights.LoadEncoder(((AwdLstmClassifierEncoder)model.SentenceEncoder.Encoder).Encoder, lmA.EncoderPath, labelled.Vocabulary.Tokens);
    model.eval();
    double maxDiff = 0; int docs = 0;
    foreach (int d in labelled.Validation.Take(20))
    {
        int[] doc = labelled.Document(d);
        if (doc.Length < 144) continue;
        using var ids = torch.tensor(doc.Take(144).Select(x => (long)x).ToArray()).reshape(1, 144);
        lmModel.Reset();
        using var a = lmModel.Encoder.call(ids);
        var (b, mask) = model.SentenceEncoder.call(ids);
        maxDiff = Math.Max(maxDiff, (a - b).abs().max().item<float>());
        docs++;
    }
    Console.WriteLine($"CHECK encoder outputs LM vs classifier (eval, {docs} docs x 144 tokens): max |diff| = {maxDiff:G3}");
    // occurrences of tokens absent from the pretrained (Brown) vocabulary
    var brown = new HashSet<string>(File.ReadAllLines(Need("pre")));
    var toks = labelled.Vocabulary.Tokens;
    long total = 0, newOcc = 0; int types = 0, newTypes = 0;
    var seen = new HashSet<int>();
    foreach (int d in labelled.Training)
    {
        foreach (int id in labelled.Document(d)) { total++; if (!brown.Contains(toks[id])) newOcc++; }
    }
    foreach (var t in toks) { types++; if (!brown.Contains(t)) newTypes++; }
    {
        using var emb = lmModel.Encoder.EmbeddingWeight.detach().clone();
        var isNew = toks.Select(t => !brown.Contains(t)).ToArray();
        using var newIdx = torch.tensor(Enumerable.Range(0, toks.Count).Where(i => isNew[i]).Select(i => (long)i).ToArray());
        using var oldIdx = torch.tensor(Enumerable.Range(0, toks.Count).Where(i => !isNew[i]).Select(i => (long)i).ToArray());
        foreach (var (name, idx) in new[] { ("new (mean-init)", newIdx), ("matched", oldIdx) })
        {
            using var rows = emb.index_select(0, idx);
            using var centred = rows - rows.mean(new long[] { 0 }, keepdim: true);
            double spread = centred.norm(1).mean().item<float>();
            double norm = rows.norm(1).mean().item<float>();
            Console.WriteLine($"CHECK embedding rows {name}: {idx.shape[0]} rows, mean norm {norm:F3}, mean distance from their centroid {spread:F3}");
        }
    }
    Console.WriteLine($"CHECK vocab types {types}, not in Brown {newTypes} ({100.0*newTypes/types:F1}%); training-token occurrences {total}, not in Brown {newOcc} ({100.0*newOcc/total:F1}%)");
    return;
}
if (mode == "clf")
{
    string lmSpec = Get("lm", "none");
    LanguageModelArtifact? lm = lmSpec == "none" ? null : Lm(lmSpec);
    bool recipe = Get("sched", "recipe") == "recipe";
    int mult = int.Parse(Get("mult", "1"), CultureInfo.InvariantCulture);
    int cap = int.Parse(Get("cap", "8"), CultureInfo.InvariantCulture);
    foreach (string s in Get("sizes", "100,all").Split(','))
    {
        int? size = s == "all" ? null : int.Parse(s, CultureInfo.InvariantCulture);
        int available = labelled.Training.Count;
        int scale = size is int n && n < available ? Math.Clamp((int)Math.Round((double)available / n), 1, cap) : 1;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var result = run.TrainClassifier(labelled, lm, $"{lmSpec}|{Get("sched", "recipe")}|{s}", size, save: false, epochScale: scale * mult, gradualUnfreezing: recipe);
        Console.WriteLine(FormattableString.Invariant($"RESULT lm={lmSpec} sched={Get("sched", "recipe")} stages={Get("stages", "preset")} mult={mult} seed={preset.Seed} size={s} scale={scale * mult} acc={result.Evaluation.Metrics.Accuracy * 100:F2} time={clock.Elapsed.TotalSeconds:F0}s"));
    }
    run.SaveReport();
}

sealed class ConsoleSink : IProgressSink, IProgressTask
{
    public IProgressTask Start(string description, long total, string unit) => this;
    public void Log(string line) => Console.WriteLine(line);
    public void Report(long done, string? status = null) { }
    public void Dispose() { }
}
