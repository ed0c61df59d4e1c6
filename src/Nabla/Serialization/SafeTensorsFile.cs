using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Nabla.Serialization;

/// <summary>
/// An open safetensors file whose header has been validated: tensor names, dtypes and shapes, and
/// their data read on demand, as float32 or exactly as float64.
/// </summary>
/// <remarks>
/// <para>
/// The layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
/// name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (plus an optional
/// <c>__metadata__</c> map of strings), then the raw little-endian data, offsets counted from the
/// end of the header.
/// </para>
/// <para>
/// Opening checks every rule of the reference implementation before any tensor is allocated:
/// N at most 100,000,000 and within the file; a JSON object with no duplicate keys; each entry with
/// exactly a known dtype, a shape of non-negative sizes and two offsets; byte size = dtype size x
/// the product of the shape (overflow-checked); the tensors, sorted by offset, start at 0 and
/// follow one another with no gap or overlap (overlapping offsets are a known memory-exhaustion
/// attack); and the data ends exactly at the end of the file. Any violation throws
/// <see cref="SafeTensorsException"/> naming the file and the problem.
/// </para>
/// <para>Reads are serialized by a lock, so one instance may be shared between threads.</para>
/// </remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The largest header accepted, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    readonly Stream _stream;
    readonly bool _ownsStream;
    readonly long _dataStart;
    readonly Dictionary<string, Entry> _entries;
    readonly List<string> _names;
    readonly Dictionary<string, string> _metadata;

    sealed record Entry(string DType, int[] Shape, long Numel, long Begin, long End);

    SafeTensorsFile(Stream stream, bool ownsStream, string source)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        Source = source;
        (_dataStart, _entries, _names, _metadata) = ReadHeader(stream, source);
    }

    /// <summary>Opens and validates the file at <paramref name="path"/>; dispose it to close the file.</summary>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            return new SafeTensorsFile(stream, true, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Validates the safetensors data starting at the current position of <paramref name="stream"/>
    /// (which must end where the data ends). A stream that cannot seek is first copied into memory.
    /// </summary>
    /// <param name="stream">The data.</param>
    /// <param name="source">The name used in error messages.</param>
    /// <param name="leaveOpen">Whether disposing this object leaves <paramref name="stream"/> open.</param>
    public static SafeTensorsFile Read(Stream stream, string source = "<stream>", bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        if (!stream.CanRead) throw new ArgumentException("SafeTensorsFile.Read: expected a readable stream", nameof(stream));
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (!leaveOpen) stream.Dispose();
            copy.Position = 0;
            return new SafeTensorsFile(copy, true, source);
        }
        return new SafeTensorsFile(stream, !leaveOpen, source);
    }

    /// <summary>The path (or stream name) used in error messages.</summary>
    public string Source { get; }

    /// <summary>The tensor names in the order of their data in the file.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The <c>__metadata__</c> map of the header (empty if there is none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The shape of tensor <paramref name="name"/> (a copy).</summary>
    public int[] Shape(string name) => (int[])Get(name).Shape.Clone();

    /// <summary>The dtype of tensor <paramref name="name"/> as the format spells it (<c>F32</c>, <c>F64</c>, <c>I64</c>, ...).</summary>
    public string DType(string name) => Get(name).DType;

    /// <summary>The elements of tensor <paramref name="name"/> converted to float64: exact for F64 and every narrower type.</summary>
    public double[] ReadDouble(string name)
    {
        var e = Get(name);
        var result = new double[CheckedLength(e, name)];
        ReadConverted(e, result);
        return result;
    }

    /// <summary>The elements of tensor <paramref name="name"/> converted to float32 (F32 is read as is).</summary>
    public float[] ReadFloat(string name)
    {
        var e = Get(name);
        var result = new float[CheckedLength(e, name)];
        if (e.DType == "F32")
        {
            // In chunks of 256 MiB: more than 2 GiB of bytes cannot be one span.
            for (int start = 0; start < result.Length; start += SafeTensors.WriteChunk)
            {
                int count = Math.Min(SafeTensors.WriteChunk, result.Length - start);
                ReadBytes(e.Begin + 4L * start, MemoryMarshal.AsBytes(result.AsSpan(start, count)));
            }
            if (!BitConverter.IsLittleEndian)
                for (int i = 0; i < result.Length; i++)
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(result[i])));
            return result;
        }
        // Other types go through float64 in chunks, so no byte buffer as large as the tensor is needed.
        const int Chunk = 8192;
        var tmp = new double[Math.Min(Chunk, result.Length)];
        for (int start = 0; start < result.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, result.Length - start);
            ReadConverted(e, start, tmp.AsSpan(0, n));
            for (int i = 0; i < n; i++) result[start + i] = (float)tmp[i];
        }
        return result;
    }

    /// <summary>Tensor <paramref name="name"/> as a float32 <see cref="Tensor"/> (integer and float64 data converted).</summary>
    public Tensor ReadTensor(string name)
    {
        var shape = Shape(name);
        return new Tensor(ReadFloat(name), shape);
    }

    /// <summary>Closes the file (or the stream, unless it was opened with <c>leaveOpen</c>).</summary>
    public void Dispose()
    {
        if (_ownsStream) _stream.Dispose();
    }

    Entry Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entries.TryGetValue(name, out var e)) return e;
        throw new KeyNotFoundException($"safetensors file '{Source}': no tensor named \"{name}\"");
    }

    int CheckedLength(Entry e, string name)
    {
        if (e.Numel > Array.MaxLength)
            throw new SafeTensorsException(Source, $"tensor \"{name}\" has {e.Numel} elements, more than one array can hold ({Array.MaxLength})");
        return (int)e.Numel;
    }

    void ReadConverted(Entry e, Span<double> dst) => ReadConverted(e, 0, dst);

    void ReadConverted(Entry e, long firstElement, Span<double> dst)
    {
        int size = SafeTensorsDType.Sizes[e.DType];
        const int ChunkElements = 8192;
        var buf = new byte[Math.Min(ChunkElements, dst.Length) * size];
        for (int start = 0; start < dst.Length; start += ChunkElements)
        {
            int n = Math.Min(ChunkElements, dst.Length - start);
            var bytes = buf.AsSpan(0, n * size);
            ReadBytes(e.Begin + (firstElement + start) * size, bytes);
            SafeTensorsDType.ToDouble(e.DType, bytes, dst.Slice(start, n));
        }
    }

    void ReadBytes(long dataOffset, Span<byte> destination)
    {
        lock (_stream)
        {
            _stream.Position = _dataStart + dataOffset;
            try
            {
                _stream.ReadExactly(destination);
            }
            catch (EndOfStreamException ex)
            {
                throw new SafeTensorsException(Source, "the file ended while reading tensor data (was it truncated after opening?)", ex);
            }
        }
    }

    // ---- header ----------------------------------------------------------------------------

    static (long DataStart, Dictionary<string, Entry> Entries, List<string> Names, Dictionary<string, string> Metadata)
        ReadHeader(Stream stream, string source)
    {
        long origin = stream.Position;
        long length = stream.Length - origin;
        if (length < 8)
            throw new SafeTensorsException(source, $"the file is {length} bytes, too short for the 8-byte header length");
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
            throw new SafeTensorsException(source, $"header length {n} exceeds the limit of {MaxHeaderLength} bytes");
        if ((long)n > length - 8)
            throw new SafeTensorsException(source, $"header length {n} runs past the end of the file ({length} bytes; at most {length - 8} available)");
        if (n < 2)
            throw new SafeTensorsException(source, $"header length {n} is too short for a JSON object");
        var header = new byte[(int)n];
        stream.ReadExactly(header);
        if (header[0] != (byte)'{')
            throw new SafeTensorsException(source, $"the header does not start with '{{' (byte 0x{header[0]:X2}); it is not a JSON object");

        var (entries, order, metadata) = ParseHeader(header, source);
        long dataLength = length - 8 - (long)n;

        // Sorted by offset, each tensor must begin where the previous one ended.
        order.Sort((a, b) =>
        {
            int c = entries[a].Begin.CompareTo(entries[b].Begin);
            return c != 0 ? c : entries[a].End.CompareTo(entries[b].End);
        });
        long expectedBegin = 0;
        string? previous = null;
        foreach (var name in order)
        {
            var e = entries[name];
            if (e.Begin < expectedBegin)
                throw new SafeTensorsException(source,
                    $"tensor \"{name}\" (data_offsets [{e.Begin}, {e.End}]) overlaps tensor \"{previous}\", which ends at {expectedBegin}");
            if (e.Begin > expectedBegin)
                throw new SafeTensorsException(source, previous is null
                    ? $"the data does not start at offset 0: the first tensor, \"{name}\", begins at {e.Begin}"
                    : $"gap of {e.Begin - expectedBegin} bytes between tensor \"{previous}\" (ends at {expectedBegin}) and tensor \"{name}\" (begins at {e.Begin})");
            expectedBegin = e.End;
            previous = name;
        }
        if (expectedBegin != dataLength)
            throw new SafeTensorsException(source, expectedBegin > dataLength
                ? $"the tensors need {expectedBegin} bytes of data but the file holds {dataLength} after the header (truncated?)"
                : $"{dataLength - expectedBegin} unexpected bytes after the last tensor's data (the tensors need {expectedBegin} of the {dataLength} bytes after the header)");
        return (origin + 8 + (long)n, entries, order, metadata);
    }

    static (Dictionary<string, Entry>, List<string>, Dictionary<string, string>) ParseHeader(byte[] header, string source)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var order = new List<string>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        try
        {
            // Parsed by hand with Utf8JsonReader: JsonDocument accepts duplicate keys by default,
            // and the format forbids them (two entries for one name could point at different data).
            var r = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            Next(ref r, source);
            if (r.TokenType != JsonTokenType.StartObject) throw Bad(source, "the header is not a JSON object");
            while (true)
            {
                Next(ref r, source);
                if (r.TokenType == JsonTokenType.EndObject) break;
                string key = r.GetString()!;
                if (key == "__metadata__")
                {
                    if (sawMetadata) throw Bad(source, "duplicate key \"__metadata__\" in the header");
                    sawMetadata = true;
                    ParseMetadata(ref r, source, metadata);
                    continue;
                }
                if (entries.ContainsKey(key)) throw Bad(source, $"duplicate key \"{key}\" in the header");
                entries.Add(key, ParseEntry(ref r, source, key));
                order.Add(key);
            }
            // Only whitespace may follow (writers pad the header with spaces); the reader throws otherwise.
            if (r.Read()) throw Bad(source, "unexpected content after the header's JSON object");
        }
        catch (JsonException ex)
        {
            throw new SafeTensorsException(source, $"the header is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new SafeTensorsException(source, $"the header is not valid JSON: {ex.Message}", ex);
        }
        return (entries, order, metadata);
    }

    static void ParseMetadata(ref Utf8JsonReader r, string source, Dictionary<string, string> metadata)
    {
        Next(ref r, source);
        if (r.TokenType != JsonTokenType.StartObject)
            throw Bad(source, $"\"__metadata__\" must be an object of strings; got {Describe(r.TokenType)}");
        while (true)
        {
            Next(ref r, source);
            if (r.TokenType == JsonTokenType.EndObject) return;
            string key = r.GetString()!;
            Next(ref r, source);
            if (r.TokenType != JsonTokenType.String)
                throw Bad(source, $"\"__metadata__\" must map strings to strings; \"{key}\" holds {Describe(r.TokenType)}");
            if (!metadata.TryAdd(key, r.GetString()!))
                throw Bad(source, $"duplicate key \"{key}\" in \"__metadata__\"");
        }
    }

    static Entry ParseEntry(ref Utf8JsonReader r, string source, string name)
    {
        Next(ref r, source);
        if (r.TokenType != JsonTokenType.StartObject)
            throw Bad(source, $"tensor \"{name}\": expected an object with dtype, shape and data_offsets; got {Describe(r.TokenType)}");
        string? dtype = null;
        List<long>? shape = null, offsets = null;
        while (true)
        {
            Next(ref r, source);
            if (r.TokenType == JsonTokenType.EndObject) break;
            string field = r.GetString()!;
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Bad(source, $"tensor \"{name}\": duplicate field \"dtype\"");
                    Next(ref r, source);
                    if (r.TokenType != JsonTokenType.String) throw Bad(source, $"tensor \"{name}\": dtype must be a string; got {Describe(r.TokenType)}");
                    dtype = r.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Bad(source, $"tensor \"{name}\": duplicate field \"shape\"");
                    shape = ReadIntArray(ref r, source, name, "shape");
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Bad(source, $"tensor \"{name}\": duplicate field \"data_offsets\"");
                    offsets = ReadIntArray(ref r, source, name, "data_offsets");
                    break;
                default:
                    throw Bad(source, $"tensor \"{name}\": unknown field \"{field}\" (expected exactly dtype, shape and data_offsets)");
            }
        }
        if (dtype is null) throw Bad(source, $"tensor \"{name}\": missing \"dtype\"");
        if (shape is null) throw Bad(source, $"tensor \"{name}\": missing \"shape\"");
        if (offsets is null) throw Bad(source, $"tensor \"{name}\": missing \"data_offsets\"");
        if (!SafeTensorsDType.Sizes.TryGetValue(dtype, out int size))
            throw Bad(source, $"tensor \"{name}\": unknown or unsupported dtype \"{dtype}\" (Nabla reads {SafeTensorsDType.KnownList})");
        if (offsets.Count != 2)
            throw Bad(source, $"tensor \"{name}\": data_offsets must hold 2 numbers [begin, end]; got {offsets.Count}");
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw Bad(source, $"tensor \"{name}\": data_offsets [{begin}, {end}] end before they begin");

        var dims = new int[shape.Count];
        long numel = 1, bytes;
        try
        {
            for (int i = 0; i < dims.Length; i++)
            {
                if (shape[i] > int.MaxValue)
                    throw Bad(source, $"tensor \"{name}\": dimension {shape[i]} exceeds the largest Nabla supports ({int.MaxValue})");
                dims[i] = (int)shape[i];
                numel = checked(numel * shape[i]);
            }
            bytes = checked(numel * size);
        }
        catch (OverflowException)
        {
            throw Bad(source, $"tensor \"{name}\": shape {ShapeException.Str(dims)} has more elements than 64-bit arithmetic can count");
        }
        if (bytes != end - begin)
            throw Bad(source, $"tensor \"{name}\" has data_offsets [{begin}, {end}], {end - begin} bytes; its dtype {dtype} and shape {ShapeException.Str(dims)} need {bytes}");
        return new Entry(dtype, dims, numel, begin, end);
    }

    static List<long> ReadIntArray(ref Utf8JsonReader r, string source, string name, string field)
    {
        Next(ref r, source);
        if (r.TokenType != JsonTokenType.StartArray)
            throw Bad(source, $"tensor \"{name}\": {field} must be an array of non-negative integers; got {Describe(r.TokenType)}");
        var list = new List<long>();
        while (true)
        {
            Next(ref r, source);
            if (r.TokenType == JsonTokenType.EndArray) return list;
            if (r.TokenType != JsonTokenType.Number || !r.TryGetInt64(out long v) || v < 0)
                throw Bad(source, $"tensor \"{name}\": {field} must be an array of non-negative integers; found {Token(ref r)}");
            list.Add(v);
        }
    }

    static void Next(ref Utf8JsonReader r, string source)
    {
        if (!r.Read()) throw Bad(source, "the header's JSON ends early");
    }

    static string Token(ref Utf8JsonReader r) =>
        r.TokenType is JsonTokenType.Number or JsonTokenType.String
            ? System.Text.Encoding.UTF8.GetString(r.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(r.ValueSequence) : r.ValueSpan.ToArray())
            : Describe(r.TokenType);

    static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString().ToLower(CultureInfo.InvariantCulture),
    };

    static SafeTensorsException Bad(string source, string problem) => new(source, problem);
}
