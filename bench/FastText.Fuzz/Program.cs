using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FastText.Engine.Models;
using FastText.Engine.Models.Pretrained;
using FastText.Engine.Native;
using FastText.Engine.Text;
using SharpFuzz;
using TorchSharp;

namespace FastText.Fuzz;

/// <summary>
/// AFL++ fuzz targets (SharpFuzz), one per command-line argument; each reads one input from standard input. An
/// exception that escapes a target is a crash; the refusals a reader documents (a bad file named in an
/// <see cref="InvalidDataException"/> or <see cref="PretrainedWeightsException"/>) are caught. Run through
/// scripts/fuzz.sh, which instruments FastText.Engine.dll first. Without afl-fuzz, a target runs its input once, so
/// <c>FastText.Fuzz TARGET &lt; crash-file</c> reproduces a crash with its stack trace.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: FastText.Fuzz tokenizer|weights|pickle|sentencepiece  (input on stdin)\n" +
                                 "       FastText.Fuzz seed weights|pickle OUTPUT_FOLDER  (writes small valid seed files)";

    private static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == "seed")
        {
            // Instrumented code writes its edge counts to SharpFuzz's trace map, which only Fuzzer.Run sets up; the
            // seed writer runs the engine without it, so it gets a map of its own (else: an access violation).
            unsafe
            {
                SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
            }
            return Seeds.Write(args[1], args[2]);
        }
        if (args.Length != 1)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        Action<Stream>? target = args[0] switch
        {
            "tokenizer" => Targets.Tokenizer,
            "weights" => Targets.Weights,
            "pickle" => Targets.Pickle,
            "sentencepiece" => Targets.SentencePiece,
            _ => null,
        };
        if (target is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (args[0] is "weights" or "pickle")
        {
            // libtorch is loaded in the first run, not here: instrumented engine code (TorchRuntime) may only run once
            // Fuzzer.Run has mapped the trace memory; before that it is an access violation. One intra-op thread (the
            // readers call Initialize() again without a count: the variable keeps it at 1).
            Environment.SetEnvironmentVariable(TorchRuntime.ThreadsVariable, "1");
            Action<Stream> reader = target;
            target = input =>
            {
                TorchRuntime.Initialize(1);
                reader(input);
            };
        }
        Fuzzer.OutOfProcess.Run(target);
        return 0;
    }
}

internal static class Targets
{
    // One scratch file per process for the readers that take a path (tmpfs if TMPDIR points at one).
    private static readonly string Scratch = Path.Combine(Path.GetTempPath(), $"fasttext-fuzz-{Environment.ProcessId}.bin");

    // The fastai tokenizer on raw bytes (invalid UTF-8, NUL, BOM) and on the decoded string: nothing may throw.
    public static void Tokenizer(Stream input)
    {
        byte[] bytes = ReadAll(input);
        var tokenizer = new FastaiTokenizer();
        var sink = new CountingSink();
        tokenizer.TokenizeUtf8(bytes, ref sink);
        IReadOnlyList<string> tokens = tokenizer.Tokenize(Encoding.UTF8.GetString(bytes));
        if (tokens.Count == 0 || sink.Count == 0)
        {
            throw new InvalidOperationException("The tokenizer returned no tokens (xxbos is always first).");
        }
    }

    // The engine's weights file. The SHA-256 is checked before anything is parsed, and a fuzzer cannot forge it, so
    // the input is the body after magic and version: the harness adds those and the digest, so every input reaches
    // the parser (header, tensor table, extra payload); the digest check itself has its own unit tests.
    public static void Weights(Stream input)
    {
        byte[] body = ReadAll(input);
        using (var file = File.Create(Scratch))
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Span<byte> head = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(head, 0x57545846);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(head[4..], 2);
            file.Write(head);
            file.Write(body);
            hash.AppendData(head);
            hash.AppendData(body);
            file.Write(hash.GetHashAndReset());
        }
        try
        {
            var (_, tensors) = TensorArchive.Read<JsonObject>(Scratch);
            foreach (torch.Tensor tensor in tensors.Values)
            {
                tensor.Dispose();
            }
        }
        catch (InvalidDataException)
        {
            // The documented refusal of a bad file.
        }
    }

    // fastai/PyTorch checkpoints (zip or legacy pickle) and fastai's vocabulary pickle, on the same bytes.
    public static void Pickle(Stream input)
    {
        WriteScratch(input);
        try
        {
            using PyTorchStateDictionary state = PyTorchCheckpointFile.Read(Scratch);
        }
        catch (PretrainedWeightsException)
        {
        }
        try
        {
            _ = FastAiVocabularyFile.Read(Scratch);
        }
        catch (PretrainedWeightsException)
        {
        }
    }

    // A SentencePiece model (protobuf), then a short text through it.
    public static void SentencePiece(Stream input)
    {
        byte[] bytes = ReadAll(input);
        SubwordTokenizer tokenizer;
        try
        {
            tokenizer = SubwordTokenizer.FromSentencePiece(new MemoryStream(bytes, writable: false));
        }
        catch (InvalidDataException)
        {
            return;
        }
        IReadOnlyList<int> ids = tokenizer.EncodeToIds("Hello world, xxmaj it's 2024!");
        _ = tokenizer.Decode(ids);
    }

    private static void WriteScratch(Stream input)
    {
        using var file = File.Create(Scratch);
        input.CopyTo(file);
    }

    private static byte[] ReadAll(Stream input)
    {
        using var copy = new MemoryStream();
        input.CopyTo(copy);
        return copy.ToArray();
    }

    private struct CountingSink : ITokenSink
    {
        public int Count;

        public void Add(ReadOnlySpan<char> token)
        {
            if (token.IsEmpty)
            {
                throw new InvalidOperationException("The tokenizer produced an empty token.");
            }
            Count++;
        }
    }
}

// Small valid inputs to start from (AFL works best from seeds of a few hundred bytes).
internal static class Seeds
{
    public static int Write(string target, string folder)
    {
        Directory.CreateDirectory(folder);
        Environment.SetEnvironmentVariable(TorchRuntime.ThreadsVariable, "1");
        TorchRuntime.Initialize(1);
        switch (target)
        {
            case "weights":
                WriteWeights(Path.Combine(folder, "tiny.ftw"), withTensors: true);
                WriteWeights(Path.Combine(folder, "empty.ftw"), withTensors: false);
                return 0;
            case "pickle":
                using (var a = torch.arange(6, dtype: torch.float32).reshape(2, 3))
                using (var b = torch.tensor(new long[] { 7, 8 }))
                {
                    PyTorchCheckpointFile.Write(Path.Combine(folder, "tiny.pth"),
                        [new("encoder.weight", a), new("decoder.bias", a), new("counts", b)]);
                }
                FastAiVocabularyFile.Write(Path.Combine(folder, "tiny_vocab.pkl"), ["xxunk", "xxpad", "the", "é", ""]);
                return 0;
            default:
                Console.Error.WriteLine($"no seeds to write for '{target}'");
                return 2;
        }
    }

    // A TensorArchive file minus magic, version and digest: the body the weights target takes (it adds them back).
    private static void WriteWeights(string path, bool withTensors)
    {
        string full = path + ".full";
        var header = new JsonObject { ["kind"] = "fuzz-seed", ["vocab"] = 3 };
        using var w = torch.ones(2, 2, dtype: torch.float32);
        using var ids = torch.tensor(new int[] { 1, 2, 3 });
        KeyValuePair<string, torch.Tensor>[] tensors = withTensors ? [new("w", w), new("ids", ids)] : [];
        TensorArchive.Write(full, header, tensors);
        byte[] bytes = File.ReadAllBytes(full);
        File.WriteAllBytes(path, bytes[8..^SHA256.HashSizeInBytes]);
        File.Delete(full);
    }
}
