using System.Buffers.Binary;

namespace Nabla.Serialization;

/// <summary>The element types of the safetensors format that Nabla reads: sizes and conversions.</summary>
internal static class SafeTensorsDType
{
    /// <summary>The dtype names Nabla reads, with their sizes in bytes (the format's sub-byte and float8 types are not supported).</summary>
    internal static readonly IReadOnlyDictionary<string, int> Sizes = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    internal static string KnownList => "BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64";

    /// <summary>Converts little-endian elements of <paramref name="dtype"/> to doubles (exact for every type but I64/U64 beyond 2^53).</summary>
    internal static void ToDouble(string dtype, ReadOnlySpan<byte> src, Span<double> dst)
    {
        switch (dtype)
        {
            case "BOOL": for (int i = 0; i < dst.Length; i++) dst[i] = src[i] != 0 ? 1 : 0; break;
            case "U8": for (int i = 0; i < dst.Length; i++) dst[i] = src[i]; break;
            case "I8": for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i]; break;
            case "I16": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]); break;
            case "U16": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]); break;
            case "F16": for (int i = 0; i < dst.Length; i++) dst[i] = (double)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]); break;
            // bfloat16 is the top half of a float32.
            case "BF16":
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                break;
            case "I32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]); break;
            case "U32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]); break;
            case "F32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]); break;
            case "I64": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]); break;
            case "U64": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]); break;
            case "F64": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]); break;
            default: throw new InvalidOperationException($"unknown dtype {dtype}");
        }
    }
}
