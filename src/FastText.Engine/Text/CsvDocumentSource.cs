using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Documents from a CSV file with a header row (fastai <c>TextDataLoaders.from_csv</c>/<c>from_df</c>): RFC 4180
/// quoting (quoted fields may hold commas, <c>""</c> and newlines), read through a <see cref="PipeReader"/> record by
/// record. Several text columns are joined with fastai's <c>xxfld 1 … xxfld 2 …</c> markers. An optional split
/// column (fastai's <c>is_valid</c>: true/false/1/0) puts rows in the validation split.
/// </summary>
public sealed class CsvDocumentSource : ITextDocumentSource
{
    private readonly string path;
    private readonly string[] textColumns;
    private readonly string? labelColumn;
    private readonly string? validationColumn;

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="textColumns">Names of the text columns (fastai <c>text_col</c>).</param>
    /// <param name="labelColumn">Name of the label column, or null.</param>
    /// <param name="validationColumn">Name of a boolean "is validation" column, or null.</param>
    public CsvDocumentSource(string path, IReadOnlyList<string> textColumns, string? labelColumn = "label", string? validationColumn = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(textColumns);
        if (textColumns.Count == 0)
        {
            throw new ArgumentException("At least one text column is needed.", nameof(textColumns));
        }
        this.path = Path.GetFullPath(path);
        this.textColumns = textColumns.ToArray();
        this.labelColumn = labelColumn;
        this.validationColumn = validationColumn;
    }

    /// <inheritdoc />
    public string Description => path;

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        FileStream? stream = problems.TryOpenSequential(path, 1);
        if (stream is null)
        {
            yield break;
        }
        int[]? textIndex = null;
        int labelIndex = -1;
        int validIndex = -1;
        long line = 0;
        var record = new List<byte>();
        bool inQuotes = false;
        long recordLine = 1;
        foreach (byte[] physical in PipeLines.Read(stream, (byte)'\n', problems, path, cancellationToken))
        {
            line++;
            if (record.Count == 0)
            {
                recordLine = line;
            }
            else
            {
                record.Add((byte)'\n');
            }
            record.AddRange(physical);
            foreach (byte b in physical)
            {
                if (b == '"')
                {
                    inQuotes = !inQuotes;
                }
            }
            if (inQuotes)
            {
                continue; // a quoted field goes on over the newline
            }
            byte[] bytes = record.ToArray();
            record.Clear();
            List<byte[]> fields = ParseRecord(bytes);
            if (textIndex is null)
            {
                string[] names = fields.Select(f => Encoding.UTF8.GetString(f).Trim().TrimStart('\uFEFF')).ToArray();
                textIndex = textColumns.Select(c => IndexOf(names, c)).ToArray();
                labelIndex = labelColumn is null ? -1 : IndexOf(names, labelColumn);
                validIndex = validationColumn is null ? -1 : IndexOf(names, validationColumn);
                continue;
            }
            if (fields.Count == 1 && fields[0].Length == 0)
            {
                continue; // blank line
            }
            int needed = Math.Max(textIndex.Max(), Math.Max(labelIndex, validIndex));
            if (fields.Count <= needed)
            {
                problems.Fail($"{path}:{recordLine}", $"row has {fields.Count} fields, the header has at least {needed + 1}; row skipped.");
                continue;
            }
            byte[] text = JoinTextFields(fields, textIndex);
            string? label = labelIndex < 0 ? null : Encoding.UTF8.GetString(fields[labelIndex]);
            DocumentSplit split = validIndex >= 0 && IsTrue(Encoding.UTF8.GetString(fields[validIndex])) ? DocumentSplit.Validation : DocumentSplit.Train;
            yield return new TextDocument($"{path}:{recordLine}", text, label, split);
        }
        if (record.Count > 0)
        {
            problems.Fail($"{path}:{recordLine}", "file ends inside a quoted field; last row skipped.");
        }
    }

    private int IndexOf(string[] names, string column)
    {
        int index = Array.IndexOf(names, column);
        return index >= 0 ? index : throw new InvalidDataException($"{path}: no column '{column}' in the header ({string.Join(", ", names)}).");
    }

    private static bool IsTrue(string value) =>
        value.Trim() is "1" || value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);

    private static byte[] JoinTextFields(List<byte[]> fields, int[] textIndex)
    {
        if (textIndex.Length == 1)
        {
            return fields[textIndex[0]];
        }
        // fastai's _join_texts with mark_fields: "xxfld 1 a xxfld 2 b".
        var joined = new List<byte>();
        for (int i = 0; i < textIndex.Length; i++)
        {
            string marker = (i == 0 ? "" : " ") + SpecialTokens.Field + " " + (i + 1).ToString(CultureInfo.InvariantCulture) + " ";
            joined.AddRange(Encoding.UTF8.GetBytes(marker));
            joined.AddRange(fields[textIndex[i]]);
        }
        return joined.ToArray();
    }

    /// <summary>Splits one record into unquoted fields (a trailing '\r' of the record is dropped).</summary>
    internal static List<byte[]> ParseRecord(ReadOnlySpan<byte> record)
    {
        if (!record.IsEmpty && record[^1] == '\r')
        {
            record = record[..^1];
        }
        var fields = new List<byte[]>();
        var field = new List<byte>();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (i < record.Length && record[i] == '"')
            {
                i++;
                while (i < record.Length)
                {
                    if (record[i] == '"')
                    {
                        if (i + 1 < record.Length && record[i + 1] == '"')
                        {
                            field.Add((byte)'"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Add(record[i]);
                    i++;
                }
                // anything between the closing quote and the comma is kept, as lenient readers do
                while (i < record.Length && record[i] != ',')
                {
                    field.Add(record[i]);
                    i++;
                }
            }
            else
            {
                while (i < record.Length && record[i] != ',')
                {
                    field.Add(record[i]);
                    i++;
                }
            }
            fields.Add(field.ToArray());
            if (i >= record.Length)
            {
                break;
            }
            i++; // the comma
        }
        return fields;
    }
}
