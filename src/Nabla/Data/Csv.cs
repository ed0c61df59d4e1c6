using System.Globalization;

namespace Nabla.Data;

/// <summary>
/// Reads numeric tabular data from CSV files: every cell a number (invariant culture, <c>.</c>
/// as the decimal point), optionally a header row of column names.
/// </summary>
/// <remarks>
/// Cells are trimmed and may be wrapped in double quotes; blank lines are skipped. There is no
/// quoting of delimiters inside cells and no missing values: an empty or non-numeric cell, or a row
/// with a different number of cells than the first, is a <see cref="DataFormatException"/> naming the
/// file, the line and the column.
/// </remarks>
public static class Csv
{
    /// <summary>The whole table as a (rows, columns) tensor.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="hasHeader">Whether the first non-blank line holds column names.</param>
    /// <param name="delimiter">The cell separator.</param>
    public static Tensor ReadTensor(string path, bool hasHeader = true, char delimiter = ',') =>
        Parse(path, hasHeader, delimiter).Values;

    /// <summary>
    /// The table as a dataset for supervised learning: the label column becomes the targets (N) and
    /// the other columns, in order, the inputs (N, columns - 1).
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="labelColumn">The label's column, 0-based; negative counts from the end (the default -1 is the last column).</param>
    /// <param name="hasHeader">Whether the first non-blank line holds column names.</param>
    /// <param name="delimiter">The cell separator.</param>
    public static TensorDataset Read(string path, int labelColumn = -1, bool hasHeader = true, char delimiter = ',')
    {
        var table = Parse(path, hasHeader, delimiter);
        int cols = table.Values.Shape[1];
        int c = labelColumn < 0 ? labelColumn + cols : labelColumn;
        if (c < 0 || c >= cols)
            throw new ArgumentOutOfRangeException(nameof(labelColumn), $"Csv.Read: labelColumn {labelColumn} is out of range for '{path}', which has {cols} columns");
        return Split(table.Values, c);
    }

    /// <summary>As <see cref="Read(string, int, bool, char)"/>, the label column named in the header.</summary>
    public static TensorDataset Read(string path, string labelColumn, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(labelColumn);
        var table = Parse(path, true, delimiter);
        int c = Array.IndexOf(table.Header!, labelColumn);
        if (c < 0)
            throw new ArgumentException($"Csv.Read: '{path}' has no column \"{labelColumn}\"; its columns are {string.Join(", ", table.Header!.Select(h => $"\"{h}\""))}", nameof(labelColumn));
        return Split(table.Values, c);
    }

    static TensorDataset Split(Tensor table, int label)
    {
        int rows = table.Shape[0], cols = table.Shape[1];
        var x = Tensor.Owned([rows, cols - 1], clear: false);
        var y = Tensor.Owned([rows], clear: false);
        var src = table.Data;
        var xs = x.Span;
        var ys = y.Span;
        for (int r = 0; r < rows; r++)
        {
            var row = src.Slice(r * cols, cols);
            row[..label].CopyTo(xs.Slice(r * (cols - 1), label));
            row[(label + 1)..].CopyTo(xs.Slice(r * (cols - 1) + label, cols - 1 - label));
            ys[r] = row[label];
        }
        return new TensorDataset(x, y);
    }

    static (string[]? Header, Tensor Values) Parse(string path, bool hasHeader, char delimiter)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[]? header = null;
        var values = new List<float>();
        int cols = -1, firstLine = 0, lineNo = 0, rows = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var cells = line.Split(delimiter);
            if (cols < 0)
            {
                cols = cells.Length;
                firstLine = lineNo;
                if (hasHeader)
                {
                    header = Array.ConvertAll(cells, Unquote);
                    continue;
                }
            }
            else if (cells.Length != cols)
                throw Error(path, $"line {lineNo} has {cells.Length} cells; expected {cols}, as on line {firstLine}");
            if ((long)values.Count + cols > Array.MaxLength)
                throw Error(path, $"more than {Array.MaxLength} values; too large for one tensor");
            for (int c = 0; c < cols; c++)
            {
                var cell = Unquote(cells[c]);
                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float v))
                {
                    var name = header is null ? "" : $" (\"{header[c]}\")";
                    var what = cell.Length == 0 ? "the cell is empty" : $"'{cell}' is not a number";
                    throw Error(path, $"line {lineNo}, column {c + 1}{name}: {what}");
                }
                values.Add(v);
            }
            rows++;
        }
        if (rows == 0)
            throw Error(path, hasHeader ? "no data rows after the header" : "no data rows");
        return (header, new Tensor(values.ToArray(), [rows, cols]));
    }

    static string Unquote(string cell)
    {
        var s = cell.Trim();
        return s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? s[1..^1].Trim() : s;
    }

    static DataFormatException Error(string path, string problem) => new("CSV", path, problem);
}
