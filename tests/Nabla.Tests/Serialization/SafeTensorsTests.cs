using System.Buffers.Binary;
using System.IO.Compression;
using Nabla.Serialization;

namespace Nabla.Tests.SerializationTests;

public sealed class SafeTensorsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>A file from a header written as text and raw data bytes, with the header length as given (or the true one).</summary>
    string Craft(string header, byte[] data, ulong? headerLength = null, string name = "crafted.safetensors")
    {
        var path = PathOf(name);
        File.WriteAllBytes(path, SafeTensorsBytes.Build(header, data, headerLength));
        return path;
    }

    static byte[] Floats(params float[] v) => SafeTensorsBytes.Floats(v);

    /// <summary>Asserts that loading fails with a message naming the file and containing <paramref name="problem"/>.</summary>
    static SafeTensorsException Rejects(string path, string problem)
    {
        var e = Assert.Throws<SafeTensorsException>(() => SafeTensors.Load(path));
        Assert.StartsWith($"safetensors file '{path}': ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FileName);
        return e;
    }

    // ---- round trip ------------------------------------------------------------------------

    [Fact]
    public void RoundTrip_KeepsNamesOrderShapesValuesAndMetadata()
    {
        var a = Tensor.FromArray([1f, -2.5f, 3e-38f, float.NaN, float.PositiveInfinity, -0f], 2, 3);
        var scalar = Tensor.Scalar(7.25f);
        var empty = Tensor.Zeros(0, 4);
        var b = Tensor.FromArray([0.1f, 0.2f, 0.3f]);
        var path = PathOf("model.safetensors");
        SafeTensors.Save(path, [new("z.weight", a), new("scalar", scalar), new("empty", empty), new("a.bias", b)],
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo \"quoted\"" });

        var loaded = SafeTensors.Load(path);
        Assert.Equal(["z.weight", "scalar", "empty", "a.bias"], loaded.Keys);
        Assert.Equal([2, 3], loaded["z.weight"].Shape.ToArray());
        Assert.Equal([], loaded["scalar"].Shape.ToArray());
        Assert.Equal([0, 4], loaded["empty"].Shape.ToArray());
        Assert.Equal(BitsOf(a), BitsOf(loaded["z.weight"]));
        Assert.Equal(7.25f, loaded["scalar"].Item());
        Assert.Equal(BitsOf(b), BitsOf(loaded["a.bias"]));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("F32", file.DType("z.weight"));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("héllo \"quoted\"", file.Metadata["note"]);
        Assert.Equal(new double[] { 0.1f, 0.2f, 0.3f }, file.ReadDouble("a.bias"));
        // The data is 8-byte aligned: the header length is padded to a multiple of 8.
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path)) % 8);
    }

    static int[] BitsOf(Tensor t) => t.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void Save_ReplacesAnExistingFileAndLeavesNoTemporaryFile()
    {
        var path = PathOf("m.safetensors");
        SafeTensors.Save(path, [new("w", Tensor.Ones(3))]);
        SafeTensors.Save(path, [new("v", Tensor.Full([2], 5f))]);
        var loaded = SafeTensors.Load(path);
        Assert.Equal(["v"], loaded.Keys);
        Assert.Equal([5f, 5f], loaded["v"].ToArray());
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void RoundTrip_StateDictIntoAModule()
    {
        var src = new Nn.Sequential(new Nn.Linear(3, 4, generator: new Generator(1)), new Nn.Linear(4, 2, generator: new Generator(2)));
        var dst = new Nn.Sequential(new Nn.Linear(3, 4, generator: new Generator(3)), new Nn.Linear(4, 2, generator: new Generator(4)));
        var path = PathOf("seq.safetensors");
        SafeTensors.Save(path, src.StateDict());
        dst.LoadStateDict(SafeTensors.Load(path));
        foreach (var (key, t) in src.StateDict()) Assert.Equal(t.ToArray(), dst.StateDict()[key].ToArray());
    }

    [Fact]
    public void Stream_SaveAndLoad_IncludingANonSeekableStream()
    {
        var ms = new MemoryStream();
        SafeTensors.Save(ms, [new("x", Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2))]);
        ms.Position = 0;
        Assert.Equal([1f, 2f, 3f, 4f], SafeTensors.Load(ms)["x"].ToArray());

        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionMode.Compress, leaveOpen: true)) z.Write(ms.ToArray());
        gz.Position = 0;
        using var unzip = new GZipStream(gz, CompressionMode.Decompress);
        Assert.Equal([1f, 2f, 3f, 4f], SafeTensors.Load(unzip, "model.safetensors.gz")["x"].ToArray());
    }

    [Fact]
    public void ReadDouble_IsExactForF64_AndOtherDTypesConvert()
    {
        double[] f64 = [0.1, 1e-300, -2.5, Math.PI];
        var data = new byte[8 * 4 + 8 * 2 + 2 * 2 + 2 * 2 + 4];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * i), f64[i]);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(32), 3);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(40), -7);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(48), (Half)1.5);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(50), (Half)(-0.25));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(52), 0x3FC0); // bfloat16 1.5
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(54), 0xC000); // bfloat16 -2
        data[56] = 255; data[57] = 0; data[58] = 1; data[59] = 0x80;
        var path = Craft("""
            {"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},
             "i":{"dtype":"I64","shape":[2],"data_offsets":[32,48]},
             "h":{"dtype":"F16","shape":[2],"data_offsets":[48,52]},
             "b":{"dtype":"BF16","shape":[2],"data_offsets":[52,56]},
             "u":{"dtype":"U8","shape":[2],"data_offsets":[56,58]},
             "s":{"dtype":"I8","shape":[2],"data_offsets":[58,60]}}
            """, data);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["d", "i", "h", "b", "u", "s"], file.Names);
        Assert.Equal("F64", file.DType("d"));
        Assert.Equal([2, 2], file.Shape("d"));
        Assert.Equal(f64, file.ReadDouble("d"));
        Assert.Equal([0.1f, 0f, -2.5f, MathF.PI], file.ReadFloat("d"));
        Assert.Equal([3.0, -7.0], file.ReadDouble("i"));
        Assert.Equal([3f, -7f], file.ReadTensor("i").ToArray());
        Assert.Equal([1.5, -0.25], file.ReadDouble("h"));
        Assert.Equal([1.5, -2.0], file.ReadDouble("b"));
        Assert.Equal([255.0, 0.0], file.ReadDouble("u"));
        Assert.Equal([1.0, -128.0], file.ReadDouble("s"));
        var e = Assert.Throws<KeyNotFoundException>(() => file.ReadDouble("nope"));
        Assert.Equal($"safetensors file '{path}': no tensor named \"nope\"", e.Message);
    }

    [Fact]
    public void EmptyHeader_IsAValidFileWithNoTensors()
    {
        var path = Craft("{}      ", []);
        Assert.Empty(SafeTensors.Load(path));
    }

    // ---- corruption ------------------------------------------------------------------------

    const string Valid = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""";

    [Fact]
    public void Rejects_FileShorterThanTheLengthPrefix()
    {
        var path = PathOf("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Rejects(path, "the file is 3 bytes, too short for the 8-byte header length");
    }

    [Fact]
    public void Rejects_TruncatedData()
    {
        var path = Craft(Valid, Floats(1, 2, 3)[..^2]);
        Rejects(path, "the tensors need 12 bytes of data but the file holds 10 after the header (truncated?)");
    }

    [Fact]
    public void Rejects_TrailingBytes()
    {
        var path = Craft(Valid, [.. Floats(1, 2, 3), 0, 0]);
        Rejects(path, "2 unexpected bytes after the last tensor's data");
    }

    [Fact]
    public void Rejects_HugeHeaderLength()
    {
        var path = Craft(Valid, Floats(1, 2, 3), headerLength: 1UL << 40);
        Rejects(path, $"header length {1UL << 40} exceeds the limit of 100000000 bytes");
        path = Craft(Valid, Floats(1, 2, 3), headerLength: ulong.MaxValue);
        Rejects(path, $"header length {ulong.MaxValue} exceeds the limit");
    }

    [Fact]
    public void Rejects_HeaderLengthPastTheEndOfTheFile()
    {
        var path = Craft(Valid, Floats(1, 2, 3), headerLength: 5000);
        var len = new FileInfo(path).Length;
        Rejects(path, $"header length 5000 runs past the end of the file ({len} bytes; at most {len - 8} available)");
    }

    [Fact]
    public void Rejects_OverlappingOffsets()
    {
        var path = Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""",
            Floats(1, 2, 3));
        Rejects(path, "tensor \"b\" (data_offsets [4, 12]) overlaps tensor \"a\", which ends at 8");
    }

    [Fact]
    public void Rejects_TwoTensorsOnTheSameBytes()
    {
        var path = Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""",
            Floats(1, 2));
        Rejects(path, "overlaps tensor");
    }

    [Fact]
    public void Rejects_GapBetweenTensors()
    {
        var path = Craft("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""",
            Floats(1, 2, 3));
        Rejects(path, "gap of 4 bytes between tensor \"a\" (ends at 4) and tensor \"b\" (begins at 8)");
    }

    [Fact]
    public void Rejects_DataNotStartingAtZero()
    {
        var path = Craft("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(1, 2));
        Rejects(path, "the data does not start at offset 0: the first tensor, \"a\", begins at 4");
    }

    [Fact]
    public void Rejects_SizeMismatch()
    {
        var path = Craft("""{"w":{"dtype":"F32","shape":[4,8],"data_offsets":[0,96]}}""", new byte[96]);
        Rejects(path, "tensor \"w\" has data_offsets [0, 96], 96 bytes; its dtype F32 and shape [4, 8] need 128");
    }

    [Fact]
    public void Rejects_ShapeWhoseByteSizeOverflows()
    {
        var path = Craft("""{"w":{"dtype":"F64","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", new byte[8]);
        Rejects(path, "tensor \"w\": shape [2147483647, 2147483647, 2147483647] has more elements than 64-bit arithmetic can count");
        path = Craft("""{"w":{"dtype":"F32","shape":[3000000000],"data_offsets":[0,8]}}""", new byte[8]);
        Rejects(path, "tensor \"w\": dimension 3000000000 exceeds the largest Nabla supports (2147483647)");
    }

    [Fact]
    public void Rejects_UnknownDType()
    {
        var path = Craft("""{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        Rejects(path, "tensor \"w\": unknown or unsupported dtype \"F33\" (Nabla reads BOOL, U8, I8");
    }

    [Fact]
    public void Rejects_DuplicateKey()
    {
        var path = Craft("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
            new byte[8]);
        Rejects(path, "duplicate key \"w\" in the header");
    }

    [Fact]
    public void Rejects_DuplicateFieldAndMetadataKey()
    {
        var path = Craft("""{"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        Rejects(path, "tensor \"w\": duplicate field \"dtype\"");
        path = Craft("""{"__metadata__":{"k":"1","k":"2"}}""", []);
        Rejects(path, "duplicate key \"k\" in \"__metadata__\"");
    }

    [Fact]
    public void Rejects_NotJson()
    {
        Rejects(Craft("{not json}", []), "the header is not valid JSON: ");
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""", new byte[4]), "the header is not valid JSON: ");
        Rejects(Craft("""{} x""", []), "the header is not valid JSON: ");
    }

    [Fact]
    public void Rejects_HeaderThatIsNotAnObject()
    {
        Rejects(Craft("[1, 2]", []), "the header does not start with '{' (byte 0x5B); it is not a JSON object");
        Rejects(Craft("""{"w":[1]}""", []), "tensor \"w\": expected an object with dtype, shape and data_offsets; got an array");
    }

    [Fact]
    public void Rejects_EntryFieldsMissingUnknownOrMalformed()
    {
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[1]}}""", []), "tensor \"w\": missing \"data_offsets\"");
        Rejects(Craft("""{"w":{"shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "tensor \"w\": missing \"dtype\"");
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}""", new byte[4]),
            "tensor \"w\": unknown field \"extra\" (expected exactly dtype, shape and data_offsets)");
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]),
            "tensor \"w\": shape must be an array of non-negative integers; found -1");
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", new byte[4]),
            "tensor \"w\": data_offsets must hold 2 numbers [begin, end]; got 3");
        Rejects(Craft("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", new byte[4]),
            "tensor \"w\": data_offsets [8, 4] end before they begin");
        Rejects(Craft("""{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}""", new byte[4]),
            "tensor \"w\": dtype must be a string; got a number");
    }

    [Fact]
    public void Rejects_MetadataThatIsNotAStringMap()
    {
        Rejects(Craft("""{"__metadata__":{"epoch":3}}""", []), "\"__metadata__\" must map strings to strings; \"epoch\" holds a number");
        Rejects(Craft("""{"__metadata__":[]}""", []), "\"__metadata__\" must be an object of strings; got an array");
    }

    // ---- save errors -----------------------------------------------------------------------

    [Fact]
    public void Save_RejectsBadNamesAndMissingFolder()
    {
        var path = PathOf("x.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("a", Tensor.Ones(1)), new("a", Tensor.Ones(2))]));
        Assert.StartsWith("SafeTensors.Save: duplicate tensor name \"a\"", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("__metadata__", Tensor.Ones(1))]));
        Assert.StartsWith("SafeTensors.Save: the name \"__metadata__\" is reserved", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("", Tensor.Ones(1))]));
        Assert.StartsWith("SafeTensors.Save: expected non-empty tensor names", e.Message, StringComparison.Ordinal);
        var missing = Path.Combine(_dir, "no-such-folder", "x.safetensors");
        var d = Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(missing, [new("a", Tensor.Ones(1))]));
        Assert.Equal($"SafeTensors.Save: the folder '{Path.GetDirectoryName(missing)}' does not exist", d.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
