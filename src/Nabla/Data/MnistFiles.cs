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

    /// <summary>The folder <see cref="Load"/> reads by default.</summary>
    public static string ResolveDirectory() =>
        Environment.GetEnvironmentVariable("NABLA_DATA_DIR") is { Length: > 0 } root ? Path.Combine(root, "fashion-mnist") : DefaultDirectory;
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
