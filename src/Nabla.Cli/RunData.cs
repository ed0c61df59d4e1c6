using Nabla.Data;
using Nabla.Vision;
using Nabla.Vision.Transforms;

namespace Nabla.Cli;

/// <summary>
/// The data of a run: Fashion-MNIST's training split divided into training and validation sets
/// (stratified), its test split, and the per-channel statistics that normalize all three —
/// computed on the training set only, so nothing of the validation or test images leaks into training.
/// </summary>
internal sealed class RunData
{
    RunData(IDataset train, IDataset? validation, IDataset test, ChannelStats stats, string source, TransformedDataset? augmented)
    {
        Train = train;
        Validation = validation;
        Test = test;
        Stats = stats;
        Source = source;
        Augmented = augmented;
    }

    public IDataset Train { get; }
    public IDataset? Validation { get; }
    public IDataset Test { get; }
    public ChannelStats Stats { get; }

    /// <summary>Where the images came from, for the user to read.</summary>
    public string Source { get; }

    /// <summary>The augmented training set, whose epoch the trainer advances; null without augmentation.</summary>
    public TransformedDataset? Augmented { get; }

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

    public static RunData Load(TrainConfig c)
    {
        var (fullTrain, fullTest, source) = LoadFashionMnist(c.Data);
        var splitGenerator = new Generator(Seeds.Of(c.Seed, Seeds.Split));
        IDataset pool = fullTrain;
        if (c.TrainSamples is int wanted)
        {
            if (wanted > fullTrain.Count)
                throw new CliException($"--train-samples {wanted} is more than the {fullTrain.Count} training images of {source}");
            pool = Dataset.StratifiedSplit(fullTrain, (double)wanted / fullTrain.Count, splitGenerator).First;
        }
        IDataset trainSet = pool;
        IDataset? validationSet = null;
        if (c.ValSplit > 0)
        {
            var (val, rest) = Dataset.StratifiedSplit(pool, c.ValSplit, splitGenerator);
            if (val.Count == 0 || rest.Count == 0)
                throw new CliException($"--val-split {c.ValSplit} leaves {val.Count} validation and {rest.Count} training images of {pool.Count}");
            (trainSet, validationSet) = (rest, val);
        }
        if (c.Bootstrap)
            trainSet = Dataset.Bootstrap(trainSet, new Generator(Seeds.Of(c.Seed, Seeds.Bootstrap)));
        var stats = ChannelStats.Compute(trainSet);

        // Normalize every image once; the subsets keep their indices into the normalized copy.
        var normalizedTrain = new TensorDataset(stats.Apply(fullTrain.Inputs), fullTrain.Targets);
        var test = new TensorDataset(stats.Apply(fullTest.Inputs), fullTest.Targets);
        IDataset train = Reindex(trainSet, normalizedTrain);
        IDataset? validation = validationSet is null ? null : Reindex(validationSet, normalizedTrain);

        TransformedDataset? augmented = null;
        if (Policy(c.Augment, c.Erasing, stats) is ITransform transform)
        {
            // Augmentations work on [0, 1] pixels; normalization comes last.
            augmented = new TransformedDataset(Reindex(trainSet, fullTrain), transform, Seeds.Of(c.Seed, Seeds.Augment));
            train = augmented;
        }
        return new RunData(train, validation, test, stats, source, augmented);
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

    /// <summary>The training transform of an augmentation policy, ending with normalization; null for none.</summary>
    public static ITransform? Policy(AugmentKind augment, double erasing, ChannelStats? stats)
    {
        var steps = new List<ITransform>();
        if (augment != AugmentKind.None)
        {
            steps.Add(new RandomCrop(28, padding: 2));
            if (augment != AugmentKind.Crop) steps.Add(new HorizontalFlip());
            if (augment == AugmentKind.RandAugment) steps.Add(new RandAugment(2, 9));
            else if (augment == AugmentKind.TrivialAugment) steps.Add(new TrivialAugmentWide());
        }
        if (steps.Count == 0 && erasing == 0) return null;
        if (stats is not null) steps.Add(new Normalize(stats.Mean.ToArray(), stats.Std.ToArray()));
        // Erasing comes after normalization, as in torchvision's recipes: the erased patch is the mean (0).
        if (erasing > 0) steps.Add(new RandomErasing(erasing));
        return new Compose([.. steps]);
    }

    // The same samples, read from another dataset with the same indices (a normalized or raw copy).
    static IDataset Reindex(IDataset subset, TensorDataset source) =>
        subset is Subset s ? Remap(s, source) : source;

    static Subset Remap(Subset s, TensorDataset source)
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
