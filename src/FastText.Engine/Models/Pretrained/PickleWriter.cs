using System.Buffers.Binary;
using System.Text;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Writes the protocol-2 pickles PyTorch and fastai read: a list of strings (the vocabulary) and an
/// <c>OrderedDict</c> of tensors given as persistent storage references (the <c>data.pkl</c> of a
/// <c>torch.save</c> archive). Only globals on PyTorch's weights-only allow-list are emitted
/// (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>, <c>torch.*Storage</c>), so
/// <c>torch.load(path, weights_only=True)</c> accepts the result.
/// </summary>
internal sealed class PickleWriter(Stream stream)
{
    private readonly byte[] scratch = new byte[9];

    public void WriteStringList(IReadOnlyList<string> items)
    {
        Protocol2();
        Opcode(']'); // EMPTY_LIST
        const int batch = 1000; // CPython's batch size for APPENDS
        for (int start = 0; start < items.Count; start += batch)
        {
            Opcode('(');
            for (int i = start; i < Math.Min(items.Count, start + batch); i++)
            {
                String(items[i]);
            }
            Opcode('e'); // APPENDS
        }
        Opcode('.');
    }

    /// <summary>Writes <c>OrderedDict([(key, tensor), …])</c>; each tensor names its storage by key.</summary>
    public void WriteStateDictionary(IReadOnlyList<(string Key, PickleTensor Tensor)> entries)
    {
        Protocol2();
        OrderedDictionary();
        const int batch = 1000;
        for (int start = 0; start < entries.Count; start += batch)
        {
            Opcode('(');
            for (int i = start; i < Math.Min(entries.Count, start + batch); i++)
            {
                String(entries[i].Key);
                Tensor(entries[i].Tensor);
            }
            Opcode('u'); // SETITEMS
        }
        Opcode('.');
    }

    private void Tensor(PickleTensor tensor)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Opcode('(');
        // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
        Opcode('(');
        String("storage");
        Global("torch", tensor.Storage.DataType.StorageClass);
        String(tensor.Storage.Key);
        String("cpu");
        Integer(tensor.Storage.ElementCount);
        Opcode('t');
        Opcode('Q'); // BINPERSID
        Integer(tensor.StorageOffset);
        Tuple(tensor.Shape);
        Tuple(tensor.Strides);
        Opcode(0x89); // requires_grad = False (state dicts hold detached tensors)
        OrderedDictionary(); // backward_hooks
        Opcode('t');
        Opcode('R');
    }

    private void Protocol2()
    {
        Opcode(0x80);
        stream.WriteByte(2);
    }

    private void OrderedDictionary()
    {
        Global("collections", "OrderedDict");
        Opcode(')');
        Opcode('R');
    }

    private void Tuple(long[] values)
    {
        Opcode('(');
        foreach (long value in values)
        {
            Integer(value);
        }
        Opcode('t');
    }

    private void Global(string module, string name)
    {
        Opcode('c');
        stream.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
    }

    private void Integer(long value)
    {
        if (value is >= 0 and <= byte.MaxValue)
        {
            Opcode('K');
            stream.WriteByte((byte)value);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            Opcode('J');
            BinaryPrimitives.WriteInt32LittleEndian(scratch, (int)value);
            stream.Write(scratch, 0, 4);
        }
        else
        {
            Opcode(0x8a); // LONG1, 8 bytes two's complement
            stream.WriteByte(8);
            BinaryPrimitives.WriteInt64LittleEndian(scratch, value);
            stream.Write(scratch, 0, 8);
        }
    }

    private void String(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        Opcode('X'); // BINUNICODE
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, (uint)bytes.Length);
        stream.Write(scratch, 0, 4);
        stream.Write(bytes);
    }

    private void Opcode(char opcode) => stream.WriteByte((byte)opcode);

    private void Opcode(byte opcode) => stream.WriteByte(opcode);
}
