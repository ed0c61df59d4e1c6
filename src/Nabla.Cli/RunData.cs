using Nabla.Data;
using Nabla.Vision;
using Nabla.Vision.Transforms;

namespace Nabla.Cli;

/// <summary>
/// The data of a run: its training, validation and test sets, the normalization fitted on its training
/// images only (so nothing of the validation or test images leaks into training), and what the model
/// is built for. The images come from Fashion-MNIST's IDX files, whose training split is divided into
/// training and validation sets (stratified), or from an image folder (see <see cref="FolderData"/>).
/// </summary>
internal sealed class RunData
{
    public required IDataset Train { get; init; }
    public IDataset? Validation { get; init; }
    public required IDataset Test { get; init; }
    public required InputNormalization Normalization { get; init; }

    /// <summary>The images' channels and side, and the classes.</summary>
    public required DataShape Shape { get; init; }

    /// <summary>The class names, in the order of the model's outputs.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>Where the images came from, for the user to read.</summary>
    public required string Source { get; init; }

    /// <summary>The augmented training set, whose epoch the trainer advances; null without augmentation.</summary>
    public TransformedDataset? Augmented { get; init; }

    /// <summary>An image folder's files of each split and the files left out (null for IDX data).</summary>
    public FolderSplit? Split { get; init; }

    /// <summary>Loads Fashion-MNIST from <paramref name="dataDir"/>, or the default place (NABLA_DATA_DIR, the Debian package, the embedded subset).</summary>
    public static (TensorDataset Train, TensorDataset Test, string Source) LoadFashionMnist(string? dataDir)
    {
        try
        {
            if (dataDir is not null)
            {
                if (!Directory.Exists(dataDir)) throw CliException.File($"--data: folder not found: {dataDir}");
                return (FashionMnist.Load(dataDir, train: true), FashionMnist.Load(dataDir, train: false), $"Fashion-MNIST from {dataDir}");
            }
            var (train, source) = FashionMnist.LoadDefault(train: true);
            var (test, _) = FashionMnist.LoadDefault(train: false);
            return (train, test, source);
        }
        catch (FileNotFoundException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        catch (DataFormatException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
    }

    /// <summary>The run's data: an image folder when <c>--data</c> names one, else Fashion-MNIST's IDX files.</summary>
    public static RunData Load(TrainConfig c, Spectre.Console.IAnsiConsole? console = null, CancellationToken cancel = default) =>
        c.Data is string dir && FolderData.IsImageFolder(dir) ? FolderData.Load(c, dir, console, cancel) : LoadIdx(c);

    static RunData LoadIdx(TrainConfig c)
    {
        if (c.ImageSize is int size && size != 28)
            throw new CliException($"--image-size {size}: Fashion-MNIST's IDX images are 28 x 28 (write them as an image folder with nabla data export-images to train at another size)");
        if (c.Model == ModelKind.ResNet18ImageNet)
            throw new CliException("--model resnet18-imagenet needs an image folder (--data DIR); write Fashion-MNIST as one with nabla data export-images");
        var (fullTrain, fullTest, source) = LoadFashionMnist(c.Data);
        var splitGenerator = new Generator(Seeds.Of(c.Seed, Seeds.Split));
        var (trainSet, validationSet) = SplitTraining(c, fullTrain, splitGenerator, source);
        var norm = InputNormalization.Fit(c.Normalize, trainSet);

        // Normalize every image once; the subsets keep their indices into the normalized copy.
        var normalizedTrain = new TensorDataset(norm.Apply(fullTrain.Inputs), fullTrain.Targets);
        var test = new TensorDataset(norm.Apply(fullTest.Inputs), fullTest.Targets);
        IDataset train = Reindex(trainSet, normalizedTrain);
        IDataset? validation = validationSet is null ? null : Reindex(validationSet, normalizedTrain);

        TransformedDataset? augmented = null;
        if (Policy(c.Augment, c.Erasing, norm.AsTransform(), 28, c.ColorJitter) is ITransform transform)
        {
            // Augmentations work on [0, 1] pixels; normalization comes last.
            augmented = new TransformedDataset(Reindex(trainSet, fullTrain), transform, Seeds.Of(c.Seed, Seeds.Augment));
            train = augmented;
        }
        return new RunData
        {
            Train = train, Validation = validation, Test = test, Normalization = norm, Shape = Presets.FashionMnist,
            Classes = FashionMnist.Classes, Source = source, Augmented = augmented,
        };
    }

    /// <summary>
    /// The training pool (--train-samples of it, stratified), less the validation split (--val-split,
    /// stratified, unless <paramref name="validation"/> is given), bootstrapped with --bootstrap.
    /// </summary>
    internal static (IDataset Train, IDataset? Validation) SplitTraining(TrainConfig c, IDataset pool, Generator splitGenerator, string source, IDataset? validation = null)
    {
        if (c.TrainSamples is int wanted)
        {
            if (wanted > pool.Count)
                throw new CliException($"--train-samples {wanted} is more than the {pool.Count} training images of {source}");
            pool = Dataset.StratifiedSplit(pool, (double)wanted / pool.Count, splitGenerator).First;
        }
        IDataset trainSet = pool;
        IDataset? validationSet = validation;
        if (validation is null && c.ValSplit > 0)
        {
            var (val, rest) = Dataset.StratifiedSplit(pool, c.ValSplit, splitGenerator);
            if (val.Count == 0 || rest.Count == 0)
                throw new CliException($"--val-split {c.ValSplit} leaves {val.Count} validation and {rest.Count} training images of {pool.Count}");
            (trainSet, validationSet) = (rest, val);
        }
        if (c.Bootstrap)
            trainSet = Dataset.Bootstrap(trainSet, new Generator(Seeds.Of(c.Seed, Seeds.Bootstrap)));
        return (trainSet, validationSet);
    }

    /// <summary>
    /// The batch mixing of --mixup and --cutmix: MixUp, CutMix, or (both given) one of them per batch,
    /// chosen at random, as timm's recipes switch between them; null when both are 0.
    /// </summary>
    public static IBatchTransform? BatchMixing(double mixup, double cutmix, int classes) => (mixup > 0, cutmix > 0) switch
    {
        (true, true) => new EitherBatchTransform(new MixUp(classes, mixup), new CutMix(classes, cutmix)),
        (true, false) => new MixUp(classes, mixup),
        (false, true) => new CutMix(classes, cutmix),
        _ => null,
    };

    /// <summary>One of two batch transforms, each with probability 1/2, drawn from the batch's own generator.</summary>
    sealed class EitherBatchTransform(IBatchTransform a, IBatchTransform b) : IBatchTransform
    {
        public Batch Apply(Batch batch, Generator generator) => (generator.NextDouble() < 0.5 ? a : b).Apply(batch, generator);
    }

    /// <summary>
    /// The training transform of an augmentation policy for <paramref name="size"/> x <paramref name="size"/>
    /// images, then colour jitter, then <paramref name="normalize"/>, then random erasing; null when there is nothing to do.
    /// </summary>
    public static ITransform? Policy(AugmentKind augment, double erasing, ITransform? normalize, int size = 28, string? colorJitter = null)
    {
        var steps = new List<ITransform>();
        switch (augment)
        {
            case AugmentKind.None:
                break;
            case AugmentKind.Scale:
                // ResNet's scale augmentation: shorter side L in [256, 480] for 224 crops, proportional otherwise.
                steps.Add(new RandomResize((int)Math.Round(size * 256 / 224.0), (int)Math.Round(size * 480 / 224.0)));
                steps.Add(new RandomCrop(size));
                steps.Add(new HorizontalFlip());
                break;
            case AugmentKind.ResizedCrop:
                steps.Add(new RandomResizedCrop(size));
                steps.Add(new HorizontalFlip());
                break;
            default:
                steps.Add(new RandomCrop(size, padding: Math.Max(1, size / 14)));
                if (augment != AugmentKind.Crop) steps.Add(new HorizontalFlip());
                if (augment == AugmentKind.RandAugment) steps.Add(new RandAugment(2, 9));
                else if (augment == AugmentKind.TrivialAugment) steps.Add(new TrivialAugmentWide());
                break;
        }
        if (colorJitter is not null)
        {
            var (b, c, s, h) = TrainConfig.ParseJitter(colorJitter);
            steps.Add(new ColorJitter(b, c, s, h));
        }
        if (steps.Count == 0 && erasing == 0) return null;
        if (normalize is not null) steps.Add(normalize);
        // Erasing comes after normalization, as in torchvision's recipes: the erased patch is the mean (0).
        if (erasing > 0) steps.Add(new RandomErasing(erasing));
        return new Compose([.. steps]);
    }

    // The same samples, read from another dataset with the same indices (a normalized or raw copy).
    static IDataset Reindex(IDataset subset, IDataset source) =>
        subset is Subset s ? Remap(s, source) : source;

    static Subset Remap(Subset s, IDataset source)
    {
        if (s.Dataset is Subset inner)
        {
            var innerRemapped = Remap(inner, source);
            var indices = new int[s.Count];
            for (int i = 0; i < indices.Length; i++) indices[i] = innerRemapped.Indices[s.Indices[i]];
            return new Subset(source, indices);
        }
        return new Subset(source, s.Indices);
    }
}

/// <summary>Independent seeds for a run's random streams, all derived from <c>--seed</c>.</summary>
internal static class Seeds
{
    public const ulong Model = 1, Shuffle = 2, Split = 3, Augment = 4, Bootstrap = 5;

    public static ulong Of(int seed, ulong stream)
    {
        // SplitMix64 of (seed, stream): streams of nearby seeds are unrelated.
        ulong z = ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ (stream * 0xBF58476D1CE4E5B9UL) ^ 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
