using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastText.Engine.Models.Baselines;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The engine's bag-of-n-grams baselines (<see cref="TfIdfLinearSvm"/>, <see cref="HashedNgramClassifier"/>) against
/// scikit-learn (<c>TfidfVectorizer + LinearSVC</c>, and logistic regression) and the fastText command line, on the
/// same stratified subsets (the sample-efficiency experiment's, seeds 42, 7, 1, 2, 3) of the shipped SpamAssassin
/// split, full mail bodies, the same tokens (the engine's ids written as words). Writes perf-results/Baselines.md;
/// fails when the engine's SVM is more than 0.5 points from scikit-learn's on the mean of any size.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run baselines</c> (installs Debian's
/// python3-sklearn and fasttext first: <c>apt-get install python3-sklearn fasttext</c>).
/// </summary>
internal static class BaselinesRun
{
    private static readonly int[] Seeds = [42, 7, 1, 2, 3];

    public static int Execute(RunContext context)
    {
        string fasttext = Path.Combine(AppContext.BaseDirectory, "fasttext");
        string work = Path.Combine(Path.GetTempPath(), "fasttext-baselines-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        string subsets = Path.Combine(work, "subsets");
        Directory.CreateDirectory(subsets);
        try
        {
            var (exit, _, error) = KilledCommand.RunToEnd(fasttext, ["tokenize", "-i", Path.Combine(context.RepositoryRoot, "samples", "spam-assassin.tar.gz"),
                "-o", Path.Combine(work, "spam"), "--preset", "small", "--max-tokens", "0"], TimeSpan.FromMinutes(10));
            if (exit != 0)
            {
                throw new InvalidOperationException($"Baselines: tokenize failed: {error}");
            }
            using TextDataset corpus = TextDataset.Load(Path.Combine(work, "spam"));
            WriteTsv(Path.Combine(subsets, "valid.tsv"), corpus, corpus.Validation);
            var ours = new Dictionary<string, (double Svm, double SvmSeconds, double Hashed, double HashedSeconds)>(StringComparer.Ordinal);
            int?[] sizes = [100, 300, 1000, null];
            foreach (int? size in sizes)
            {
                foreach (int seed in size is null ? Seeds[..1] : Seeds)      // all labels: one subset whatever the seed
                {
                    IReadOnlyList<int> training = UlmfitPipeline.TrainingSubset(corpus, size, seed);
                    string point = $"{size?.ToString(CultureInfo.InvariantCulture) ?? "all"}-{seed}";
                    WriteTsv(Path.Combine(subsets, point + ".train.tsv"), corpus, training);
                    var clock = Stopwatch.StartNew();
                    double svm = BaselineData.Accuracy(TfIdfLinearSvm.Train(corpus.Corpus, training, seed), corpus.Corpus, corpus.Validation);
                    double svmSeconds = clock.Elapsed.TotalSeconds;
                    clock.Restart();
                    double hashed = BaselineData.Accuracy(HashedNgramClassifier.Train(corpus.Corpus, training, new HashedNgramOptions(), seed), corpus.Corpus, corpus.Validation);
                    ours[point] = (svm, svmSeconds, hashed, clock.Elapsed.TotalSeconds);
                    Console.WriteLine(FormattableString.Invariant($"Baselines: {point}: SVM {svm:P2} ({svmSeconds:F1} s), fastText-style {hashed:P2} ({clock.Elapsed.TotalSeconds:F1} s)"));
                }
            }
            var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Path.Combine(context.RepositoryRoot, "bench", "peers", "baselines.py"), "--data", subsets])
            {
                RedirectStandardOutput = true,
            })!;
            string json = python.StandardOutput.ReadToEnd();
            python.WaitForExit();
            if (python.ExitCode != 0)
            {
                throw new InvalidOperationException("Baselines: bench/peers/baselines.py failed (is python3-sklearn installed? apt-get install python3-sklearn fasttext).");
            }
            using JsonDocument peers = JsonDocument.Parse(json);
            JsonElement points = peers.RootElement.GetProperty("points");
            double Peer(string point, string name) => points.TryGetProperty(point, out JsonElement p) && p.TryGetProperty(name, out JsonElement v) ? v.GetProperty("accuracy").GetDouble() : double.NaN;
            double PeerSeconds(string point, string name) => points.TryGetProperty(point, out JsonElement p) && p.TryGetProperty(name, out JsonElement v) ? v.GetProperty("seconds").GetDouble() : double.NaN;

            var report = new StringBuilder();
            report.AppendLine("# Bag-of-n-grams baselines: the engine's against scikit-learn's and fastText's, same subsets, same tokens").AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- machine: {CpuInfo.Describe()}; measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            report.AppendLine($"- command: `{context.Command}` (scikit-learn {peers.RootElement.GetProperty("sklearn").GetString()}, fastText: {peers.RootElement.GetProperty("fasttext").ToString()}, both Debian's)");
            report.AppendLine(CultureInfo.InvariantCulture, $"- data: the shipped SpamAssassin split, full bodies (`tokenize --preset small --max-tokens 0`): {corpus.Training.Count:N0} training / {corpus.Validation.Count:N0} test mails, the engine's tokens (fastai rules, vocabulary {corpus.Vocabulary.Count:N0}) given to every library as the same words; subsets = the sample-efficiency experiment's stratified ones, seeds {string.Join(", ", Seeds)} (all labels: one run)");
            report.AppendLine("- engine SVM: TF-IDF 1–2-grams (scikit-learn's smoothed idf, L2 rows) + squared-hinge linear SVM, C = 1, dual coordinate descent; scikit-learn: `TfidfVectorizer(ngram_range=(1, 2))` + `LinearSVC()`; logistic regression: the same features + `LogisticRegression()`");
            report.AppendLine("- engine fastText-style: averaged embeddings of words and hashed bigrams, dim 50, 25 epochs, lr 0.5 decaying linearly, 2¹⁸ buckets; fastText CLI with the same flags (`-dim 50 -epoch 25 -lr 0.5 -wordNgrams 2 -bucket 262144 -minCount 1 -thread 1`)").AppendLine();
            report.AppendLine("| labelled mails | engine SVM | scikit-learn SVM | difference | scikit-learn logistic | engine fastText-style | fastText CLI | seconds: engine SVM / sklearn SVM / engine fastText-style / fastText CLI |");
            report.AppendLine("|---|---|---|---|---|---|---|---|");
            bool close = true;
            foreach (int? size in sizes)
            {
                string[] keys = size is null ? ["all-42"] : Seeds.Select(s => $"{size}-{s}").ToArray();
                double Mean(Func<string, double> f) => keys.Average(f);
                string Cell(Func<string, double> f) => keys.Length == 1 ? FormattableString.Invariant($"{f(keys[0]) * 100:F2}%")
                    : FormattableString.Invariant($"{Mean(f) * 100:F2}% ({string.Join(", ", keys.Select(k => (f(k) * 100).ToString("F1", CultureInfo.InvariantCulture)))})");
                double difference = Mean(k => ours[k].Svm) - Mean(k => Peer(k, "sklearn_svm"));
                close &= Math.Abs(difference) <= 0.005;
                report.AppendLine(FormattableString.Invariant(
                    $"| {(size is int n ? n.ToString("N0", CultureInfo.InvariantCulture) : $"all {corpus.Training.Count:N0}")} | {Cell(k => ours[k].Svm)} | {Cell(k => Peer(k, "sklearn_svm"))} | {difference * 100:+0.00;-0.00} pt | {Cell(k => Peer(k, "sklearn_lr"))} | {Cell(k => ours[k].Hashed)} | {Cell(k => Peer(k, "fasttext_cli"))} | {Mean(k => ours[k].SvmSeconds):F2} / {Mean(k => PeerSeconds(k, "sklearn_svm")):F2} / {Mean(k => ours[k].HashedSeconds):F2} / {Mean(k => PeerSeconds(k, "fasttext_cli")):F2} |"));
            }
            Console.WriteLine(report.ToString());
            Console.WriteLine("written to " + context.Write("Baselines.md", report.ToString()));
            if (!close)
            {
                Console.Error.WriteLine("Baselines: the engine's SVM is more than 0.5 points from scikit-learn's at some size.");
            }
            return close ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    // label<TAB>t<id> t<id> …: the engine's tokens as words no library will split or lower-case.
    private static void WriteTsv(string path, TextDataset corpus, IReadOnlyList<int> documents)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (int d in documents)
        {
            writer.Write(corpus.ClassNames[corpus.Corpus.Label(d)]);
            writer.Write('\t');
            writer.WriteLine(string.Join(' ', corpus.Document(d).Select(id => "t" + id.ToString(CultureInfo.InvariantCulture))));
        }
    }
}
