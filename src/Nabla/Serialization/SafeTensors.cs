using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Nabla.Serialization;

/// <summary>
/// Reads and writes the safetensors format (Hugging Face's), which PyTorch, JAX and candle all
/// read: <c>SafeTensors.Save("model.safetensors", model.StateDict())</c> and
/// <c>model.LoadStateDict(SafeTensors.Load("model.safetensors"))</c>.
/// </summary>
/// <remarks>
/// Unlike a pickle, the format cannot run code and is validated completely before anything is
/// allocated (see <see cref="SafeTensorsFile"/> for the rules). Nabla writes F32; it reads F32, F64,
/// the integer types, F16 and BF16, converting them to float32 tensors. To read float64 data
/// exactly, use <see cref="SafeTensorsFile.ReadDouble"/>.
/// </remarks>
public static class SafeTensors
{
    /// <summary>Every tensor of the file at <paramref name="path"/>, in the order of their data, as float32 tensors.</summary>
    public static OrderedDictionary<string, Tensor> Load(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return ReadAll(file);
    }

    /// <summary>Every tensor of the safetensors data in <paramref name="stream"/> (read from its current position to its end; left open).</summary>
    public static OrderedDictionary<string, Tensor> Load(Stream stream, string source = "<stream>")
    {
        using var file = SafeTensorsFile.Read(stream, source, leaveOpen: true);
        return ReadAll(file);
    }

    static OrderedDictionary<string, Tensor> ReadAll(SafeTensorsFile file)
    {
        var result = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in file.Names) result.Add(name, file.ReadTensor(name));
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as F32 to <paramref name="path"/>, atomically: the data goes
    /// to a temporary file in the same folder, is flushed to disk and then renamed over the target,
    /// so a crash or a full disk never leaves a half-written file under the final name.
    /// </summary>
    /// <param name="path">The file to write (replaced if it exists).</param>
    /// <param name="tensors">Names and tensors, written in this order; names must be distinct and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Strings stored under the header's <c>__metadata__</c>, or null.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"SafeTensors.Save: the folder '{dir}' does not exist");
        var list = Validate(tensors, metadata);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Write(fs, list, metadata);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            // Name the file the caller asked for, not the temporary one.
            string message = e.Message.Replace(tmp, full, StringComparison.Ordinal);
            throw e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The floats written at a time (256 MiB of bytes).</summary>
    internal static int WriteChunk = 1 << 26; // not const: a test shrinks it to exercise the chunks

    /// <summary>Writes <paramref name="tensors"/> as F32 safetensors data to <paramref name="stream"/> (left open).</summary>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        Write(stream, Validate(tensors, metadata), metadata);
    }

    static List<KeyValuePair<string, Tensor>> Validate(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var list = new List<KeyValuePair<string, Tensor>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in tensors)
        {
            if (string.IsNullOrEmpty(kv.Key))
                throw new ArgumentException("SafeTensors.Save: expected non-empty tensor names; got an empty one", nameof(tensors));
            if (kv.Key == "__metadata__")
                throw new ArgumentException("SafeTensors.Save: the name \"__metadata__\" is reserved for the header's metadata", nameof(tensors));
            if (kv.Value is null)
                throw new ArgumentException($"SafeTensors.Save: tensor \"{kv.Key}\" is null", nameof(tensors));
            if (!seen.Add(kv.Key))
                throw new ArgumentException($"SafeTensors.Save: duplicate tensor name \"{kv.Key}\"", nameof(tensors));
            list.Add(kv);
        }
        if (metadata is not null)
            foreach (var kv in metadata)
                if (kv.Value is null)
                    throw new ArgumentException($"SafeTensors.Save: metadata \"{kv.Key}\" is null; metadata holds strings", nameof(metadata));
        return list;
    }

    static void Write(Stream stream, List<KeyValuePair<string, Tensor>> list, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is not null && metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * t.Numel;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces to a multiple of 8 so the data is 8-byte aligned, as the reference writer does.
        while (json.Length % 8 != 0) json.WriteByte((byte)' ');
        if (json.Length > SafeTensorsFile.MaxHeaderLength)
            throw new ArgumentException($"SafeTensors.Save: the header would be {json.Length} bytes, over the format's limit of {SafeTensorsFile.MaxHeaderLength}");

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        stream.Write(prefix);
        json.Position = 0;
        json.CopyTo(stream);
        Span<byte> b = stackalloc byte[4];
        foreach (var (_, t) in list)
        {
            if (BitConverter.IsLittleEndian)
            {
                // In chunks: a span of more than 2 GiB of bytes cannot be formed, and the format allows tensors that large.
                var data = t.Data;
                for (int start = 0; start < data.Length; start += WriteChunk)
                    stream.Write(MemoryMarshal.AsBytes(data.Slice(start, Math.Min(WriteChunk, data.Length - start))));
            }
            else
            {
                foreach (float v in t.Data)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(b, v);
                    stream.Write(b);
                }
            }
        }
    }
}
