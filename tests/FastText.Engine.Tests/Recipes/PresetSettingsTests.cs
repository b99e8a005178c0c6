using FastText.Cli;
using FastText.Engine.Models;
using FastText.Engine.Recipes;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Recipes;

public sealed class PresetSettingsTests
{
    [Fact]
    public void Fastais_sizes_and_batch_shape_come_from_the_command_line_alone()
    {
        var recorder = new FastText.Engine.Tests.Cli.CommandLineTests.Recorder();
        FastTextCommandLine.Build(recorder).Parse(["pretrain", "-c", "brown", "-o", "lm", "--preset", "small",
            "--emb", "400", "--hidden", "1152", "--layers", "3", "--bs", "64", "--bptt", "70", "--drop-mult", "1.0"]).Invoke();
        var request = Assert.IsType<LanguageModelRequest>(recorder.Last);

        UlmfitPreset preset = request.Overrides.Apply(UlmfitPreset.Named(request.Preset));

        Assert.Equal((400, 1152, 3), (preset.Model.EmbeddingSize, preset.Model.HiddenSize, preset.Model.Layers));
        Assert.Equal((64, 70), (preset.LanguageModelBatchSize, preset.LanguageModelSequenceLength));
        Assert.Equal(AwdLstmConfig.LanguageModel with { EmbeddingSize = 400, HiddenSize = 1152, Layers = 3 }, preset.LanguageModel);
        Assert.Equal(UlmfitPreset.Small.PretrainEpochs, preset.PretrainEpochs);      // the rest stays the preset's
    }

    [Fact]
    public void Every_setting_is_an_option_of_every_command_that_trains_or_tokenizes()
    {
        var root = FastTextCommandLine.Build(new FastText.Engine.Tests.Cli.CommandLineTests.Recorder());
        foreach (string command in new[] { "tokenize", "pretrain", "fine-tune", "train-classifier", "sample-efficiency", "demo" })
        {
            var options = root.Subcommands.Single(c => c.Name == command).Options.Select(o => o.Name).ToHashSet();
            Assert.Contains("--config", options);
            // tokenize trains nothing, so it has no --precision.
            Assert.All(PresetSettings.All.Where(s => command != "tokenize" || s.Name != "precision"), s => Assert.Contains("--" + s.Name, options));
        }
    }

    [Fact]
    public void A_config_file_sets_the_same_names_and_the_command_line_overrides_it()
    {
        using var folder = new TemporaryFolder();
        string path = folder.Write("run.json", """
            // fastai's AWD-LSTM at bs 64
            { "preset": "large", "bs": 64, "bptt": "70", "drop-mult": 0.5, "precision": "bf16", }
            """);
        var overrides = new PresetOverrides(path, [KeyValuePair.Create("bs", "32")]);

        UlmfitPreset preset = overrides.Apply(UlmfitPreset.Tiny);

        Assert.Equal("large", preset.Name);
        Assert.Equal(UlmfitPreset.Large.Model, preset.Model);
        Assert.Equal((32, 70, 0.5), (preset.LanguageModelBatchSize, preset.LanguageModelSequenceLength, preset.LanguageModelDropMultiplier));
        Assert.Equal(ComputePrecision.BFloat16, preset.Precision);
    }

    [Theory]
    [InlineData("hidden", "0", "--hidden: 0 is below the smallest allowed value, 1.")]
    [InlineData("emb", "4OO", "--emb: '4OO' is not a whole number.")]
    [InlineData("drop-mult", "-1", "--drop-mult: -1 is negative; it must be 0 or more.")]
    [InlineData("clip", "-0.25", "--clip: -0.25 is negative; it must be 0 or more.")]
    [InlineData("pretrain-lr", "0", "--pretrain-lr: 0 is zero; it must be above 0.")]
    [InlineData("finetune-lr", "NaN", "--finetune-lr: 'NaN' is not a finite number.")]
    [InlineData("precision", "fp16", "--precision: 'fp16' is not fp32, bf16 or bf16-decoder.")]
    [InlineData("clas-epochs", "1,2", "--clas-epochs: '1,2' gives 2 epoch counts; the preset's classifier has 4 phases.")]
    [InlineData("clas-epochs", "1,0,1,1", "--clas-epochs: '0' (phase 2) is not a whole number of at least 1.")]
    [InlineData("clas-lrs", "1e-2,1e-2,1e-2", "--clas-lrs: '1e-2,1e-2,1e-2' gives 3 learning rates; the preset's classifier has 4 phases.")]
    [InlineData("clas-lrs", "1e-2,0,1e-2,1e-2", "--clas-lrs: '0' (phase 2) is not a finite number above 0.")]
    [InlineData("clas-lrs", "1e-2,1e-2,1e-2,inf", "--clas-lrs: 'inf' (phase 4) is not a finite number above 0.")]
    [InlineData("clas-lr-factor", "0.5", "--clas-lr-factor: 0.5 is below 1; it must be 1 or more (below 1 the lower layers would move faster than the head).")]
    [InlineData("clas-lr-factor", "inf", "--clas-lr-factor: 'inf' is not a finite number.")]
    public void An_impossible_value_names_its_option(string name, string value, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new PresetOverrides(null, [KeyValuePair.Create(name, value)]).Apply(UlmfitPreset.Small));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_classifier_phases_epochs_rates_and_rate_factor_are_settings()
    {
        UlmfitPreset preset = new PresetOverrides(null, [KeyValuePair.Create("clas-epochs", "1,1,1,6"), KeyValuePair.Create("clas-lrs", "2e-2, 1e-2,5e-3,2.5e-3"),
            KeyValuePair.Create("clas-lr-factor", "1")]).Apply(UlmfitPreset.Small);

        Assert.Equal([(-1, 1, 2e-2), (-2, 1, 1e-2), (-3, 1, 5e-3), (0, 6, 2.5e-3)], preset.ClassifierStages);
        Assert.Equal(1, preset.ClassifierDiscriminativeFactor);
        Assert.Equal(2.6, UlmfitPreset.Small.ClassifierDiscriminativeFactor);
        Assert.Equal("clas-epochs 1,1,1,6, clas-lrs 0.02,0.01,0.005,0.0025, clas-lr-factor 1", PresetSettings.Differences(preset));
    }

    [Fact]
    public void A_dropout_multiplier_that_takes_a_probability_to_one_is_refused_naming_it()
    {
        // fastai's largest LM dropout is input_p 0.25: × 4 makes it 1.
        var e = Assert.Throws<ArgumentException>(() => new PresetOverrides(null, [KeyValuePair.Create("drop-mult", "4")]).Apply(UlmfitPreset.Small));
        Assert.StartsWith("--drop-mult 4: takes a dropout probability to 1", e.Message, StringComparison.Ordinal);
        // the classifier's weight_p 0.5: × 2.
        e = Assert.Throws<ArgumentException>(() => new PresetOverrides(null, [KeyValuePair.Create("clas-drop-mult", "2")]).Apply(UlmfitPreset.Small));
        Assert.StartsWith("--clas-drop-mult 2:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_config_file_is_named_with_the_key_or_line()
    {
        using var folder = new TemporaryFolder();
        string unknown = folder.Write("unknown.json", """{ "embedding": 400 }""");
        var e = Assert.Throws<ArgumentException>(() => PresetSettings.Load(unknown, UlmfitPreset.Small));
        Assert.StartsWith($"{unknown}: embedding: unknown setting 'embedding' (known: preset, emb, hidden,", e.Message, StringComparison.Ordinal);

        string broken = folder.Write("broken.json", "{\n  \"emb\": 400\n  \"hidden\": 1152\n}");
        e = Assert.Throws<ArgumentException>(() => PresetSettings.Load(broken, UlmfitPreset.Small));
        Assert.StartsWith($"{broken}: not valid JSON (line 3,", e.Message, StringComparison.Ordinal);

        string array = folder.Write("array.json", "[1, 2]");
        e = Assert.Throws<ArgumentException>(() => PresetSettings.Load(array, UlmfitPreset.Small));
        Assert.Contains("must be one JSON object", e.Message, StringComparison.Ordinal);

        string preset = folder.Write("preset.json", """{ "preset": "huge" }""");
        e = Assert.Throws<ArgumentException>(() => PresetSettings.Load(preset, UlmfitPreset.Small));
        Assert.StartsWith($"{preset}: preset: Unknown preset 'huge' (small, large, tiny)", e.Message, StringComparison.Ordinal);

        Assert.Throws<FileNotFoundException>(() => PresetSettings.Load(Path.Combine(folder.Path, "missing.json"), UlmfitPreset.Small));
    }

    [Fact]
    public void A_typed_preset_and_a_config_file_that_names_another_are_refused_and_epochs_and_rates_are_checked()
    {
        using var folder = new TemporaryFolder();
        string path = folder.Write("run.json", """{ "preset": "large" }""");
        var recorder = new FastText.Engine.Tests.Cli.CommandLineTests.Recorder();
        FastTextCommandLine.Build(recorder).Parse(["pretrain", "-c", "c", "-o", "o", "--preset", "tiny", "--config", path]).Invoke();
        var typed = Assert.IsType<LanguageModelRequest>(recorder.Last);
        var e = Assert.Throws<ArgumentException>(() => typed.Overrides.Apply(UlmfitPreset.Named(typed.Preset)));
        Assert.Contains("the file names 'large' but --preset says 'tiny'", e.Message, StringComparison.Ordinal);

        FastTextCommandLine.Build(recorder).Parse(["pretrain", "-c", "c", "-o", "o", "--config", path]).Invoke();   // --preset left at its default
        var untyped = Assert.IsType<LanguageModelRequest>(recorder.Last);
        Assert.Equal("large", untyped.Overrides.Apply(UlmfitPreset.Named(untyped.Preset)).Name);

        e = Assert.Throws<ArgumentException>(() => new PresetOverrides(null, [KeyValuePair.Create("finetune-frozen-epochs", "0")]).Apply(UlmfitPreset.Small));
        Assert.Equal("--finetune-frozen-epochs: 0 is below the smallest allowed value, 1.", e.Message);
    }

    [Fact]
    public async Task Epochs_and_rates_of_the_training_commands_are_checked_before_anything_runs()
    {
        TorchTestSetup.Use();
        using var folder = new TemporaryFolder();
        var handlers = new PipelineCommandHandlers(FastText.Engine.IO.NullProgress.Instance);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => handlers.PretrainAsync(
            new LanguageModelRequest(folder.Combine("no-corpus"), null, folder.Combine("lm"), "tiny", 0, null, 1), CancellationToken.None));
        Assert.Equal("--epochs: 0 is below the smallest allowed value, 1.", e.Message);
        e = await Assert.ThrowsAsync<ArgumentException>(() => handlers.PretrainAsync(
            new LanguageModelRequest(folder.Combine("no-corpus"), null, folder.Combine("lm"), "tiny", null, double.NaN, 1), CancellationToken.None));
        Assert.Equal("--lr: 'NaN' is not a finite number.", e.Message);
    }

    [Fact]
    public void The_run_report_names_every_setting_that_differs_from_the_preset()
    {
        UlmfitPreset changed = new PresetOverrides(null, [KeyValuePair.Create("bs", "64"), KeyValuePair.Create("drop-mult", "1"), KeyValuePair.Create("precision", "bf16")])
            .Apply(UlmfitPreset.Small);
        Assert.Equal("drop-mult 1, bs 64, precision bf16", PresetSettings.Differences(changed));
        Assert.Equal("", PresetSettings.Differences(UlmfitPreset.Small));

        TorchTestSetup.Use();
        using var folder = new TemporaryFolder();
        var run = new UlmfitPipeline(folder.Path, changed);
        Assert.Contains("| settings changed from the preset | drop-mult 1, bs 64, precision bf16 |", run.Report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_setting_the_command_does_not_use_is_noted()
    {
        TorchTestSetup.Use();
        using var folder = new TemporaryFolder();
        var lines = new Lines();
        var handlers = new PipelineCommandHandlers(lines);
        var overrides = new PresetOverrides(null, [KeyValuePair.Create("hidden", "64"), KeyValuePair.Create("min-freq", "1"), KeyValuePair.Create("seed", "7")]);
        await Assert.ThrowsAnyAsync<Exception>(() => handlers.TokenizeAsync(
            new TokenizeRequest([folder.Combine("missing")], "lines", folder.Combine("out"), null, "tiny", 1) { Overrides = overrides }, CancellationToken.None));
        Assert.Equal(["note: --hidden has no effect on tokenize, which trains no model."], lines.Logged);

        lines.Logged.Clear();
        await Assert.ThrowsAnyAsync<Exception>(() => handlers.PretrainAsync(
            new LanguageModelRequest(folder.Combine("missing"), null, folder.Combine("lm"), "tiny", null, null, 1) { Overrides = overrides }, CancellationToken.None));
        Assert.Equal(["note: --min-freq has no effect on pretrain: it shapes the corpus, which tokenize (or demo) builds."], lines.Logged);
    }

    [Fact]
    public async Task A_token_cap_asked_for_an_unlabelled_corpus_applies_and_the_preset_cap_does_not()
    {
        using var folder = new TemporaryFolder();
        string input = folder.Combine("text.txt");
        File.WriteAllLines(input, ["one two three four five six seven", "eight nine ten eleven twelve"]);
        var lines = new Lines();
        var overrides = new PresetOverrides(null, [KeyValuePair.Create("max-tokens", "3")]);
        await new PipelineCommandHandlers(lines).TokenizeAsync(
            new TokenizeRequest([input], "lines", folder.Combine("lm"), null, "tiny", 1) { Overrides = overrides, NoLabels = true }, CancellationToken.None);

        Assert.Contains("--max-tokens 3: this unlabelled corpus keeps at most that many tokens per document (a language model's corpus is whole unless asked).", lines.Logged);
        using (TextDataset capped = TextDataset.Load(folder.Combine("lm")))
        {
            Assert.Equal(3, capped.MaxTokens);
            Assert.Equal(3, Enumerable.Range(0, capped.DocumentCount).Max(capped.Corpus.DocumentLength));
        }

        // Without the option the tiny preset's own cap (120) is a classifier's and does not cut a language model's text.
        await new PipelineCommandHandlers(lines).TokenizeAsync(
            new TokenizeRequest([input], "lines", folder.Combine("whole"), null, "tiny", 1) { NoLabels = true }, CancellationToken.None);
        using TextDataset whole = TextDataset.Load(folder.Combine("whole"));
        Assert.Equal(0, whole.MaxTokens);
        Assert.True(Enumerable.Range(0, whole.DocumentCount).Max(whole.Corpus.DocumentLength) > 3);
    }

    private sealed class Lines : FastText.Engine.IO.IProgressSink
    {
        public List<string> Logged { get; } = [];

        public FastText.Engine.IO.IProgressTask Start(string description, long total, string unit) => FastText.Engine.IO.NullProgress.Instance;

        public void Log(string line) => Logged.Add(line);
    }

    [Fact]
    public void The_preset_names_and_precision_names_have_one_home()
    {
        var root = FastTextCommandLine.Build(new FastText.Engine.Tests.Cli.CommandLineTests.Recorder());
        Assert.Empty(root.Parse(["pretrain", "-c", "c", "-o", "o", "--preset", "tiny"]).Errors);
        Assert.NotEmpty(root.Parse(["pretrain", "-c", "c", "-o", "o", "--preset", "huge"]).Errors);
        Assert.All(UlmfitPreset.All, p => Assert.Same(p, UlmfitPreset.Named(p.Name.ToUpperInvariant())));
        Assert.All(Enum.GetValues<ComputePrecision>(), p => Assert.Equal(p, ComputePrecisions.Parse(p.Name(), "test")));
    }
}
