using System.Numerics.Tensors;

namespace Nabla.Data;

/// <summary>Loads a split of an MNIST-style dataset: 28 x 28 unsigned-byte images and their labels, in IDX files.</summary>
internal static class MnistFiles
{
    public static TensorDataset Load(string name, string directory, bool train, string installHint)
    {
        string prefix = train ? "train" : "t10k";
        var imagesPath = Find(name, directory, $"{prefix}-images-idx3-ubyte", installHint);
        var labelsPath = Find(name, directory, $"{prefix}-labels-idx1-ubyte", installHint);

        var (images, type) = Idx.ReadWithType(imagesPath, Idx.DefaultMaxElements);
        if (type != 0x08 || images.Rank != 3 || images.Shape[1] != 28 || images.Shape[2] != 28)
            throw new DataFormatException("IDX", imagesPath,
                $"expected {name} images: unsigned bytes of dimensions (N, 28, 28); the file holds type 0x{type:X2} with dimensions {images.ShapeString}");
        var labels = Idx.ReadLabels(labelsPath, 10);
        if (labels.Shape[0] != images.Shape[0])
            throw new DataFormatException("IDX", labelsPath,
                $"holds {labels.Shape[0]} labels, but '{imagesPath}' holds {images.Shape[0]} images");

        // (N, 28, 28) bytes -> (N, 1, 28, 28) in [0, 1]: the scaling of torchvision's ToTensor.
        TensorPrimitives.Divide(images.Span, 255f, images.Span);
        var inputs = new Tensor(images.Storage, [images.Shape[0], 1, 28, 28]);
        return new TensorDataset(inputs, labels);
    }

    static string Find(string name, string directory, string file, string installHint)
    {
        var raw = Path.Combine(directory, file);
        if (File.Exists(raw)) return raw;
        if (File.Exists(raw + ".gz")) return raw + ".gz";
        throw new FileNotFoundException(
            $"{name}: found neither '{file}' nor '{file}.gz' in '{directory}'\nhint: {installHint}", raw + ".gz");
    }
}

/// <summary>
/// Fashion-MNIST (Zalando): 70,000 grey 28 x 28 images of clothing in 10 classes (0 T-shirt/top,
/// 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot),
/// 60,000 for training and 10,000 for testing; MNIST's format and sizes, a harder task.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by class index.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// The training split (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>) or the
    /// test split (<c>t10k-...</c>), each raw or <c>.gz</c>: images (N, 1, 28, 28) scaled to [0, 1]
    /// and labels (N) holding class indices 0 to 9.
    /// </summary>
    /// <param name="directory">The folder holding the files; by default <c>$NABLA_DATA_DIR/fashion-mnist</c>
    /// when that variable is set, else <see cref="DefaultDirectory"/>.</param>
    /// <param name="train">The training split (true) or the test split.</param>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    /// <exception cref="DataFormatException">A file is corrupt or not Fashion-MNIST's shape.</exception>
    public static TensorDataset Load(string? directory = null, bool train = true) =>
        MnistFiles.Load("FashionMnist", directory ?? ResolveDirectory(), train,
            "install Debian's package with `apt-get install dataset-fashion-mnist`, or pass the folder holding the four files " +
            "(set NABLA_DATA_DIR to a folder with a fashion-mnist subfolder)");

    /// <summary>
    /// The folder <see cref="Load"/> reads by default: <c>NABLA_DATA_DIR</c> when set (the files
    /// themselves, or a <c>fashion-mnist</c> subfolder), else <see cref="DefaultDirectory"/>.
    /// </summary>
    public static string ResolveDirectory()
    {
        if (Environment.GetEnvironmentVariable("NABLA_DATA_DIR") is not { Length: > 0 } root) return DefaultDirectory;
        var sub = Path.Combine(root, "fashion-mnist");
        return !HasFiles(root) && Directory.Exists(sub) ? sub : root;
    }

    /// <summary>The name of the folder, beside the application or in the repository, holding the embedded subset.</summary>
    public const string EmbeddedFolder = "data/fashion-mnist-subset";

    /// <summary>
    /// The full set where it is installed (<see cref="ResolveDirectory"/>), else the stratified subset
    /// kept with Nabla (10,000 training and 2,000 test images, 1,000 and 200 per class; see
    /// data/fashion-mnist-subset/README.md), found beside the application or in a folder above it.
    /// <c>Source</c> says which was read, for a user to see.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither the full set nor the subset is found; the message says how to install the data.</exception>
    public static (TensorDataset Data, string Source) LoadDefault(bool train = true)
    {
        var dir = ResolveDirectory();
        if (HasFiles(dir)) return (Load(dir, train), $"Fashion-MNIST from {dir}");
        var embedded = FindEmbedded() ?? throw new FileNotFoundException(
            $"FashionMnist: no Fashion-MNIST files in {dir}, and the embedded subset ({EmbeddedFolder}) was not found beside the application\n" +
            "hint: install Debian's package with `apt-get install dataset-fashion-mnist`, or set NABLA_DATA_DIR to the folder holding the four files");
        return (Load(embedded, train), $"the embedded Fashion-MNIST subset in {embedded} (install dataset-fashion-mnist for the full set)");
    }

    /// <summary>The embedded subset's folder, searched from the application's folder and the current one upwards; null when absent.</summary>
    public static string? FindEmbedded()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, EmbeddedFolder);
                if (HasFiles(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>Whether the folder holds the training images and labels (raw or gzip).</summary>
    static bool HasFiles(string dir) =>
        Directory.Exists(dir)
        && (File.Exists(Path.Combine(dir, "train-images-idx3-ubyte")) || File.Exists(Path.Combine(dir, "train-images-idx3-ubyte.gz")))
        && (File.Exists(Path.Combine(dir, "train-labels-idx1-ubyte")) || File.Exists(Path.Combine(dir, "train-labels-idx1-ubyte.gz")));
}

/// <summary>MNIST: 70,000 grey 28 x 28 images of handwritten digits 0 to 9 (60,000 for training, 10,000 for testing).</summary>
public static class Mnist
{
    /// <summary>
    /// The training split (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>) or the
    /// test split (<c>t10k-...</c>), each raw or <c>.gz</c>, from <paramref name="directory"/>:
    /// images (N, 1, 28, 28) scaled to [0, 1] and labels (N) holding the digits.
    /// </summary>
    /// <exception cref="FileNotFoundException">The files are missing.</exception>
    /// <exception cref="DataFormatException">A file is corrupt or not MNIST's shape.</exception>
    public static TensorDataset Load(string directory, bool train = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return MnistFiles.Load("Mnist", directory, train, "download the four MNIST files into that folder (names as published, raw or .gz)");
    }
}
