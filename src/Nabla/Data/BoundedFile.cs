using System.Text;

namespace Nabla.Data;

/// <summary>
/// Reads a whole file that comes from outside, refusing one larger than a bound without reading
/// past the bound: a huge file, or a device that never ends (<c>/dev/zero</c>), is a
/// <see cref="DataFormatException"/> after at most <c>maxBytes + 1</c> bytes instead of an
/// out-of-memory crash. A folder is refused by name.
/// </summary>
public static class BoundedFile
{
    /// <summary>The bytes of <paramref name="path"/>, at most <paramref name="maxBytes"/> of them.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The largest size accepted.</param>
    /// <param name="format">What the file should be, for messages ("image", "config").</param>
    /// <exception cref="DataFormatException">The file is larger than <paramref name="maxBytes"/> or never ends.</exception>
    /// <exception cref="FileNotFoundException">There is no such file (or it is a folder).</exception>
    public static byte[] ReadAllBytes(string path, long maxBytes, string format)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        if (Directory.Exists(path)) throw new DataFormatException(format, path, "is a folder, not a file");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (stream.CanSeek && stream.Length > maxBytes) throw TooLarge(path, maxBytes, format, stream.Length);
        var data = new MemoryStream(stream.CanSeek ? (int)Math.Min(stream.Length, int.MaxValue) : 0);
        var chunk = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            total += n;
            if (total > maxBytes) throw TooLarge(path, maxBytes, format, null);
            data.Write(chunk, 0, n);
        }
        return data.ToArray();
    }

    /// <summary>The UTF-8 text of <paramref name="path"/>, at most <paramref name="maxBytes"/> bytes of it.</summary>
    public static string ReadAllText(string path, long maxBytes, string format)
    {
        var bytes = ReadAllBytes(path, maxBytes, format);
        int bom = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        return Encoding.UTF8.GetString(bytes, bom, bytes.Length - bom);
    }

    static DataFormatException TooLarge(string path, long maxBytes, string format, long? length) =>
        new(format, path, length is long l
            ? $"it holds {l:N0} bytes; {format} files may hold at most {maxBytes:N0}"
            : $"it holds more than {maxBytes:N0} bytes, the most {format} files may hold (a device, or a file that does not end?)");
}
