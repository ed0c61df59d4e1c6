using System.Runtime.InteropServices;
using Nabla.Data;
using SkiaSharp;

namespace Nabla.Vision;

/// <summary>An image file that could not be used, and why.</summary>
/// <param name="Path">The file.</param>
/// <param name="Reason">One line: what is wrong with it.</param>
public sealed record SkippedImage(string Path, string Reason);

/// <summary>
/// A labelled set of image files decoded once, in parallel, resized to one working resolution and
/// kept in memory as bytes (a quarter of the memory of floats): the way to train for many epochs on a
/// folder of photos without decoding a JPEG per sample per epoch.
/// </summary>
/// <remarks>
/// <para>
/// Each image is resized so its shorter side is <see cref="Size"/> (Skia's bilinear filter with
/// mipmaps, so large photos are averaged down, not aliased), then centre-cropped to
/// <see cref="Size"/> x <see cref="Size"/>: torchvision's <c>Resize(s)</c> then <c>CenterCrop(s)</c>.
/// An image that already has that size keeps its bytes exactly.
/// </para>
/// <para>
/// The set has one channel when every image is grey (R = G = B at every pixel: grey PNGs, scans),
/// else three (RGB; a grey image among colour ones has its level repeated in the three). Alpha is dropped.
/// Sample i is (image of shape (<see cref="Channels"/>, S, S) with values byte / 255, class as a scalar).
/// </para>
/// <para>
/// A file that cannot be read or decoded (corrupt, truncated, not an image, over the
/// <see cref="ImageLimits"/>) is not an exception: it is left out and listed in <see cref="Skipped"/> with its reason.
/// </para>
/// </remarks>
public sealed class DecodedImages : IDataset
{
    readonly byte[][] _pixels; // planar, 1 or 3 planes of Size * Size
    readonly int[] _classes;
    readonly string[] _files;

    DecodedImages(byte[][] pixels, int[] classes, string[] files, int size, int channels, SkippedImage[] skipped)
    {
        _pixels = pixels;
        _classes = classes;
        _files = files;
        Size = size;
        Channels = channels;
        Skipped = skipped;
    }

    /// <summary>The side of every image, in pixels.</summary>
    public int Size { get; }

    /// <summary>1 when every image is grey, else 3 (RGB).</summary>
    public int Channels { get; }

    /// <summary>The files that were left out, in the order given, each with its reason.</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; }

    /// <inheritdoc/>
    public int Count => _pixels.Length;

    /// <summary>The bytes the pixels take.</summary>
    public long Bytes => _pixels.Sum(p => (long)p.Length);

    /// <summary>The file sample <paramref name="index"/> was decoded from.</summary>
    public string FileAt(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        return _files[index];
    }

    /// <summary>The class of sample <paramref name="index"/>.</summary>
    public int ClassAt(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        return _classes[index];
    }

    /// <summary>The most memory <paramref name="count"/> colour images of side <paramref name="size"/> take, in bytes.</summary>
    public static long EstimateBytes(int count, int size) => (long)count * 3 * size * size;

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        return new Sample(Image(index), Tensor.Scalar(_classes[index]));
    }

    /// <summary>
    /// Image <paramref name="index"/> as a (C, S, S) tensor in [0, 1]: a grey image in a colour set has
    /// its level in the three channels; a colour image in a one-channel set (<see cref="WithChannels"/>)
    /// becomes its ITU-R 601 luma, as <see cref="Vision.Image.Load"/> with grayscale.
    /// </summary>
    public Tensor Image(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        var bytes = _pixels[index];
        int plane = Size * Size;
        var values = GC.AllocateUninitializedArray<float>(Channels * plane);
        var scale = ImageDecoder.ByteScale;
        if (bytes.Length > Channels * plane)
        {
            for (int i = 0; i < plane; i++)
                values[i] = (0.299f * bytes[i] + 0.587f * bytes[plane + i] + 0.114f * bytes[2 * plane + i]) / 255f;
            return ImageTensor.Wrap(values, 1, Size, Size);
        }
        for (int i = 0; i < bytes.Length; i++) values[i] = scale[bytes[i]];
        for (int c = bytes.Length / plane; c < Channels; c++) values.AsSpan(0, plane).CopyTo(values.AsSpan(c * plane, plane));
        return ImageTensor.Wrap(values, Channels, Size, Size);
    }

    /// <summary>The same images (shared, not copied) served with <paramref name="channels"/> channels: 1 (grey) or 3 (RGB).</summary>
    public DecodedImages WithChannels(int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "DecodedImages: expected 1 or 3 channels");
        return channels == Channels ? this : new DecodedImages(_pixels, _classes, _files, Size, channels, [.. Skipped]);
    }

    /// <summary>
    /// Decodes <paramref name="files"/> (path and class each) with <paramref name="threads"/> threads,
    /// each resized and centre-cropped to <paramref name="size"/> x <paramref name="size"/>.
    /// </summary>
    /// <param name="files">The files and their classes; the samples keep this order, less the skipped files.</param>
    /// <param name="size">The working resolution: the side of every image.</param>
    /// <param name="threads">Files decoded at once.</param>
    /// <param name="limits">The size limits checked before decoding; <see cref="ImageLimits.Default"/> when null.</param>
    /// <param name="progress">Called with the number of files done so far, from any thread, now and then.</param>
    /// <param name="cancel">Stops the decoding (an <see cref="OperationCanceledException"/>).</param>
    public static DecodedImages Decode(IReadOnlyList<(string Path, int Class)> files, int size, int threads = 1,
        ImageLimits? limits = null, Action<int>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        limits ??= ImageLimits.Default;
        var pixels = new byte[]?[files.Count];
        var reasons = new string?[files.Count];
        int done = 0;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancel }, i =>
        {
            try
            {
                pixels[i] = DecodeOne(files[i].Path, size, limits);
            }
            catch (DataFormatException e)
            {
                reasons[i] = e.Message;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                reasons[i] = $"image file '{files[i].Path}': cannot be read ({e.Message})";
            }
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n % 64 == 0 || n == files.Count)) progress(n);
        });
        var kept = Enumerable.Range(0, files.Count).Where(i => pixels[i] is not null).ToArray();
        int plane = size * size;
        int channels = kept.Any(i => pixels[i]!.Length > plane) ? 3 : 1;
        return new DecodedImages(
            [.. kept.Select(i => pixels[i]!)], [.. kept.Select(i => files[i].Class)], [.. kept.Select(i => files[i].Path)], size, channels,
            [.. Enumerable.Range(0, files.Count).Where(i => reasons[i] is not null).Select(i => new SkippedImage(files[i].Path, reasons[i]!))]);
    }

    /// <summary>One file as planar bytes: one plane when grey, else three.</summary>
    static byte[] DecodeOne(string path, int size, ImageLimits limits)
    {
        var (rgba, width, height) = ImageDecoder.DecodeRgba(BoundedFile.ReadAllBytes(path, limits.MaxFileBytes, "image"), path, limits);
        if (width != size || height != size) (rgba, width, height) = ResizeAndCrop(rgba, width, height, size);
        int plane = size * size;
        bool grey = true;
        for (int p = 0; p < rgba.Length && grey; p += 4) grey = rgba[p] == rgba[p + 1] && rgba[p] == rgba[p + 2];
        var planes = new byte[(grey ? 1 : 3) * plane];
        for (int i = 0, p = 0; i < plane; i++, p += 4)
        {
            planes[i] = rgba[p];
            if (grey) continue;
            planes[plane + i] = rgba[p + 1];
            planes[2 * plane + i] = rgba[p + 2];
        }
        return planes;
    }

    /// <summary>Shorter side to <paramref name="size"/> (aspect kept), then the centred <paramref name="size"/> x <paramref name="size"/> square.</summary>
    static (byte[] Rgba, int Width, int Height) ResizeAndCrop(byte[] rgba, int width, int height, int size)
    {
        double scale = (double)size / Math.Min(width, height);
        int w = Math.Max(size, (int)Math.Round(width * scale)), h = Math.Max(size, (int)Math.Round(height * scale));
        using var source = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, source.GetPixels(), rgba.Length);
        using var resized = source.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new DataFormatException("image", "", $"Skia could not resize a {width} x {height} image to {w} x {h}");
        var all = new byte[w * h * 4];
        Marshal.Copy(resized.GetPixels(), all, 0, all.Length);
        int x0 = (w - size) / 2, y0 = (h - size) / 2;
        var crop = new byte[size * size * 4];
        for (int y = 0; y < size; y++) Array.Copy(all, ((y0 + y) * w + x0) * 4, crop, y * size * 4, size * 4);
        return (crop, size, size);
    }

    /// <summary>The width and height an image file's header declares, or null when it is not an image Skia reads.</summary>
    public static (int Width, int Height)? ReadSize(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var codec = SKCodec.Create(stream);
            return codec is null ? null : (codec.Info.Width, codec.Info.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
