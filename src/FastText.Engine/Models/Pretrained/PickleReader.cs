using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// A data-only unpickler (protocols 0–5, the opcodes CPython's pickler and <c>torch.save</c> emit). It builds plain
/// values — <see cref="long"/>, <see cref="BigInteger"/>, <see cref="double"/>, <see cref="string"/>, byte arrays,
/// <see cref="List{T}"/> (Python list), <c>object?[]</c> (tuple), <see cref="PickleDictionary"/>, and
/// <see cref="PickleTensor"/> for <c>torch._utils._rebuild_tensor_v2</c> — and never runs or loads code named by the
/// file: any other global becomes an inert <see cref="PickleObject"/>. That makes reading an untrusted checkpoint
/// safe, unlike Python's <c>pickle.load</c>.
/// </summary>
internal sealed class PickleReader
{
    private readonly Stream stream;
    private readonly string path;
    private readonly Func<object?, object?>? persistentLoad;
    private readonly List<object?> stack = [];
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object?> memo = [];
    private readonly byte[] scratch = new byte[8];

    /// <param name="stream">Positioned at the first opcode; left just after <c>STOP</c>.</param>
    /// <param name="path">The file name used in error messages.</param>
    /// <param name="persistentLoad">Resolves <c>BINPERSID</c> ids (PyTorch's storages); null rejects them.</param>
    public PickleReader(Stream stream, string path, Func<object?, object?>? persistentLoad = null)
    {
        this.stream = stream;
        this.path = path;
        this.persistentLoad = persistentLoad;
    }

    /// <summary>Reads one pickle up to and including its <c>STOP</c> opcode.</summary>
    public object? Load()
    {
        stack.Clear();
        marks.Clear();
        memo.Clear();
        while (true)
        {
            long position = stream.CanSeek ? stream.Position : -1;
            int opcode = stream.ReadByte();
            if (opcode < 0)
            {
                throw Error("the pickle ends before its STOP opcode (truncated or not a pickle)");
            }
            try
            {
                if (Execute((byte)opcode))
                {
                    return Pop();
                }
            }
            catch (PretrainedWeightsException)
            {
                throw;
            }
            catch (Exception exception) when (exception is InvalidCastException or ArgumentOutOfRangeException
                or InvalidOperationException or EndOfStreamException or KeyNotFoundException or FormatException
                or DecoderFallbackException or OverflowException)
            {
                throw new PretrainedWeightsException(path, null,
                    $"malformed pickle at byte {position} (opcode 0x{opcode:x2}): {exception.Message}", exception);
            }
        }
    }

    /// <summary>Executes one opcode; true at <c>STOP</c>.</summary>
    private bool Execute(byte opcode)
    {
        switch (opcode)
        {
            case 0x80: // PROTO
                int protocol = ReadByte();
                if (protocol > 5)
                {
                    throw Error($"pickle protocol {protocol} is newer than the supported 0–5");
                }
                break;
            case 0x95: // FRAME: a length prefix only; frames need no special handling when reading sequentially
                ReadBytes(8);
                break;
            case (byte)'.': // STOP
                return true;

            case (byte)'(': marks.Push(stack.Count); break; // MARK
            case (byte)'0': Pop(); break; // POP
            case (byte)'1': PopMark(); break; // POP_MARK
            case (byte)'2': stack.Add(stack[^1]); break; // DUP

            case (byte)'N': stack.Add(null); break; // NONE
            case 0x88: stack.Add(true); break; // NEWTRUE
            case 0x89: stack.Add(false); break; // NEWFALSE
            case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
            case (byte)'K': stack.Add((long)ReadByte()); break; // BININT1
            case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
            case 0x8a: stack.Add(ReadLong(ReadByte())); break; // LONG1
            case 0x8b: stack.Add(ReadLong(ReadLength(4))); break; // LONG4
            case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
            case (byte)'I': stack.Add(ParseTextInteger(ReadLine())); break; // INT (protocol 0; I01/I00 are bools)
            case (byte)'L': stack.Add(ParseBigInteger(ReadLine().TrimEnd('L'))); break; // LONG (protocol 0)
            case (byte)'F': stack.Add(double.Parse(ReadLine(), CultureInfo.InvariantCulture)); break; // FLOAT

            case (byte)'X': stack.Add(ReadUtf8(ReadLength(4))); break; // BINUNICODE
            case 0x8c: stack.Add(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
            case 0x8d: stack.Add(ReadUtf8(ReadLength(8))); break; // BINUNICODE8
            case (byte)'V': stack.Add(RawUnicodeUnescape(ReadLine())); break; // UNICODE (protocol 0)
            // Python 2 str: bytes that Python 3 decodes as latin-1 by default.
            case (byte)'T': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadLength(4)))); break; // BINSTRING
            case (byte)'U': stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
            case (byte)'S': stack.Add(ParseQuotedString(ReadLine())); break; // STRING
            case (byte)'B': stack.Add(ReadBytes(ReadLength(4)).ToArray()); break; // BINBYTES
            case (byte)'C': stack.Add(ReadBytes(ReadByte()).ToArray()); break; // SHORT_BINBYTES
            case 0x8e: stack.Add(ReadBytes(ReadLength(8)).ToArray()); break; // BINBYTES8
            case 0x96: stack.Add(ReadBytes(ReadLength(8)).ToArray()); break; // BYTEARRAY8

            case (byte)')': stack.Add(Array.Empty<object?>()); break; // EMPTY_TUPLE
            case 0x85: stack.Add(new[] { Pop() }); break; // TUPLE1
            case 0x86: // TUPLE2
            {
                object? second = Pop();
                stack.Add(new[] { Pop(), second });
                break;
            }
            case 0x87: // TUPLE3
            {
                object? third = Pop();
                object? second = Pop();
                stack.Add(new[] { Pop(), second, third });
                break;
            }
            case (byte)'t': stack.Add(PopMark().ToArray()); break; // TUPLE
            case (byte)']': stack.Add(new List<object?>()); break; // EMPTY_LIST
            case (byte)'l': stack.Add(PopMark()); break; // LIST
            case (byte)'a': // APPEND
            {
                object? item = Pop();
                As<List<object?>>(stack[^1], "APPEND target").Add(item);
                break;
            }
            case (byte)'e': // APPENDS
            {
                var items = PopMark();
                As<List<object?>>(stack[^1], "APPENDS target").AddRange(items);
                break;
            }
            case (byte)'}': stack.Add(new PickleDictionary()); break; // EMPTY_DICT
            case (byte)'d': // DICT
            {
                var items = PopMark();
                var dictionary = new PickleDictionary();
                for (int i = 0; i + 1 < items.Count; i += 2)
                {
                    dictionary.Set(items[i], items[i + 1]);
                }
                stack.Add(dictionary);
                break;
            }
            case (byte)'s': // SETITEM
            {
                object? value = Pop();
                object? key = Pop();
                As<PickleDictionary>(stack[^1], "SETITEM target").Set(key, value);
                break;
            }
            case (byte)'u': // SETITEMS
            {
                var items = PopMark();
                var dictionary = As<PickleDictionary>(stack[^1], "SETITEMS target");
                for (int i = 0; i + 1 < items.Count; i += 2)
                {
                    dictionary.Set(items[i], items[i + 1]);
                }
                break;
            }
            case 0x8f: stack.Add(new List<object?>()); break; // EMPTY_SET (kept as a list of members)
            case 0x90: // ADDITEMS
            {
                var items = PopMark();
                As<List<object?>>(stack[^1], "ADDITEMS target").AddRange(items);
                break;
            }
            case 0x91: stack.Add(PopMark()); break; // FROZENSET

            case (byte)'p': memo[long.Parse(ReadLine(), CultureInfo.InvariantCulture)] = stack[^1]; break; // PUT
            case (byte)'q': memo[ReadByte()] = stack[^1]; break; // BINPUT
            case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = stack[^1]; break; // LONG_BINPUT
            case 0x94: memo[memo.Count] = stack[^1]; break; // MEMOIZE
            case (byte)'g': stack.Add(Memo(long.Parse(ReadLine(), CultureInfo.InvariantCulture))); break; // GET
            case (byte)'h': stack.Add(Memo(ReadByte())); break; // BINGET
            case (byte)'j': stack.Add(Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET

            case (byte)'c': stack.Add(new PickleGlobal(ReadLine(), ReadLine())); break; // GLOBAL
            case 0x93: // STACK_GLOBAL
            {
                string name = As<string>(Pop(), "STACK_GLOBAL name");
                stack.Add(new PickleGlobal(As<string>(Pop(), "STACK_GLOBAL module"), name));
                break;
            }
            case (byte)'R': // REDUCE
            {
                var arguments = As<object?[]>(Pop(), "REDUCE arguments");
                stack.Add(Construct(As<PickleGlobal>(Pop(), "REDUCE callable"), arguments));
                break;
            }
            case 0x81: // NEWOBJ
            {
                var arguments = As<object?[]>(Pop(), "NEWOBJ arguments");
                stack.Add(Construct(As<PickleGlobal>(Pop(), "NEWOBJ class"), arguments));
                break;
            }
            case 0x92: // NEWOBJ_EX
            {
                Pop(); // keyword arguments: none of the types we construct take any
                var arguments = As<object?[]>(Pop(), "NEWOBJ_EX arguments");
                stack.Add(Construct(As<PickleGlobal>(Pop(), "NEWOBJ_EX class"), arguments));
                break;
            }
            case (byte)'b': // BUILD
            {
                object? state = Pop();
                switch (stack[^1])
                {
                    case PickleDictionary dictionary: dictionary.Attributes = state; break;
                    case PickleObject instance: instance.State = state; break;
                    default: break; // state of a value we represent natively (e.g. a tensor's hooks): not needed
                }
                break;
            }
            case (byte)'Q': // BINPERSID
                stack.Add(PersistentLoad(Pop()));
                break;
            case (byte)'P': // PERSID
                stack.Add(PersistentLoad(ReadLine()));
                break;
            default:
                throw Error($"unsupported pickle opcode 0x{opcode:x2} ('{(char)opcode}') at byte " +
                    $"{(stream.CanSeek ? stream.Position - 1 : -1)}; only data pickles (PyTorch state dicts, " +
                    "vocabulary lists) are supported");
        }
        return false;
    }

    /// <summary>The few constructors the formats need; everything else stays inert data.</summary>
    private object? Construct(PickleGlobal callable, object?[] arguments)
    {
        switch (callable.FullName)
        {
            case "collections.OrderedDict":
            case "builtins.dict":
            case "__builtin__.dict":
                var dictionary = new PickleDictionary();
                if (arguments.Length > 0 && arguments[0] is List<object?> pairs)
                {
                    foreach (var pair in pairs)
                    {
                        var keyValue = As<object?[]>(pair, "OrderedDict item");
                        dictionary.Set(keyValue[0], keyValue[1]);
                    }
                }
                return dictionary;
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
                // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
                if (arguments.Length < 4)
                {
                    throw Error($"{callable.FullName} got {arguments.Length} arguments, expected at least 4");
                }
                return new PickleTensor(
                    As<PickleStorage>(arguments[0], "tensor storage"),
                    ToInt64(arguments[1]),
                    ToInt64Array(arguments[2]),
                    ToInt64Array(arguments[3]));
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return arguments.Length > 0 ? arguments[0] : throw Error($"{callable.FullName} without data");
            case "builtins.set":
            case "builtins.frozenset":
            case "builtins.list":
                return arguments.Length > 0 && arguments[0] is List<object?> members ? members : new List<object?>();
            default:
                return new PickleObject(callable, arguments);
        }
    }

    private object? PersistentLoad(object? id)
    {
        if (persistentLoad is null)
        {
            throw Error("the pickle references external data (a persistent id), which this file type does not allow");
        }
        return persistentLoad(id);
    }

    private object? Memo(long index) =>
        memo.TryGetValue(index, out object? value) ? value : throw Error($"memo entry {index} read before written");

    private object? Pop()
    {
        if (stack.Count == 0 || (marks.Count > 0 && stack.Count <= marks.Peek()))
        {
            throw Error("stack underflow");
        }
        object? value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private List<object?> PopMark()
    {
        if (marks.Count == 0)
        {
            throw Error("MARK expected");
        }
        int start = marks.Pop();
        var items = stack.GetRange(start, stack.Count - start);
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private T As<T>(object? value, string what) => value is T typed
        ? typed
        : throw Error($"{what}: expected {typeof(T).Name}, found {value?.GetType().Name ?? "None"} ({value})");

    internal static long ToInt64(object? value) => value switch
    {
        long number => number,
        BigInteger big => (long)big,
        bool flag => flag ? 1 : 0,
        _ => throw new InvalidCastException($"expected an integer, found {value?.GetType().Name ?? "None"}"),
    };

    internal static long[] ToInt64Array(object? value) => value switch
    {
        object?[] tuple => Array.ConvertAll(tuple, ToInt64),
        List<object?> list => list.ConvertAll(ToInt64).ToArray(),
        PickleObject { Type.FullName: "torch.Size", Arguments: [object?[] sizes] } => Array.ConvertAll(sizes, ToInt64),
        _ => throw new InvalidCastException($"expected a tuple of integers, found {value?.GetType().Name ?? "None"}"),
    };

    private int ReadByte()
    {
        int value = stream.ReadByte();
        return value >= 0 ? value : throw new EndOfStreamException("unexpected end of the pickle");
    }

    private int ReadLength(int width)
    {
        long length = width == 4
            ? BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))
            : BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8));
        if (length is < 0 or > int.MaxValue || (stream.CanSeek && length > stream.Length - stream.Position))
        {
            // Checked before allocating, so a corrupt length cannot request gigabytes.
            throw Error($"a {length}-byte string or bytes object runs past the end of the pickle");
        }
        return (int)length;
    }

    private ReadOnlySpan<byte> ReadBytes(int count)
    {
        byte[] buffer = count <= scratch.Length ? scratch : new byte[count];
        stream.ReadExactly(buffer, 0, count);
        return buffer.AsSpan(0, count);
    }

    private string ReadUtf8(int count) =>
        new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes(count));

    private string ReadLine()
    {
        var builder = new StringBuilder();
        while (true)
        {
            int value = ReadByte();
            if (value == '\n')
            {
                return builder.ToString();
            }
            builder.Append((char)value);
        }
    }

    private static object ReadLong(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= 8)
        {
            long value = 0;
            for (int i = bytes.Length - 1; i >= 0; i--)
            {
                value = (value << 8) | bytes[i];
            }
            if (bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0)
            {
                value -= 1L << (8 * bytes.Length); // two's complement sign of the shorter width
            }
            return value;
        }
        return Normalize(new BigInteger(bytes, isUnsigned: false, isBigEndian: false));
    }

    private object ReadLong(int count) => ReadLong(ReadBytes(count));

    private static object Normalize(BigInteger value) =>
        value >= long.MinValue && value <= long.MaxValue ? (long)value : value;

    private static object ParseTextInteger(string text) => text switch
    {
        "01" => true,
        "00" => false,
        _ => long.Parse(text, CultureInfo.InvariantCulture),
    };

    private static object ParseBigInteger(string text) => Normalize(BigInteger.Parse(text, CultureInfo.InvariantCulture));

    private static string ParseQuotedString(string text) =>
        text.Length >= 2 && (text[0] == '\'' || text[0] == '"') ? Unescape(text[1..^1]) : text;

    /// <summary>Python's raw-unicode-escape: latin-1 bytes (already one char each) plus <c>\uXXXX</c> and
    /// <c>\UXXXXXXXX</c>; a literal backslash is itself written as <c>\u005c</c>.</summary>
    private static string RawUnicodeUnescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int digits = text[i] == '\\' && i + 1 < text.Length ? text[i + 1] switch { 'u' => 4, 'U' => 8, _ => 0 } : 0;
            if (digits > 0 && i + 2 + digits <= text.Length &&
                int.TryParse(text.AsSpan(i + 2, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
            {
                builder.Append(char.ConvertFromUtf32(code));
                i += 1 + digits;
            }
            else
            {
                builder.Append(text[i]);
            }
        }
        return builder.ToString();
    }

    private static string Unescape(string text) => text.Contains('\\', StringComparison.Ordinal)
        ? System.Text.RegularExpressions.Regex.Unescape(text)
        : text;

    private PretrainedWeightsException Error(string message) => new(path, null, message);
}
