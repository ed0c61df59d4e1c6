using Nabla.Data;

namespace Nabla.Vision;

/// <summary>
/// A classification dataset of image files laid out one sub-folder per class, as torchvision's
/// <c>ImageFolder</c>: <c>root/cat/001.png</c>, <c>root/dog/xyz.jpg</c>, ...
/// </summary>
/// <remarks>
/// Classes are the sub-folder names sorted ordinally (as Python's <c>sorted</c>), numbered from 0;
/// the files of each class are found recursively (folders and file names sorted ordinally), so
/// indices match PyTorch's for the same tree. Files ending in .png, .jpg, .jpeg, .bmp or .webp (any case)
/// are samples; other files are ignored.
/// Sample i is (image, class): the image of shape (3, H, W), or (1, H, W) with grayscale, with values
/// in [0, 1]; the class a scalar tensor. Images are decoded on each <see cref="Get"/> (nothing is
/// cached), so a loader's workers decode in parallel. Images may differ in size: resize or crop them
/// (with <see cref="TransformedDataset"/>) before batching.
/// </remarks>
public sealed class ImageFolder : IDataset
{
    static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];

    readonly (string Path, int Class)[] _samples;

    /// <summary>Scans <paramref name="root"/> for class folders and their image files.</summary>
    /// <param name="root">The folder holding one sub-folder per class.</param>
    /// <param name="grayscale">Load images as one channel (luma) instead of three (RGB).</param>
    /// <param name="limits">The size limits checked before decoding; <see cref="ImageLimits.Default"/> when null.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">There is no class folder, or a class folder holds no image file.</exception>
    public ImageFolder(string root, bool grayscale = false, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"ImageFolder: the root folder '{root}' does not exist");
        Root = root;
        Grayscale = grayscale;
        Limits = limits ?? ImageLimits.Default;

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(classes, StringComparer.Ordinal);
        if (classes.Length == 0)
            throw new FileNotFoundException($"ImageFolder: couldn't find any class folder in '{root}'");
        Classes = classes;

        var samples = new List<(string, int)>();
        var empty = new List<string>();
        for (int c = 0; c < classes.Length; c++)
        {
            int before = samples.Count;
            foreach (var file in ClassFiles(Path.Combine(root, classes[c])))
                samples.Add((file, c));
            if (samples.Count == before) empty.Add(classes[c]);
        }
        if (empty.Count > 0)
            throw new FileNotFoundException(
                $"ImageFolder: found no valid file for the classes {string.Join(", ", empty)} in '{root}'. Supported extensions are: {string.Join(", ", Extensions)}");
        _samples = [.. samples];
    }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Whether images load as one channel.</summary>
    public bool Grayscale { get; }

    /// <summary>The size limits checked before decoding.</summary>
    public ImageLimits Limits { get; }

    /// <summary>The class names, sorted; class i is <c>Classes[i]</c>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The file and class index of sample <paramref name="index"/>.</summary>
    public (string Path, int Class) SampleAt(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        return _samples[index];
    }

    /// <inheritdoc/>
    public int Count => _samples.Length;

    /// <inheritdoc/>
    /// <exception cref="DataFormatException">The file is not a PNG, JPEG, BMP or WebP image, is truncated, or is over the limits.</exception>
    public Sample Get(int index)
    {
        ImageTensor.CheckIndex(index, Count);
        var (path, cls) = _samples[index];
        return new Sample(ImageDecoder.Decode(path, Grayscale, Limits), Tensor.Scalar(cls));
    }

    /// <summary>The image files under <paramref name="dir"/>, in os.walk order with sorted names.</summary>
    static IEnumerable<string> ClassFiles(string dir)
    {
        var files = Directory.GetFiles(dir);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var f in files)
            if (IsImage(f)) yield return f;
        var subs = Directory.GetDirectories(dir);
        Array.Sort(subs, StringComparer.Ordinal);
        foreach (var s in subs)
            foreach (var f in ClassFiles(s))
                yield return f;
    }

    static bool IsImage(string path)
    {
        var ext = Path.GetExtension(path);
        foreach (var e in Extensions)
            if (ext.Equals(e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
