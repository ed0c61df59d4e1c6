using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary>
/// Everything a training run is made of, built from its configuration alone: the data and
/// loaders, the model, the optimizer and its schedules, the trainer, and the random generators
/// a checkpoint must carry. Building it twice from one configuration gives the same run, which
/// is what lets <c>--resume</c> rebuild a run and load its checkpoint into it.
/// </summary>
internal sealed class TrainingSession
{
    public TrainingSession(TrainConfig config, RunData data)
    {
        Config = config;
        Data = data;
        ModelGenerator = new Generator(Seeds.Of(config.Seed, Seeds.Model));
        ShuffleGenerator = new Generator(Seeds.Of(config.Seed, Seeds.Shuffle));
        Model = Presets.Build(config, ModelGenerator);

        if (data.Train.Count < config.BatchSize)
            throw new CliException($"--batch-size {config.BatchSize} is larger than the {data.Train.Count} training images");
        // Full batches only: a last batch of one image would break batch norm, and equal batches weigh samples equally.
        TrainLoader = new DataLoader(data.Train, config.BatchSize, shuffle: true, dropLast: true, generator: ShuffleGenerator, workers: config.Workers,
            batchTransform: RunData.BatchMixing(config.Mixup, config.Cutmix, Presets.Classes));
        ValidationLoader = data.Validation is null ? null : new DataLoader(data.Validation, 512);
        TestLoader = new DataLoader(data.Test, 512);

        Optimizer = BuildOptimizer(config, Model);
        Trainer = new Trainer(Model, new CrossEntropyLoss(labelSmoothing: config.LabelSmoothing), Optimizer)
        {
            MaxGradNorm = config.ClipGrad,
            ProgressInterval = 2,
        };
        AddSchedules(config, Trainer, TrainLoader.Count);
        if (data.Augmented is { } augmented) Trainer.Callbacks.Add(new EpochSetter(augmented));
    }

    public TrainConfig Config { get; }
    public RunData Data { get; }
    public Sequential Model { get; }
    public Optimizer Optimizer { get; }
    public Trainer Trainer { get; }
    public DataLoader TrainLoader { get; }
    public DataLoader? ValidationLoader { get; }
    public DataLoader TestLoader { get; }
    public Generator ModelGenerator { get; }
    public Generator ShuffleGenerator { get; }

    /// <summary>The generators a checkpoint saves, in a fixed order: dropout's (the model's), then the loader's.</summary>
    public IReadOnlyList<Generator> Generators => [ModelGenerator, ShuffleGenerator];

    /// <summary>
    /// Weight decay goes on weight matrices and kernels only, never on biases or normalization
    /// parameters (decaying a batch-norm scale towards 0 fights the normalization). "decoupled"
    /// shrinks the weights directly (AdamW: w ← w − lr·λ·w), "l2" adds λ·w to the gradient, which
    /// Adam then rescales per weight, so heavily-updated weights are decayed less (Loshchilov and Hutter).
    /// </summary>
    static Optimizer BuildOptimizer(TrainConfig c, Module model)
    {
        var groups = ParamGroup.SplitByRank(model, c.WeightDecay);
        return (c.Optimizer, c.WeightDecayMode) switch
        {
            (OptimizerKind.Sgd, _) => new Sgd(groups, lr: c.Lr, momentum: c.Momentum, weightDecay: c.WeightDecay, nesterov: c.Nesterov),
            (_, DecayMode.Decoupled) => new AdamW(groups, lr: c.Lr, weightDecay: c.WeightDecay),
            _ => new Adam(groups, lr: c.Lr, weightDecay: c.WeightDecay),
        };
    }

    static void AddSchedules(TrainConfig c, Trainer trainer, int stepsPerEpoch)
    {
        var opt = trainer.Optimizer;
        int totalSteps = c.Epochs * stepsPerEpoch, warmupSteps = c.Warmup * stepsPerEpoch;
        switch (c.Schedule)
        {
            case ScheduleKind.Cosine:
                trainer.StepSchedulers.Add(WithWarmup(opt, warmupSteps, new CosineAnnealingLr(opt, tMax: Math.Max(1, totalSteps - warmupSteps))));
                break;
            case ScheduleKind.OneCycle:
                // One-cycle has its own warm-up: --warmup sets its share of the run (default 30%).
                trainer.StepSchedulers.Add(new OneCycleLr(opt, maxLr: c.Lr, totalSteps: totalSteps,
                    pctStart: c.Warmup > 0 ? (double)c.Warmup / c.Epochs : 0.3));
                break;
            case ScheduleKind.Step:
                trainer.EpochSchedulers.Add(WithWarmup(opt, c.Warmup, new StepLr(opt, c.LrStep, c.LrGamma)));
                break;
            case ScheduleKind.Plateau:
                if (c.Warmup > 0) trainer.EpochSchedulers.Add(Warmup(opt, c.Warmup));
                trainer.PlateauScheduler = new ReduceLrOnPlateau(opt, factor: c.LrGamma, patience: 2);
                break;
            default:
                if (warmupSteps > 0) trainer.StepSchedulers.Add(Warmup(opt, warmupSteps));
                break;
        }
    }

    static LinearLr Warmup(Optimizer opt, int steps) => new LinearLr(opt, startFactor: 0.01, endFactor: 1, totalIters: steps);

    static LrScheduler WithWarmup(Optimizer opt, int warmup, LrScheduler main) =>
        warmup == 0 ? main : new SequentialLr(opt, [Warmup(opt, warmup), main], [warmup]);

    /// <summary>Gives the augmented dataset the epoch number, so each epoch draws new augmentations.</summary>
    sealed class EpochSetter(Vision.TransformedDataset dataset) : ITrainerCallback
    {
        public void OnEpochBegin(int epoch) => dataset.Epoch = epoch;

        public string? OnEpochEnd(EpochRecord record) => null;
    }
}
