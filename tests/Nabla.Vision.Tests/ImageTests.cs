using Nabla.Data;

namespace Nabla.Vision.Tests.ImageTests;

public class ImageLoadSaveTests
{
    [Fact]
    public void Load_RealPhotograph_Is3x300x451InUnitRange()
    {
        var img = TestData.ChelseaImage;
        Assert.Equal([3, 300, 451], img.Shape.ToArray());
        float min = float.MaxValue, max = float.MinValue;
        foreach (var v in img.Data) { min = Math.Min(min, v); max = Math.Max(max, v); }
        Assert.True(min >= 0 && max <= 1, $"range [{min}, {max}]");
        Assert.True(max - min > 0.5f, "a photograph has contrast");
        // Every value is a byte / 255.
        foreach (var v in img.Data.Slice(0, 1000)) Assert.Equal(MathF.Round(v * 255), v * 255, 3);
    }

    [Fact]
    public void Load_Grayscale_IsLumaOfRgb()
    {
        var rgb = TestData.ChelseaImage;
        var gray = Image.Load(TestData.Chelsea, grayscale: true);
        Assert.Equal([1, 300, 451], gray.Shape.ToArray());
        foreach (var (y, x) in new[] { (0, 0), (150, 225), (299, 450), (37, 401) })
        {
            float expected = 0.299f * TestData.At(rgb, 0, y, x) + 0.587f * TestData.At(rgb, 1, y, x) + 0.114f * TestData.At(rgb, 2, y, x);
            Assert.Equal(expected, TestData.At(gray, 0, y, x), 5);
        }
    }

    [Fact]
    public void SaveThenLoad_RoundTripsExactlyForByteValues()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "copy.png");
        Image.Save(TestData.ChelseaImage, path);
        var back = Image.Load(path);
        Assert.Equal(TestData.ChelseaImage.Shape.ToArray(), back.Shape.ToArray());
        Assert.Equal(TestData.ChelseaImage.ToArray(), back.ToArray());
    }

    [Fact]
    public void Save_Grayscale_ClampsAndRoundsToBytes()
    {
        var path = Path.Combine(TestData.TempDir(), "g.png");
        Image.Save(Tensor.FromArray([-1f, 0.5f, 2f, 0.25f], 1, 2, 2), path);
        var back = Image.Load(path, grayscale: true);
        Assert.Equal([0f, 128 / 255f, 1f, 64 / 255f], back.ToArray(), (a, b) => MathF.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void Save_TwoChannels_Throws()
    {
        var ex = Assert.Throws<ShapeException>(() => Image.Save(Tensor.Zeros(2, 4, 4), Path.Combine(TestData.TempDir(), "x.png")));
        Assert.Equal("Image.Save: expected an image of shape (1, H, W), (3, H, W) or (4, H, W); got [2, 4, 4]", ex.Message);
    }

    [Fact]
    public void Load_RandomBytesNamedPng_ThrowsDataFormatExceptionNamingTheFile()
    {
        var path = Path.Combine(TestData.TempDir(), "noise.png");
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<DataFormatException>(() => Image.Load(path));
        Assert.Equal($"image file '{path}': not a PNG, JPEG, BMP or WebP image (no decoder recognises its header)", ex.Message);
        Assert.Equal(path, ex.FileName);
    }

    [Fact]
    public void Load_TruncatedPng_ThrowsDataFormatException()
    {
        var bytes = File.ReadAllBytes(TestData.Chelsea);
        var path = Path.Combine(TestData.TempDir(), "half.png");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var ex = Assert.Throws<DataFormatException>(() => Image.Load(path));
        Assert.Equal($"image file '{path}': the Png data ends early (truncated file): the header declares 451 x 300 pixels", ex.Message);
    }

    [Fact]
    public void Load_OverTheSideLimit_ThrowsBeforeDecoding()
    {
        var path = Path.Combine(TestData.TempDir(), "wide.png");
        Image.Save(Tensor.Zeros(3, 10, 300), path);
        var ex = Assert.Throws<DataFormatException>(() => Image.Load(path, limits: new ImageLimits(MaxSide: 256, MaxPixels: 1 << 20)));
        Assert.Equal($"image file '{path}': the header declares 300 x 10 pixels, over the limit of 256 pixels a side and 1048576 pixels in all", ex.Message);
        Assert.Equal([3, 10, 300], Image.Load(path).Shape.ToArray()); // within the default limits
    }

    [Fact]
    public void Load_OverThePixelLimit_Throws()
    {
        var path = Path.Combine(TestData.TempDir(), "big.png");
        Image.Save(Tensor.Zeros(1, 100, 100), path);
        var ex = Assert.Throws<DataFormatException>(() => Image.Load(path, limits: new ImageLimits(MaxSide: 1000, MaxPixels: 9999)));
        Assert.Contains("100 x 100 pixels, over the limit of 1000 pixels a side and 9999 pixels in all", ex.Message);
        Assert.Equal([3, 100, 100], Image.Load(path, limits: new ImageLimits(MaxSide: 100, MaxPixels: 10000)).Shape.ToArray());
    }

    [Fact]
    public void Load_Jpeg_DecodesCloseToTheSource()
    {
        var path = Path.Combine(TestData.TempDir(), "c.jpg");
        using (var bitmap = SkiaSharp.SKBitmap.Decode(TestData.Chelsea))
        using (var f = File.Create(path))
            Assert.True(bitmap.Encode(f, SkiaSharp.SKEncodedImageFormat.Jpeg, 95));
        var img = Image.Load(path);
        Assert.Equal([3, 300, 451], img.Shape.ToArray());
        double diff = 0;
        var a = img.Data; var b = TestData.ChelseaImage.Data;
        for (int i = 0; i < a.Length; i++) diff += Math.Abs(a[i] - b[i]);
        Assert.True(diff / a.Length < 0.03, $"mean abs diff {diff / a.Length}");
    }

    [Fact]
    public void Load_Bmp_DecodesExactly()
    {
        // A 2 x 2, 24-bit BMP written by hand: rows bottom-up, BGR, each row padded to 4 bytes.
        byte[] pixels =
        [
            0, 0, 255, 0, 255, 0, 0, 0,      // bottom row: red, green (+2 padding)
            255, 0, 0, 10, 20, 30, 0, 0,     // top row: blue, (R 30, G 20, B 10)
        ];
        var bmp = new List<byte>();
        void U16(int v) => bmp.AddRange(BitConverter.GetBytes((ushort)v));
        void U32(int v) => bmp.AddRange(BitConverter.GetBytes(v));
        bmp.AddRange("BM"u8.ToArray()); U32(54 + pixels.Length); U32(0); U32(54);
        U32(40); U32(2); U32(2); U16(1); U16(24); U32(0); U32(pixels.Length); U32(2835); U32(2835); U32(0); U32(0);
        bmp.AddRange(pixels);
        var path = Path.Combine(TestData.TempDir(), "tiny.bmp");
        File.WriteAllBytes(path, bmp.ToArray());
        var img = Image.Load(path);
        Assert.Equal([3, 2, 2], img.Shape.ToArray());
        // (C, H, W): top row blue then (30, 20, 10); bottom row red then green.
        float[] expected = [0, 30, 255, 0, /* G */ 0, 20, 0, 255, /* B */ 255, 10, 0, 0];
        Assert.Equal(expected.Select(v => v / 255f).ToArray(), img.ToArray());
    }
}

public class ImageFormatTests
{
    [Fact]
    public void Load_WebP_DecodesTheSamePictureAsThePng()
    {
        var path = Path.Combine(TestData.TempDir(), "c.webp");
        using (var bitmap = SkiaSharp.SKBitmap.Decode(TestData.Chelsea))
        using (var f = File.Create(path))
            Assert.True(bitmap.Encode(f, SkiaSharp.SKEncodedImageFormat.Webp, 100));
        var webp = Image.Load(path).ToArray();
        var png = Image.Load(TestData.Chelsea).ToArray();
        Assert.Equal(png.Length, webp.Length);
        // Lossy at quality 100: the mean error is small, far below a different picture's.
        double error = 0;
        for (int i = 0; i < png.Length; i++) error += Math.Abs(png[i] - webp[i]);
        Assert.InRange(error / png.Length, 0, 0.02);
    }
}
