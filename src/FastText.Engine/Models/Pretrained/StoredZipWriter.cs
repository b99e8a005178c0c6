using System.Buffers.Binary;
using System.Text;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Writes an uncompressed ("stored") zip archive the way PyTorch's <c>PyTorchStreamWriter</c> does: every record's
/// data starts on a 64-byte boundary (padding in the local header's extra field), so PyTorch can memory-map
/// storages (<c>torch.load(mmap=True)</c>). Deterministic: fixed timestamps, records in call order.
/// </summary>
/// <remarks>No zip64: an archive over 4 GiB is refused (a 60k-token AWD-LSTM is about 180 MB).</remarks>
internal sealed class StoredZipWriter(Stream stream, string path)
{
    private const int Alignment = 64;
    private const ushort PaddingFieldId = 0x4246; // PyTorch's "FB" padding extra field
    private const ushort DosDate1980 = (0 << 9) | (1 << 5) | 1; // 1980-01-01: deterministic output
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> records = [];
    private readonly byte[] header = new byte[46];

    public void Add(string name, ReadOnlySpan<byte> data)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        long offset = stream.Position;
        if (offset + 30 + nameBytes.Length + 4 + Alignment + (long)data.Length > uint.MaxValue)
        {
            throw new PretrainedWeightsException(path, name,
                "the checkpoint would exceed 4 GiB, which needs zip64 (not supported by this writer)");
        }
        // Local header (30 bytes) + name + extra field (4-byte header + padding) → data aligned.
        long unpaddedDataStart = offset + 30 + nameBytes.Length + 4;
        int padding = (int)((Alignment - (unpaddedDataStart % Alignment)) % Alignment);
        uint crc = Crc32.Compute(data);

        var local = header.AsSpan(0, 30);
        BinaryPrimitives.WriteUInt32LittleEndian(local, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(local[4..], 20); // version needed: 2.0
        BinaryPrimitives.WriteUInt16LittleEndian(local[6..], 0); // flags
        BinaryPrimitives.WriteUInt16LittleEndian(local[8..], 0); // method: stored
        BinaryPrimitives.WriteUInt16LittleEndian(local[10..], 0); // time
        BinaryPrimitives.WriteUInt16LittleEndian(local[12..], DosDate1980);
        BinaryPrimitives.WriteUInt32LittleEndian(local[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(local[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(local[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(local[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(local[28..], (ushort)(4 + padding));
        stream.Write(local);
        stream.Write(nameBytes);
        Span<byte> extra = stackalloc byte[4 + Alignment];
        BinaryPrimitives.WriteUInt16LittleEndian(extra, PaddingFieldId);
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)padding);
        extra[4..].Fill((byte)'Z');
        stream.Write(extra[..(4 + padding)]);
        stream.Write(data);
        records.Add((nameBytes, crc, (uint)data.Length, (uint)offset));
    }

    /// <summary>Writes the central directory; the archive is complete afterwards.</summary>
    public void Finish()
    {
        long directoryStart = stream.Position;
        foreach (var (name, crc, size, offset) in records)
        {
            var central = header.AsSpan(0, 46);
            central.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(central, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(central[4..], 20); // version made by
            BinaryPrimitives.WriteUInt16LittleEndian(central[6..], 20); // version needed
            BinaryPrimitives.WriteUInt16LittleEndian(central[14..], DosDate1980);
            BinaryPrimitives.WriteUInt32LittleEndian(central[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(central[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(central[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(central[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(central[42..], offset);
            stream.Write(central);
            stream.Write(name);
        }
        long directoryEnd = stream.Position;
        if (directoryEnd > uint.MaxValue || records.Count > ushort.MaxValue)
        {
            throw new PretrainedWeightsException(path, null, "the checkpoint needs zip64, which this writer does not support");
        }
        var end = header.AsSpan(0, 22);
        end.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)records.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)records.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)(directoryEnd - directoryStart));
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)directoryStart);
        stream.Write(end);
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected, as zip uses), slicing-by-8: eight table lookups per 8 bytes instead
    /// of one per byte, because every weight byte of a checkpoint passes through it on read and on write.</summary>
    internal static class Crc32
    {
        private static readonly uint[] Tables = BuildTables();

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            uint crc = 0xFFFFFFFF;
            var tables = Tables.AsSpan();
            while (data.Length >= 8)
            {
                uint low = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
                uint high = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
                crc = tables[(7 * 256) + (int)(low & 0xFF)] ^ tables[(6 * 256) + (int)((low >> 8) & 0xFF)]
                    ^ tables[(5 * 256) + (int)((low >> 16) & 0xFF)] ^ tables[(4 * 256) + (int)(low >> 24)]
                    ^ tables[(3 * 256) + (int)(high & 0xFF)] ^ tables[(2 * 256) + (int)((high >> 8) & 0xFF)]
                    ^ tables[256 + (int)((high >> 16) & 0xFF)] ^ tables[(int)(high >> 24)];
                data = data[8..];
            }
            foreach (byte value in data)
            {
                crc = tables[(int)((crc ^ value) & 0xFF)] ^ (crc >> 8);
            }
            return ~crc;
        }

        private static uint[] BuildTables()
        {
            var tables = new uint[8 * 256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
                }
                tables[i] = c;
            }
            for (int t = 1; t < 8; t++)
            {
                for (int i = 0; i < 256; i++)
                {
                    uint previous = tables[((t - 1) * 256) + i];
                    tables[(t * 256) + i] = (previous >> 8) ^ tables[(int)(previous & 0xFF)];
                }
            }
            return tables;
        }
    }
}
