using System.Runtime.InteropServices;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Nabla.Onnx.Import;

/// <summary>
/// Reads a <c>TensorProto</c> (an initializer, a Constant's value, a test's input) into an
/// <see cref="OnnxValue"/>, checking everything a hostile file could get wrong: negative or
/// overflowing dims, data whose size does not match the shape, external data outside the model's
/// folder.
/// </summary>
internal static class TensorReader
{
    /// <summary>Reads <paramref name="t"/>; <paramref name="modelDir"/> is where external data may live (null: refused).</summary>
    public static OnnxValue Read(TensorProto t, string what, string? modelDir)
    {
        var dims = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0) throw new OnnxImportException($"{what}: dimension {i} is {d}; dimensions must not be negative");
            if (d > int.MaxValue || (d > 0 && count > int.MaxValue / d))
                throw new OnnxImportException($"{what}: dims [{string.Join(", ", t.Dims)}] hold more than {int.MaxValue} elements");
            dims[i] = (int)d;
            count *= d;
        }
        var type = (DataType)t.DataType;
        int size = type switch
        {
            DataType.Bool => 1,
            DataType.Float or DataType.Int32 => 4,
            DataType.Int64 or DataType.Double => 8,
            _ => throw new OnnxImportException($"{what}: element type {type.ToString().ToUpperInvariant()} is not supported; " +
                "Nabla imports float32 weights, int32/int64 shapes and bool masks (double is converted to float, bool to 0/1)"),
        };
        ReadOnlySpan<byte> raw;
        byte[]? external = null;
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            external = ReadExternal(t, what, modelDir, count * size);
            raw = external;
        }
        else raw = t.RawData.Span;

        if (external is not null || raw.Length > 0)
        {
            if (raw.Length != count * size)
                throw new OnnxImportException($"{what}: raw data holds {raw.Length} bytes; its shape [{string.Join(", ", dims)}] of {type.ToString().ToUpperInvariant()} needs {count * size}");
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian");
            return type switch
            {
                DataType.Float => OnnxValue.Of(Tensor.FromArray(MemoryMarshal.Cast<byte, float>(raw).ToArray(), dims)),
                DataType.Double => OnnxValue.Of(Tensor.FromArray([.. MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(v => (float)v)], dims)),
                DataType.Int32 => OnnxValue.Of([.. MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v)], dims),
                DataType.Bool => OnnxValue.Of(Tensor.FromArray([.. raw.ToArray().Select(v => v != 0 ? 1f : 0f)], dims)),
                _ => OnnxValue.Of(MemoryMarshal.Cast<byte, long>(raw).ToArray(), dims),
            };
        }
        int n = type switch
        {
            DataType.Float => t.FloatData.Count,
            DataType.Double => t.DoubleData.Count,
            DataType.Int32 or DataType.Bool => t.Int32Data.Count, // bools are stored in int32_data
            _ => t.Int64Data.Count,
        };
        if (n != count)
            throw new OnnxImportException($"{what}: holds {n} values; its shape [{string.Join(", ", dims)}] needs {count}");
        return type switch
        {
            DataType.Float => OnnxValue.Of(Tensor.FromArray([.. t.FloatData], dims)),
            DataType.Double => OnnxValue.Of(Tensor.FromArray([.. t.DoubleData.Select(v => (float)v)], dims)),
            DataType.Int32 => OnnxValue.Of([.. t.Int32Data.Select(v => (long)v)], dims),
            DataType.Bool => OnnxValue.Of(Tensor.FromArray([.. t.Int32Data.Select(v => v != 0 ? 1f : 0f)], dims)),
            _ => OnnxValue.Of([.. t.Int64Data], dims),
        };
    }

    /// <summary>
    /// External data, allowed only in a file inside the model's own folder: a relative location
    /// without "..", resolved and checked to stay inside; offset and length within the file.
    /// </summary>
    static byte[] ReadExternal(TensorProto t, string what, string? modelDir, long expected)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in t.ExternalData)
            if (!entries.TryAdd(e.Key, e.Value)) throw new OnnxImportException($"{what}: external data names '{e.Key}' twice");
        if (modelDir is null)
            throw new OnnxImportException($"{what}: refers to external data, which is read only for models loaded from a file");
        if (!entries.TryGetValue("location", out var location) || location.Length == 0)
            throw new OnnxImportException($"{what}: external data without a location");
        if (Path.IsPathRooted(location) || location.Replace('\\', '/').Split('/').Contains("..") || location.Contains('\0', StringComparison.Ordinal))
            throw new OnnxImportException($"{what}: external data location '{location}' is outside the model's folder; only relative paths inside it are read");
        string root = Path.GetFullPath(modelDir);
        string file = Path.GetFullPath(Path.Combine(root, location));
        if (!file.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new OnnxImportException($"{what}: external data location '{location}' is outside the model's folder; only relative paths inside it are read");
        if (!File.Exists(file)) throw new OnnxImportException($"{what}: external data file '{location}' not found beside the model");
        // A link inside the folder could point anywhere: refuse links on the way to the file and the file itself.
        for (string? p = file; p is not null && p.Length > root.Length; p = Path.GetDirectoryName(p))
            if ((File.Exists(p) ? new FileInfo(p).LinkTarget : new DirectoryInfo(p).LinkTarget) is not null)
                throw new OnnxImportException($"{what}: external data location '{location}' goes through a symbolic link; only plain files inside the model's folder are read");
        long offset = entries.TryGetValue("offset", out var o) ? ParseLong(o, what, "offset") : 0;
        long fileLength = new FileInfo(file).Length;
        long length = entries.TryGetValue("length", out var l) ? ParseLong(l, what, "length") : fileLength - offset;
        if (offset < 0 || length < 0 || offset > fileLength || length > fileLength - offset)
            throw new OnnxImportException($"{what}: external data offset {offset} and length {length} fall outside '{location}' ({fileLength} bytes)");
        if (length != expected)
            throw new OnnxImportException($"{what}: external data holds {length} bytes; its shape needs {expected}");
        using var stream = File.OpenRead(file);
        stream.Position = offset;
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    static long ParseLong(string s, string what, string key) =>
        long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v : throw new OnnxImportException($"{what}: external data {key} '{s}' is not a number");
}
