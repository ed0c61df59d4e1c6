namespace Nabla.Data;

/// <summary>
/// Thrown when a data file breaks its format. The message names the format, the file and the
/// problem, e.g. <c>IDX file 'train-labels-idx1-ubyte.gz': label 12 at index 3 is out of range for 10 classes (expected 0 to 9)</c>.
/// </summary>
/// <remarks>
/// Every reader in <see cref="Nabla.Data"/> turns malformed input into this one exception type,
/// never an index, overflow or out-of-memory error: headers are checked against the file's length
/// and a size limit before anything large is allocated.
/// </remarks>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception for <paramref name="fileName"/> in <paramref name="format"/> (e.g. <c>IDX</c>, <c>CSV</c>).</summary>
    public DataFormatException(string format, string fileName, string problem, Exception? inner = null)
        : base($"{format} file '{fileName}': {problem}", inner)
    {
        Format = format;
        FileName = fileName;
        Problem = problem;
    }

    /// <summary>The file format, e.g. <c>IDX</c> or <c>CSV</c>.</summary>
    public string Format { get; }

    /// <summary>The file (or stream) that was rejected.</summary>
    public string FileName { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
