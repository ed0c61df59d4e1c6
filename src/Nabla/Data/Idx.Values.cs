using System.Buffers.Binary;

namespace Nabla.Data;

public static partial class Idx
{
    const int ChunkBytes = 1 << 20; // a multiple of every element size

    /// <summary>
    /// Reads <paramref name="count"/> values in chunks, converting each to float. Unless the length
    /// was already verified (<paramref name="trusted"/>), the array grows with the data actually
    /// read, so a truncated stream cannot make us allocate what its header claims.
    /// </summary>
    static float[] ReadValues(Stream s, string path, long count, byte type, int elemSize, bool trusted, string shape)
    {
        var values = trusted ? GC.AllocateUninitializedArray<float>((int)count) : new float[(int)Math.Min(count, ChunkBytes)];
        var buffer = new byte[(int)Math.Min(ChunkBytes, Math.Max(count * elemSize, 1))];
        long done = 0;
        while (done < count)
        {
            int n = (int)Math.Min(buffer.Length / elemSize, count - done);
            int got = ReadFully(s, buffer.AsSpan(0, n * elemSize));
            if (got < n * elemSize)
                throw Error(path, $"truncated: the header declares dimensions {shape} of {TypeName(type)}, {count * elemSize} bytes of data; the data ends after {done * elemSize + got}");
            if (values.Length < done + n)
                Array.Resize(ref values, (int)Math.Min(count, Math.Max(2L * values.Length, done + n)));
            Convert(buffer.AsSpan(0, n * elemSize), values.AsSpan((int)done, n), type);
            done += n;
        }
        if (s.ReadByte() >= 0)
            throw Error(path, $"the declared sizes disagree with the data: dimensions {shape} of {TypeName(type)} take {count * elemSize} bytes, and more data follows");
        return values;
    }

    static void Convert(ReadOnlySpan<byte> src, Span<float> dst, byte type)
    {
        switch (type)
        {
            case 0x08:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i];
                break;
            case 0x09:
                for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i];
                break;
            case 0x0B:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16BigEndian(src[(2 * i)..]);
                break;
            case 0x0C:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32BigEndian(src[(4 * i)..]);
                break;
            case 0x0D:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleBigEndian(src[(4 * i)..]);
                break;
            default:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(src[(8 * i)..]);
                break;
        }
    }

    /// <summary>The bytes per value of an IDX type code, or 0 for an unknown code.</summary>
    static int ElementSize(byte type) => type switch
    {
        0x08 or 0x09 => 1,
        0x0B => 2,
        0x0C or 0x0D => 4,
        0x0E => 8,
        _ => 0,
    };

    static string TypeName(byte type) => type switch
    {
        0x08 => "unsigned bytes",
        0x09 => "signed bytes",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        _ => "float64",
    };
}
