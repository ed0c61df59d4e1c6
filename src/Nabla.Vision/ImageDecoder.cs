using System.Runtime.InteropServices;
using Nabla.Data;
using SkiaSharp;

namespace Nabla.Vision;

/// <summary>Decodes PNG, JPEG, BMP and WebP files into (C, H, W) tensors in [0, 1], header checked first.</summary>
internal static class ImageDecoder
{
    const string Format = "image";

    /// <summary>Decodes <paramref name="path"/>: 3 channels (RGB) or 1 (grayscale, ITU-R 601 luma).</summary>
    public static Tensor Decode(string path, bool grayscale, ImageLimits limits)
    {
        var bytes = BoundedFile.ReadAllBytes(path, limits.MaxFileBytes, Format);
        var (rgba, width, height) = DecodeRgba(bytes, path, limits);
        return ToTensor(rgba, width, height, grayscale);
    }

    /// <summary>The dimensions read from the header, checked against the limits; then the pixels as RGBA bytes.</summary>
    internal static (byte[] Rgba, int Width, int Height) DecodeRgba(byte[] bytes, string name, ImageLimits limits)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException(Format, name, KnownSignature(bytes) is string kind
                ? $"a truncated or corrupt {kind}: its header cannot be read"
                : "not a PNG, JPEG, BMP or WebP image (no decoder recognises its header)");
        var encoded = codec.EncodedFormat;
        if (encoded is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Bmp or SKEncodedImageFormat.Webp))
            throw new DataFormatException(Format, name, $"unsupported image format {encoded}; expected PNG, JPEG, BMP or WebP");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0)
            throw new DataFormatException(Format, name, $"the header declares an empty image of {width} x {height} pixels");
        if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
            throw new DataFormatException(Format, name,
                $"the header declares {width} x {height} pixels, over the limit of {limits.MaxSide} pixels a side and {limits.MaxPixels} pixels in all");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = GC.AllocateUninitializedArray<byte>(checked(width * height * 4));
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject()); }
        finally { handle.Free(); }
        if (result == SKCodecResult.IncompleteInput)
            throw new DataFormatException(Format, name, $"the {encoded} data ends early (truncated file): the header declares {width} x {height} pixels");
        if (result != SKCodecResult.Success)
            throw new DataFormatException(Format, name, $"the {encoded} data could not be decoded ({result})");
        return (rgba, width, height);
    }

    /// <summary>The format whose signature the file starts with, or null.</summary>
    static string? KnownSignature(byte[] b) =>
        b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? "JPEG"
        : b.Length >= 4 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G' ? "PNG"
        : b.Length >= 2 && b[0] == (byte)'B' && b[1] == (byte)'M' ? "BMP"
        : b.Length >= 12 && b[0] == (byte)'R' && b[1] == (byte)'I' && b[2] == (byte)'F' && b[3] == (byte)'F' && b[8] == (byte)'W' && b[9] == (byte)'E' && b[10] == (byte)'B' && b[11] == (byte)'P' ? "WebP"
        : null;

    /// <summary>
    /// b / 255 for every byte b: exactly torchvision's <c>ToTensor</c> values (a division, not a
    /// multiplication by 1/255, which differs in the last bit for some bytes), and a table lookup is faster.
    /// </summary>
    internal static readonly float[] ByteScale = MakeByteScale();

    static float[] MakeByteScale()
    {
        var t = new float[256];
        for (int i = 0; i < t.Length; i++) t[i] = i / 255f;
        return t;
    }

    /// <summary>RGBA bytes to a (3, H, W) or (1, H, W) tensor in [0, 1]; alpha is dropped.</summary>
    internal static Tensor ToTensor(byte[] rgba, int width, int height, bool grayscale)
    {
        int plane = width * height;
        var scale = ByteScale;
        if (grayscale)
        {
            var gray = GC.AllocateUninitializedArray<float>(plane);
            for (int i = 0, p = 0; i < plane; i++, p += 4)
                gray[i] = (0.299f * rgba[p] + 0.587f * rgba[p + 1] + 0.114f * rgba[p + 2]) / 255f;
            return ImageTensor.Wrap(gray, 1, height, width);
        }
        var rgb = GC.AllocateUninitializedArray<float>(3 * plane);
        for (int i = 0, p = 0; i < plane; i++, p += 4)
        {
            rgb[i] = scale[rgba[p]];
            rgb[plane + i] = scale[rgba[p + 1]];
            rgb[2 * plane + i] = scale[rgba[p + 2]];
        }
        return ImageTensor.Wrap(rgb, 3, height, width);
    }
}
