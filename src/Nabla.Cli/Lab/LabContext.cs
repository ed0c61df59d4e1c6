using System.Diagnostics;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using Nabla.Vision;
using Nabla.Vision.Transforms;
using Spectre.Console;

namespace Nabla.Cli.Lab;

/// <summary>How long the experiments run: <c>Tiny</c> is a smoke test (seconds, numbers meaningless), <c>Default</c> about 3 minutes each on two cores, <c>Full</c> longer and more faithful.</summary>
internal enum LabScale { Tiny, Default, Full }

/// <summary>
/// What every experiment shares: the data (Fashion-MNIST, loaded once), the scale, the seed and its
/// derived random streams, and the training loop with its per-epoch test accuracy.
/// </summary>
internal sealed class LabContext(LabScale scale, int seed, string? dataDir, IAnsiConsole console)
{
    (TensorDataset Train, TensorDataset Test, string Source)? _data;

    public LabScale Scale { get; } = scale;
    public int Seed { get; } = seed;
    public IAnsiConsole Console { get; } = console;

    /// <summary>The value for the current scale.</summary>
    public T Pick<T>(T tiny, T normal, T full) => Scale switch { LabScale.Tiny => tiny, LabScale.Full => full, _ => normal };

    /// <summary>The 60,000 (or embedded 10,000) training images in [0, 1], shape (N, 1, 28, 28).</summary>
    public TensorDataset Train => Data().Train;

    /// <summary>The 10,000 (or embedded 2,000) test images.</summary>
    public TensorDataset Test => Data().Test;

    /// <summary>Where the data came from, for the report.</summary>
    public string Source => Data().Source;

    (TensorDataset Train, TensorDataset Test, string Source) Data()
    {
        if (_data is null)
        {
            var (train, test, source) = RunData.LoadFashionMnist(dataDir);
            _data = ((TensorDataset)train, (TensorDataset)test, source);
        }
        return _data.Value;
    }

    /// <summary>A generator for stream <paramref name="stream"/> of this lab's seed (the same stream always gives the same numbers).</summary>
    public Generator Gen(ulong stream) => new(Seeds.Of(Seed, 100 + stream));

    public void Log(string line) => Console.MarkupLineInterpolated($"  [grey]{line}[/]");

    /// <summary>
    /// <paramref name="n"/> samples of <paramref name="source"/>, drawn at random without replacement
    /// (stream <paramref name="stream"/>), keeping only <paramref name="classes"/> when given.
    /// </summary>
    public TensorDataset Sample(TensorDataset source, int n, ulong stream, IReadOnlyCollection<int>? classes = null)
    {
        var labels = source.Targets.ToArray();
        var pool = Enumerable.Range(0, source.Count).Where(i => classes is null || classes.Contains((int)labels[i])).ToArray();
        var perm = Tensor.Randperm(pool.Length, Gen(stream)).ToArray();
        int take = Math.Min(n, pool.Length);
        return Take(source, [.. perm.Take(take).Select(p => pool[(int)p])]);
    }

    /// <summary>The samples at <paramref name="indices"/>, copied.</summary>
    public static TensorDataset Take(TensorDataset source, int[] indices)
    {
        int per = source.Inputs.Numel / Math.Max(1, source.Count);
        var x = new float[indices.Length * per];
        var y = new float[indices.Length];
        var xs = source.Inputs.Data;
        var ys = source.Targets.Data;
        for (int i = 0; i < indices.Length; i++)
        {
            xs.Slice(indices[i] * per, per).CopyTo(x.AsSpan(i * per, per));
            y[i] = ys[indices[i]];
        }
        return new TensorDataset(Tensor.FromArray(x, [indices.Length, .. source.Inputs.Shape[1..]]), Tensor.FromArray(y, indices.Length));
    }

    /// <summary>The dataset with its inputs mapped by <paramref name="f"/> (a preprocessing), targets kept.</summary>
    public static TensorDataset Map(TensorDataset d, Func<Tensor, Tensor> f) => new(f(d.Inputs), d.Targets);

    /// <summary>Standardizes both with the per-channel mean and std of <paramref name="train"/>'s pixels: the usual preprocessing of the experiments.</summary>
    public static (TensorDataset Train, TensorDataset Test) Standardize(TensorDataset train, TensorDataset test)
    {
        var stats = ChannelStats.Compute(train.Inputs);
        return (Map(train, stats.Apply), Map(test, stats.Apply));
    }

    /// <summary>
    /// Trains <paramref name="model"/> with the standard <see cref="Trainer"/> (shuffled full batches
    /// from stream <paramref name="shuffleStream"/>), measuring test accuracy and loss after every
    /// epoch (only after the last with <paramref name="testEachEpoch"/> false: a sweep that needs the end
    /// alone). A loss that turns NaN or infinite ends the run as diverged instead of throwing.
    /// </summary>
    public FitResult Fit(Module model, Optimizer optimizer, IDataset train, TensorDataset test, int epochs, int batchSize = 128,
        ulong shuffleStream = 1, Loss? loss = null, TensorDataset? validation = null, ITransform? augment = null,
        IEnumerable<ITrainerCallback>? callbacks = null, bool testEachEpoch = true)
    {
        loss ??= new CrossEntropyLoss();
        var trainer = new Trainer(model, loss, optimizer);
        IDataset data = train;
        if (augment is not null)
        {
            var augmented = new TransformedDataset(train, augment, Seeds.Of(Seed, 200 + shuffleStream));
            data = augmented;
            trainer.Callbacks.Add(new EpochSetter(augmented));
        }
        var testEval = new TestEvaluator(model, test, testEachEpoch ? 1 : epochs);
        trainer.Callbacks.Add(testEval);
        foreach (var c in callbacks ?? []) trainer.Callbacks.Add(c);
        var loader = new DataLoader(data, Math.Min(batchSize, train.Count), shuffle: true, dropLast: true, generator: Gen(shuffleStream));
        var clock = Stopwatch.StartNew();
        History history;
        bool diverged = false;
        try
        {
            history = trainer.Fit(loader, validation is null ? null : new DataLoader(validation, 1000), epochs);
        }
        catch (NonFiniteLossException)
        {
            diverged = true;
            history = new History();
        }
        var records = testEval.Records;
        return new FitResult(records, testEval.TestAccuracy, testEval.TestLoss, diverged, clock.Elapsed.TotalSeconds, trainer.GlobalStep);
    }

    /// <summary>The fraction of <paramref name="data"/> the model classifies right, in eval mode.</summary>
    public static double Accuracy(Module model, TensorDataset data) => Metrics.Accuracy(Logits(model, data.Inputs), data.Targets);

    /// <summary>The model's outputs on <paramref name="inputs"/> in eval mode, in batches, without gradients.</summary>
    public static Tensor Logits(Module model, Tensor inputs, int batchSize = 1000)
    {
        bool was = model.IsTraining;
        model.Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            var parts = new List<Tensor>();
            for (int i = 0; i < inputs.Shape[0]; i += batchSize)
                parts.Add(model.Forward(inputs.Narrow(0, i, Math.Min(batchSize, inputs.Shape[0] - i))).Clone());
            return parts.Count == 1 ? parts[0] : Tensor.Cat([.. parts], 0);
        }
        finally
        {
            model.Train(was);
        }
    }

    /// <summary>Softmax probabilities of logits (N, K).</summary>
    public static Tensor Softmax(Tensor logits) => Functional.Softmax(logits, 1);

    sealed class EpochSetter(TransformedDataset dataset) : ITrainerCallback
    {
        public void OnEpochBegin(int epoch) => dataset.Epoch = epoch;

        public string? OnEpochEnd(EpochRecord record) => null;
    }

    /// <summary>
    /// Test accuracy and loss after each epoch, or only after the last (<paramref name="last"/> > 1: the
    /// lists then hold one entry); the trainer restores the training mode after it.
    /// </summary>
    sealed class TestEvaluator(Module model, TensorDataset test, int last) : ITrainerCallback
    {
        public List<EpochRecord> Records { get; } = [];
        public List<double> TestAccuracy { get; } = [];
        public List<double> TestLoss { get; } = [];

        public string? OnEpochEnd(EpochRecord record)
        {
            Records.Add(record);
            if (last > 1 && record.Epoch < last) return null;
            var logits = Logits(model, test.Inputs);
            TestAccuracy.Add(Metrics.Accuracy(logits, test.Targets));
            using (Autograd.NoGrad()) TestLoss.Add(new CrossEntropyLoss().Forward(logits, test.Targets).Item());
            return null;
        }
    }
}

/// <summary>What <see cref="LabContext.Fit"/> measured: the trainer's epochs, test accuracy and loss after each, whether the loss diverged, and the time.</summary>
internal sealed record FitResult(IReadOnlyList<EpochRecord> Epochs, IReadOnlyList<double> TestAccuracy, IReadOnlyList<double> TestLoss,
    bool Diverged, double Seconds, int Steps)
{
    /// <summary>The last epoch's test accuracy, or chance-level NaN when nothing finished.</summary>
    public double FinalAccuracy => TestAccuracy.Count > 0 && !Diverged ? TestAccuracy[^1] : double.NaN;

    /// <summary>The first epoch (from 1) whose test accuracy reached <paramref name="target"/>, or null.</summary>
    public int? EpochsTo(double target)
    {
        for (int i = 0; i < TestAccuracy.Count; i++) if (TestAccuracy[i] >= target) return i + 1;
        return null;
    }
}
