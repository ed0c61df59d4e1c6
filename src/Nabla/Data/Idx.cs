using System.Buffers.Binary;
using System.IO.Compression;

namespace Nabla.Data;

/// <summary>
/// Reads IDX files, the format of MNIST and Fashion-MNIST, raw or gzip-compressed (recognised by
/// the gzip header 1f 8b, whatever the file's name).
/// </summary>
/// <remarks>
/// <para>Layout: two zero bytes, a type code (0x08 unsigned byte, 0x09 signed byte, 0x0B int16,
/// 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, each dimension as a
/// big-endian uint32, then the values, big-endian, in row-major order. MNIST's images have magic
/// number 0x00000803 (unsigned bytes, 3 dimensions), its labels 0x00000801.</para>
/// <para>Every file is checked before its data is allocated: the magic number, 1 to 4 dimensions,
/// a total of at most <c>maxElements</c> values, and a length of exactly header + values (a raw
/// file's length is compared up front; a gzip stream is decompressed against a hard cap, in pieces,
/// so a small file that declares a huge size cannot make the reader allocate it). Any violation is a
/// <see cref="DataFormatException"/> naming the file.</para>
/// </remarks>
public static partial class Idx
{
    /// <summary>The default limit on the values in one file: 2^30, 4 GiB as float32 (MNIST's training images are 47 million).</summary>
    public const long DefaultMaxElements = 1L << 30;

    /// <summary>The file's values as a float32 tensor whose shape is the file's dimensions (bytes keep their values 0 to 255).</summary>
    /// <param name="path">The IDX file, raw or gzip.</param>
    /// <param name="maxElements">Refuse files declaring more values than this (at most <see cref="Array.MaxLength"/>).</param>
    public static Tensor Read(string path, long maxElements = DefaultMaxElements) => ReadWithType(path, maxElements).Values;

    /// <summary>
    /// A labels file: one dimension of integers, each in [0, <paramref name="numClasses"/>), returned
    /// as a float tensor of shape (N) holding the class indices.
    /// </summary>
    public static Tensor ReadLabels(string path, int numClasses, long maxElements = DefaultMaxElements)
    {
        if (numClasses <= 0)
            throw new ArgumentOutOfRangeException(nameof(numClasses), $"Idx.ReadLabels: expected a positive class count; got {numClasses}");
        var labels = Read(path, maxElements);
        if (labels.Rank != 1)
            throw Error(path, $"expected labels with 1 dimension; the header declares {labels.Rank}: {labels.ShapeString}");
        var v = labels.Data;
        for (int i = 0; i < v.Length; i++)
            if (!(v[i] >= 0 && v[i] < numClasses) || v[i] != MathF.Floor(v[i]))
                throw Error(path, $"label {v[i]} at index {i} is out of range for {numClasses} classes (expected 0 to {numClasses - 1})");
        return labels;
    }

    internal static (Tensor Values, byte TypeCode) ReadWithType(string path, long maxElements)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (maxElements < 0 || maxElements > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxElements), $"Idx.Read: expected maxElements in [0, {Array.MaxLength}]; got {maxElements}");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> sniff = stackalloc byte[2];
        bool gzip = ReadFully(file, sniff) == 2 && sniff[0] == 0x1f && sniff[1] == 0x8b;
        file.Position = 0;
        if (!gzip) return ReadBody(file, path, file.Length, maxElements);
        (Tensor, byte) result;
        try
        {
            using var z = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            result = ReadBody(z, path, null, maxElements);
        }
        catch (InvalidDataException e)
        {
            throw Error(path, $"the gzip data is corrupt ({e.Message})", e);
        }
        CheckGzipTrailer(file, path, 4 + 4L * result.Item1.Rank + (long)result.Item1.Numel * ElementSize(result.Item2));
        return result;
    }

    /// <summary>
    /// GZipStream checks the CRC-32 when the trailer is there, but ends quietly when the file stops
    /// before it; so compare the trailer's length field (ISIZE, the uncompressed length mod 2^32)
    /// with what was read. (This assumes one gzip member, as gzip writes; concatenated members are refused.)
    /// </summary>
    static void CheckGzipTrailer(FileStream file, string path, long uncompressed)
    {
        Span<byte> isize = stackalloc byte[4];
        file.Position = Math.Max(0, file.Length - 4);
        if (file.Length < 18 || ReadFully(file, isize) < 4 || BinaryPrimitives.ReadUInt32LittleEndian(isize) != (uint)uncompressed)
            throw Error(path, $"the gzip data is cut short or corrupt: its trailer does not record the {uncompressed} bytes it decompressed to");
    }

    /// <summary>Parses the header and values; <paramref name="length"/> is the whole length when known (a raw file).</summary>
    static (Tensor, byte) ReadBody(Stream s, string path, long? length, long maxElements)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = ReadFully(s, magic);
        if (got < 4)
            throw Error(path, $"truncated: {got} bytes, shorter than the 4-byte magic number");
        uint m = BinaryPrimitives.ReadUInt32BigEndian(magic);
        int elemSize = ElementSize(magic[2]);
        if (magic[0] != 0 || magic[1] != 0 || elemSize == 0)
            throw Error(path, $"wrong magic number 0x{m:X8}; an IDX file starts with two zero bytes, a type code " +
                              "(0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64) and the number of dimensions, e.g. 0x00000803");
        int rank = magic[3];
        if (rank < 1 || rank > 4)
            throw Error(path, $"the header declares {rank} dimensions (magic number 0x{m:X8}); expected 1 to 4");
        Span<byte> dimBytes = stackalloc byte[4 * rank];
        got = ReadFully(s, dimBytes);
        if (got < dimBytes.Length)
            throw Error(path, $"truncated in the header: {rank} dimensions need {dimBytes.Length} bytes after the magic number; the file has {got}");
        var dims = new int[rank];
        UInt128 declared = 1; // at most four factors below 2^31: exact, no overflow
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (d > int.MaxValue)
                throw Error(path, $"dimension {i} is {d}, more than any file can hold (the header is corrupt)");
            dims[i] = (int)d;
            declared *= d;
        }
        string shape = ShapeException.Str(dims);
        if (declared > (ulong)maxElements)
            throw Error(path, $"the header declares dimensions {shape}, over {maxElements} values (the limit; {declared * 4 / (1 << 20)} MiB as float32); refusing to allocate");
        long count = (long)declared;
        long header = 4 + 4L * rank, payload = count * elemSize;
        if (length is long len)
        {
            if (len < header + payload)
                throw Error(path, $"truncated: the header declares dimensions {shape} of {TypeName(magic[2])}, {payload} bytes after the {header}-byte header; the file has {len - header}");
            if (len > header + payload)
                throw Error(path, $"the declared sizes disagree with the file's length: dimensions {shape} of {TypeName(magic[2])} take {payload} bytes after the {header}-byte header; the file has {len - header} ({len - header - payload} trailing bytes)");
        }
        var values = ReadValues(s, path, count, magic[2], elemSize, trusted: length is not null, shape);
        return (new Tensor(values, dims), magic[2]);
    }

    static DataFormatException Error(string path, string problem, Exception? inner = null) => new("IDX", path, problem, inner);

    internal static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
