using Nabla.Data;

namespace Nabla.Tests.DataTests;

public sealed class CsvTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-csv-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string text, string name = "table.csv")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Reads_features_and_the_last_column_as_labels()
    {
        var path = Write("a,b,label\n1,2.5,0\r\n\n-3,4e2,1\n");
        var ds = Csv.Read(path);
        TestUtil.Shape([2, 2], ds.Inputs);
        Assert.Equal([1f, 2.5f, -3f, 400f], ds.Inputs.ToArray());
        Assert.Equal([0f, 1f], ds.Targets.ToArray());
    }

    [Fact]
    public void The_label_column_may_be_named_or_counted_from_either_end()
    {
        var path = Write("\"y\", x1 ,x2\n7,1,2\n8,3,4\n");
        Assert.Equal([7f, 8f], Csv.Read(path, "y").Targets.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], Csv.Read(path, "y").Inputs.ToArray());
        Assert.Equal([1f, 3f], Csv.Read(path, labelColumn: 1).Targets.ToArray());
        Assert.Equal([7f, 2f, 8f, 4f], Csv.Read(path, labelColumn: -2).Inputs.ToArray());
        Assert.StartsWith($"Csv.Read: '{path}' has no column \"z\"; its columns are \"y\", \"x1\", \"x2\"",
            Assert.Throws<ArgumentException>(() => Csv.Read(path, "z")).Message);
        Assert.StartsWith($"Csv.Read: labelColumn 3 is out of range for '{path}', which has 3 columns",
            Assert.Throws<ArgumentOutOfRangeException>(() => Csv.Read(path, 3)).Message);
    }

    [Fact]
    public void Reads_a_table_without_header_and_another_delimiter()
    {
        var t = Csv.ReadTensor(Write("1;2\n3;\"4\"\n"), hasHeader: false, delimiter: ';');
        TestUtil.Shape([2, 2], t);
        Assert.Equal([1f, 2f, 3f, 4f], t.ToArray());
    }

    [Fact]
    public void Rejects_a_ragged_row_with_its_line()
    {
        var path = Write("a,b,c\n1,2,3\n\n4,5\n");
        Assert.Equal($"CSV file '{path}': line 4 has 2 cells; expected 3, as on line 1",
            Assert.Throws<DataFormatException>(() => Csv.Read(path)).Message);
    }

    [Fact]
    public void Rejects_a_non_numeric_cell_with_its_line_and_column()
    {
        var path = Write("a,b,c\n1,2,3\n4,x5,6\n");
        Assert.Equal($"CSV file '{path}': line 3, column 2 (\"b\"): 'x5' is not a number",
            Assert.Throws<DataFormatException>(() => Csv.Read(path)).Message);
        var noHeader = Write("1,2\n,3\n", "noheader.csv");
        Assert.Equal($"CSV file '{noHeader}': line 2, column 1: the cell is empty",
            Assert.Throws<DataFormatException>(() => Csv.ReadTensor(noHeader, hasHeader: false)).Message);
        var comma = Write("a\n1,5\n", "comma.csv"); // a decimal comma splits the row
        Assert.Contains("line 2 has 2 cells; expected 1", Assert.Throws<DataFormatException>(() => Csv.ReadTensor(comma)).Message);
    }

    [Fact]
    public void Rejects_a_file_without_data_rows()
    {
        var header = Write("a,b\n");
        Assert.Equal($"CSV file '{header}': no data rows after the header", Assert.Throws<DataFormatException>(() => Csv.Read(header)).Message);
        var empty = Write("", "empty.csv");
        Assert.Equal($"CSV file '{empty}': no data rows", Assert.Throws<DataFormatException>(() => Csv.ReadTensor(empty, hasHeader: false)).Message);
    }
}
