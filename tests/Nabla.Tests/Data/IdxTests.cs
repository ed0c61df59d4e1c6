using System.Buffers.Binary;
using System.IO.Compression;
using Nabla.Data;

namespace Nabla.Tests.DataTests;

public sealed class IdxTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The bytes of an IDX file: magic 00 00 type rank, big-endian dimensions, then the payload.</summary>
    internal static byte[] IdxBytes(byte type, uint[] dims, byte[] payload, byte? rank = null)
    {
        var b = new byte[4 + 4 * dims.Length + payload.Length];
        b[2] = type;
        b[3] = rank ?? (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        payload.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    internal static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest)) z.Write(data);
        return ms.ToArray();
    }

    internal static string WriteFile(string dir, string name, byte[] bytes, bool gzip)
    {
        var path = Path.Combine(dir, gzip ? name + ".gz" : name);
        File.WriteAllBytes(path, gzip ? Gzip(bytes) : bytes);
        return path;
    }

    string Write(byte[] bytes, bool gzip, string name = "data-idx") => WriteFile(_dir, name, bytes, gzip);

    static byte[] Seq(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7)).ToArray();

    static DataFormatException Bad(string path, Func<string, object> read)
    {
        var e = Assert.Throws<DataFormatException>(() => read(path));
        Assert.Equal(path, e.FileName);
        Assert.StartsWith($"IDX file '{path}': ", e.Message);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_unsigned_bytes_raw_or_gzip(bool gzip)
    {
        var path = Write(IdxBytes(0x08, [2, 3, 4], Seq(24)), gzip);
        var t = Idx.Read(path);
        TestUtil.Shape([2, 3, 4], t);
        Assert.Equal(Seq(24).Select(b => (float)b), t.ToArray());
    }

    [Fact]
    public void Gzip_is_recognised_by_its_header_not_the_file_name()
    {
        var path = Path.Combine(_dir, "compressed.idx");
        File.WriteAllBytes(path, Gzip(IdxBytes(0x08, [3], [1, 2, 255])));
        Assert.Equal([1f, 2f, 255f], Idx.Read(path).ToArray());
    }

    [Fact]
    public void Reads_every_IDX_type_big_endian()
    {
        byte[] Be(int size, Action<Span<byte>> write) { var b = new byte[size]; write(b); return b; }
        Assert.Equal([-1f, 127f], Idx.Read(Write(IdxBytes(0x09, [2], [0xFF, 0x7F]), false, "i8")).ToArray());
        Assert.Equal([-2f, 258f], Idx.Read(Write(IdxBytes(0x0B, [2], [0xFF, 0xFE, 0x01, 0x02]), false, "i16")).ToArray());
        Assert.Equal([-70000f], Idx.Read(Write(IdxBytes(0x0C, [1], Be(4, s => BinaryPrimitives.WriteInt32BigEndian(s, -70000))), false, "i32")).ToArray());
        Assert.Equal([1.5f], Idx.Read(Write(IdxBytes(0x0D, [1], Be(4, s => BinaryPrimitives.WriteSingleBigEndian(s, 1.5f))), true, "f32")).ToArray());
        Assert.Equal([-0.25f], Idx.Read(Write(IdxBytes(0x0E, [1], Be(8, s => BinaryPrimitives.WriteDoubleBigEndian(s, -0.25))), false, "f64")).ToArray());
    }

    [Fact]
    public void Reads_a_file_larger_than_one_read_chunk()
    {
        var payload = Enumerable.Range(0, 3 << 20).Select(i => (byte)(i % 251)).ToArray();
        var t = Idx.Read(Write(IdxBytes(0x08, [3, 1 << 20], payload), true));
        Assert.Equal(250f, t.Data[250]);
        Assert.Equal((float)((3 << 20) - 1) % 251, t.Data[(3 << 20) - 1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_a_wrong_magic_number(bool gzip)
    {
        var bytes = IdxBytes(0x08, [2], [1, 2]);
        bytes[0] = 0x12; bytes[1] = 0x34;
        Assert.Contains("wrong magic number 0x12340801; an IDX file starts with two zero bytes", Bad(Write(bytes, gzip), p => Idx.Read(p)).Message);
        Assert.Contains("wrong magic number 0x00000701", Bad(Write(IdxBytes(0x07, [2], [1, 2]), gzip, "type7"), p => Idx.Read(p)).Message);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 255)]
    [InlineData(true, 5)]
    public void Rejects_a_bad_dimension_count(bool gzip, int rank)
    {
        var bytes = IdxBytes(0x08, [2], [1, 2], rank: (byte)rank);
        Assert.Contains($"the header declares {rank} dimensions (magic number 0x000008{rank:X2}); expected 1 to 4", Bad(Write(bytes, gzip), p => Idx.Read(p)).Message);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 3)]
    [InlineData(true, 0)]
    [InlineData(true, 3)]
    public void Rejects_a_file_shorter_than_the_magic_number(bool gzip, int length)
    {
        var path = Write(new byte[length], gzip);
        Assert.Equal($"IDX file '{path}': truncated: {length} bytes, shorter than the 4-byte magic number", Bad(path, p => Idx.Read(p)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_a_truncated_header(bool gzip)
    {
        var bytes = IdxBytes(0x08, [2, 2, 2], [])[..10];
        Assert.Contains("truncated in the header: 3 dimensions need 12 bytes after the magic number; the file has 6", Bad(Write(bytes, gzip), p => Idx.Read(p)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_data_one_byte_short(bool gzip)
    {
        var bytes = IdxBytes(0x08, [2, 28, 28], Seq(2 * 784 - 1));
        var message = Bad(Write(bytes, gzip), p => Idx.Read(p)).Message;
        Assert.Contains("truncated: the header declares dimensions [2, 28, 28] of unsigned bytes, 1568 bytes", message);
        Assert.Contains(gzip ? "the data ends after 1567" : "the file has 1567", message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_trailing_bytes_after_the_declared_data(bool gzip)
    {
        var bytes = IdxBytes(0x08, [10], Seq(11));
        var message = Bad(Write(bytes, gzip), p => Idx.Read(p)).Message;
        Assert.Contains("the declared sizes disagree with the", message);
        Assert.Contains("dimensions [10] of unsigned bytes take 10 bytes", message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_dimensions_over_the_size_limit_before_allocating(bool gzip)
    {
        var path = Write(IdxBytes(0x08, [65536, 65536, 4], Seq(16)), gzip);
        Assert.Contains("the header declares dimensions [65536, 65536, 4], over 1073741824 values (the limit; 65536 MiB as float32); refusing to allocate",
            Bad(path, p => Idx.Read(p)).Message);
        var huge = Write(IdxBytes(0x08, [0xFFFFFFFF], Seq(4)), gzip, "huge");
        Assert.Contains("dimension 0 is 4294967295, more than any file can hold", Bad(huge, p => Idx.Read(p)).Message);
        var small = Write(IdxBytes(0x08, [28, 28], Seq(784)), gzip, "small");
        Assert.Contains("over 100 values", Bad(small, p => Idx.Read(p, maxElements: 100)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_tiny_file_declaring_gigabytes_is_rejected_without_allocating_them(bool gzip)
    {
        // 10^9 values (4 GB as float32), within the limit, but the file holds 16 bytes of data.
        var path = Write(IdxBytes(0x08, [1000, 1000, 1000], Seq(16)), gzip);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("truncated: the header declares dimensions [1000, 1000, 1000] of unsigned bytes, 1000000000 bytes", Bad(path, p => Idx.Read(p)).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "the reader allocated what the header claimed");
    }

    [Fact]
    public void Rejects_corrupt_gzip_data()
    {
        var gz = Gzip(IdxBytes(0x08, [100], Seq(100)));
        var crc = (byte[])gz.Clone();
        crc[^8] ^= 0xFF; // the CRC-32 in the trailer
        var path = Path.Combine(_dir, "crc.gz");
        File.WriteAllBytes(path, crc);
        Assert.Contains("the gzip data is corrupt (", Bad(path, p => Idx.Read(p)).Message);

        var cut = Path.Combine(_dir, "cut.gz");
        File.WriteAllBytes(cut, gz[..(gz.Length / 2)]);
        Assert.Contains("truncated: the header declares dimensions [100] of unsigned bytes, 100 bytes of data; the data ends after", Bad(cut, p => Idx.Read(p)).Message);

        var trailer = Path.Combine(_dir, "trailer.gz"); // all the data, but no CRC-32 and length
        File.WriteAllBytes(trailer, gz[..^8]);
        Assert.Contains("the gzip data is cut short or corrupt: its trailer does not record the 108 bytes it decompressed to", Bad(trailer, p => Idx.Read(p)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rejects_labels_out_of_range(bool gzip)
    {
        var path = Write(IdxBytes(0x08, [4], [0, 9, 10, 3]), gzip);
        Assert.Equal($"IDX file '{path}': label 10 at index 2 is out of range for 10 classes (expected 0 to 9)",
            Bad(path, p => Idx.ReadLabels(p, 10)).Message);
        Assert.Equal([0f, 9f, 10f, 3f], Idx.ReadLabels(path, 11).ToArray());
        var negative = Write(IdxBytes(0x09, [2], [1, 0xFF]), gzip, "negative");
        Assert.Contains("label -1 at index 1 is out of range", Bad(negative, p => Idx.ReadLabels(p, 10)).Message);
        var matrix = Write(IdxBytes(0x08, [2, 2], [0, 1, 2, 3]), gzip, "matrix");
        Assert.Contains("expected labels with 1 dimension; the header declares 2: [2, 2]", Bad(matrix, p => Idx.ReadLabels(p, 10)).Message);
    }

    [Fact]
    public void Argument_errors()
    {
        Assert.Throws<FileNotFoundException>(() => Idx.Read(Path.Combine(_dir, "missing")));
        Assert.StartsWith("Idx.ReadLabels: expected a positive class count; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => Idx.ReadLabels("x", 0)).Message);
        Assert.StartsWith("Idx.Read: expected maxElements in [0, ",
            Assert.Throws<ArgumentOutOfRangeException>(() => Idx.Read("x", -1)).Message);
    }
}
