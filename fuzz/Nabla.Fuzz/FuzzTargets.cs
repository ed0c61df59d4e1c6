using System.IO.Compression;
using Nabla.Cli;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Serialization;
using Nabla.Vision;

namespace Nabla.Fuzz;

/// <summary>
/// One fuzz target per reader that takes outside bytes, with a seed corpus of valid files for each.
/// A target may throw only the reader's own error type (<see cref="Expected"/>): anything else (an
/// IndexOutOfRange, an Overflow, an OutOfMemory, a hang) is a finding. Shared by the AFL++ harness
/// (fuzz/run.sh) and the seeded mutation test that CI runs (tests/Nabla.Cli.Tests/FuzzTargetTests.cs).
/// </summary>
public static class FuzzTargets
{
    /// <summary>The targets by name.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["idx"] = bytes => WithFile(bytes, ".idx", path => Idx.Read(path, maxElements: 1 << 22)),
        ["idx-gz"] = bytes => WithFile(bytes, ".idx.gz", path => Idx.Read(path, maxElements: 1 << 22)),
        ["safetensors"] = bytes =>
        {
            using var file = SafeTensorsFile.Read(new MemoryStream(bytes), "fuzz");
            foreach (var name in file.Names) file.ReadTensor(name);
        },
        ["image"] = bytes => WithFile(bytes, ".img", path => Image.Load(path, limits: new ImageLimits(MaxSide: 2048, MaxPixels: 1 << 20, MaxFileBytes: 1 << 20))),
        ["config"] = bytes => WithFile(bytes, ".json", path => TrainConfig.From(TrainConfig.ReadFile(path))),
        ["csv"] = bytes => WithFile(bytes, ".csv", path => Csv.Read(path)),
        ["onnx"] = bytes => OnnxModule.Load(bytes),
    };

    /// <summary>The errors a reader promises for bad input: one clear message, nothing else.</summary>
    public static bool Expected(Exception e) =>
        e is DataFormatException or SafeTensorsException or OnnxImportException or CliException;

    /// <summary>Runs <paramref name="target"/> on <paramref name="bytes"/>, swallowing the expected errors.</summary>
    public static void RunOne(Action<byte[]> target, byte[] bytes)
    {
        try
        {
            target(bytes);
        }
        catch (Exception e) when (Expected(e))
        {
        }
    }

    [ThreadStatic] static string? _scratch;

    // The path readers get the bytes through one scratch file per thread.
    static void WithFile(byte[] bytes, string extension, Action<string> read)
    {
        _scratch ??= Path.Combine(Path.GetTempPath(), $"nabla-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
        string path = _scratch + extension;
        File.WriteAllBytes(path, bytes);
        try { read(path); }
        finally { File.Delete(path); }
    }

    /// <summary>Valid files for each target, the start of its corpus.</summary>
    public static IReadOnlyDictionary<string, byte[][]> Seeds()
    {
        var g = new Generator(7);
        byte[] IdxBytes(byte type, int[] dims, int elementSize)
        {
            var ms = new MemoryStream();
            ms.Write([0, 0, type, (byte)dims.Length]);
            foreach (int d in dims) ms.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
            var body = new byte[dims.Aggregate(1, (a, b) => a * b) * elementSize];
            for (int i = 0; i < body.Length; i++) body[i] = (byte)(i * 37 % 10);
            ms.Write(body);
            return ms.ToArray();
        }
        static byte[] Gzip(byte[] raw)
        {
            var ms = new MemoryStream();
            using (var z = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
            return ms.ToArray();
        }
        byte[][] idx = [IdxBytes(0x08, [3, 4, 4], 1), IdxBytes(0x08, [5], 1), IdxBytes(0x0D, [2, 3], 4)];

        var st = new MemoryStream();
        SafeTensors.Save(st, new Dictionary<string, Tensor> { ["w"] = Tensor.Rand([2, 3], g), ["b"] = Tensor.Zeros(3), ["s"] = Tensor.Scalar(1.5f) },
            new Dictionary<string, string> { ["format"] = "pt" });

        byte[] Encode(SkiaSharp.SKEncodedImageFormat format)
        {
            using var bitmap = new SkiaSharp.SKBitmap(9, 7);
            for (int y = 0; y < 7; y++)
                for (int x = 0; x < 9; x++) bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)(x * 28), (byte)(y * 36), 90));
            using var data = bitmap.Encode(format, 90);
            return data.ToArray();
        }
        byte[] bmp = Bmp();

        var config = System.Text.Encoding.UTF8.GetBytes(TrainConfig.From(new System.Text.Json.Nodes.JsonObject()).ToJson().ToJsonString());
        var csv = System.Text.Encoding.UTF8.GetBytes("a,b,label\n0.5,1,0\n2,3.25,1\n-1,0,1\n");
        var onnx = OnnxExport.ToBytes(new Sequential(new Conv2d(1, 2, 3, padding: 1, generator: g), new Relu(), new Flatten(), new Linear(2 * 4 * 4, 3, generator: g)), [1, 1, 4, 4]);
        return new Dictionary<string, byte[][]>
        {
            ["idx"] = idx,
            ["idx-gz"] = [.. idx.Select(Gzip)],
            ["safetensors"] = [st.ToArray()],
            ["image"] = [Encode(SkiaSharp.SKEncodedImageFormat.Png), Encode(SkiaSharp.SKEncodedImageFormat.Jpeg), Encode(SkiaSharp.SKEncodedImageFormat.Webp), bmp],
            ["config"] = [config, "{\"model\": \"cnn\", \"epochs\": 3, \"lr\": 0.01}"u8.ToArray()],
            ["csv"] = [csv],
            ["onnx"] = [onnx],
        };
    }

    /// <summary>A 2 x 2 24-bit BMP (Skia encodes no BMP).</summary>
    static byte[] Bmp()
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        int rowBytes = 8, size = 54 + rowBytes * 2;
        w.Write((byte)'B'); w.Write((byte)'M'); w.Write(size); w.Write(0); w.Write(54);
        w.Write(40); w.Write(2); w.Write(2); w.Write((short)1); w.Write((short)24); w.Write(0); w.Write(rowBytes * 2); w.Write(2835); w.Write(2835); w.Write(0); w.Write(0);
        w.Write(new byte[] { 0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0 });
        return ms.ToArray();
    }
}
