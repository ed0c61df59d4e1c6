using Nabla.Data;
using SkiaSharp;

namespace Nabla.Vision;

/// <summary>Reading and writing single images as tensors of shape (C, H, W) with values in [0, 1].</summary>
public static class Image
{
    /// <summary>
    /// Decodes a PNG, JPEG, BMP or WebP file into a float tensor of shape (3, H, W) (RGB), or (1, H, W)
    /// when <paramref name="grayscale"/>, with values in [0, 1] (byte / 255), as torchvision's
    /// <c>ToTensor()</c> after <c>PIL.Image.open(path).convert("RGB")</c>.
    /// </summary>
    /// <remarks>
    /// The alpha channel is dropped. Grayscale is ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B,
    /// as PIL's <c>convert("L")</c>. The dimensions are read from the header and checked against
    /// <paramref name="limits"/> (<see cref="ImageLimits.Default"/> when null) before decoding.
    /// </remarks>
    /// <exception cref="DataFormatException">The file is not a PNG, JPEG, BMP or WebP image, is truncated or corrupt, or is over the limits.</exception>
    public static Tensor Load(string path, bool grayscale = false, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ImageDecoder.Decode(path, grayscale, limits ?? ImageLimits.Default);
    }

    /// <summary>
    /// Writes an image tensor of shape (1, H, W) (grayscale), (3, H, W) (RGB) or (4, H, W) (RGBA)
    /// to <paramref name="path"/> as a PNG. Values are clamped to [0, 1] and rounded to bytes
    /// (round(255 x)), so <see cref="Load"/> of the file gives back the tensor to within 1/510.
    /// </summary>
    public static void Save(Tensor image, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (c, h, w) = ImageTensor.Dims(image, "Image.Save");
        if (c is not (1 or 3 or 4))
            throw new ShapeException("Image.Save", "an image of shape (1, H, W), (3, H, W) or (4, H, W)", image.ShapeString);
        var x = image.Data;
        int plane = h * w;
        var rgba = new byte[plane * 4];
        for (int i = 0, p = 0; i < plane; i++, p += 4)
        {
            if (c == 1)
            {
                byte v = ToByte(x[i]);
                rgba[p] = rgba[p + 1] = rgba[p + 2] = v;
                rgba[p + 3] = 255;
            }
            else
            {
                rgba[p] = ToByte(x[i]);
                rgba[p + 1] = ToByte(x[plane + i]);
                rgba[p + 2] = ToByte(x[2 * plane + i]);
                rgba[p + 3] = c == 4 ? ToByte(x[3 * plane + i]) : (byte)255;
            }
        }
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var file = File.Create(path);
        if (!bitmap.Encode(file, SKEncodedImageFormat.Png, 100))
            throw new IOException($"Image.Save: the PNG encoder failed for '{path}'");
    }

    static byte ToByte(float v) => (byte)MathF.Round(Math.Clamp(float.IsNaN(v) ? 0f : v, 0f, 1f) * 255f);
}
