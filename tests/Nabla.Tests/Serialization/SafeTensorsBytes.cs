using System.Buffers.Binary;
using System.Text;

namespace Nabla.Tests.SerializationTests;

/// <summary>Builds and takes apart safetensors files byte by byte, for tests that craft broken ones.</summary>
internal static class SafeTensorsBytes
{
    /// <summary>A file from a header written as text and raw data bytes, with the header length as given (or the true one).</summary>
    public static byte[] Build(string header, byte[] data, ulong? headerLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        return bytes;
    }

    /// <summary>The header text and the data bytes of a well-formed file.</summary>
    public static (string Header, byte[] Data) Split(byte[] file)
    {
        int n = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        return (Encoding.UTF8.GetString(file, 8, n), file[(8 + n)..]);
    }

    /// <summary>Little-endian float32 bytes.</summary>
    public static byte[] Floats(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }
}
