using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// Everything a training run is made of, built from its configuration alone: the data and
/// loaders, the model, the optimizer and its schedules, the trainer, and the random generators
/// a checkpoint must carry. Building it twice from one configuration gives the same run, which
/// is what lets <c>--resume</c> rebuild a run and load its checkpoint into it.
/// </summary>
internal sealed class TrainingSession
{
    public TrainingSession(TrainConfig config, RunData data, IAnsiConsole? console = null)
    {
        Config = config;
        Data = data;
        ModelGenerator = new Generator(Seeds.Of(config.Seed, Seeds.Model));
        ShuffleGenerator = new Generator(Seeds.Of(config.Seed, Seeds.Shuffle));
        Presets.CheckSize(config, data.Shape);
        FullModel = Presets.Build(config, data.Shape, ModelGenerator);

        if (data.Train.Count < config.BatchSize)
            throw new CliException($"--batch-size {config.BatchSize} is larger than the {data.Train.Count} training images");
        IDataset train = data.Train, test = data.Test;
        IDataset? validation = data.Validation;
        int evalBatch = config.Model == ModelKind.ResNet18ImageNet ? 64 : 512;
        if (config.FreezeBackbone)
        {
            // A linear probe: the frozen backbone's features of every image, computed once; only the head trains.
            var extractor = PretrainedModel.FeatureExtractor(FullModel);
            foreach (var p in extractor.Parameters()) p.RequiresGrad = false;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            train = Features(extractor, train, evalBatch);
            validation = validation is null ? null : Features(extractor, validation, evalBatch);
            test = Features(extractor, test, evalBatch);
            int images = train.Count + (validation?.Count ?? 0) + test.Count;
            console?.MarkupLineInterpolated($"computed the frozen backbone's {PretrainedModel.Features} features of {images:N0} images in {clock.Elapsed.TotalSeconds:F1} s ({images / clock.Elapsed.TotalSeconds:F1} images/s)");
            Model = (Sequential)PretrainedModel.Head(FullModel);
        }
        else
        {
            Model = FullModel;
        }
        // Full batches only: a last batch of one image would break batch norm, and equal batches weigh samples equally.
        TrainLoader = new DataLoader(train, config.BatchSize, shuffle: true, dropLast: true, generator: ShuffleGenerator, workers: config.Workers,
            batchTransform: RunData.BatchMixing(config.Mixup, config.Cutmix, data.Shape.Classes));
        ValidationLoader = validation is null ? null : new DataLoader(validation, evalBatch);
        TestLoader = new DataLoader(test, evalBatch);

        Optimizer = BuildOptimizer(config, FullModel);
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
    /// <summary>The module the trainer trains: the whole model, or the head of a linear probe.</summary>
    public Sequential Model { get; }

    /// <summary>The whole model, as it is saved.</summary>
    public Sequential FullModel { get; }
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
    /// <remarks>
    /// Fine-tuning the pretrained model gives its backbone its own, lower learning rate
    /// (<c>--backbone-lr</c>, default a tenth of <c>--lr</c>) through parameter groups: the pretrained
    /// features need small corrections, the new head a full rate. Schedules scale every group's rate alike.
    /// </remarks>
    static Optimizer BuildOptimizer(TrainConfig c, Sequential model)
    {
        var groups = ParamGroup.SplitByRank(model, c.WeightDecay);
        if (c.Model == ModelKind.ResNet18ImageNet && !c.FreezeBackbone)
        {
            var backbone = PretrainedModel.Backbone(model).Parameters().ToHashSet();
            var backboneGroups = ParamGroup.SplitByRank(model.NamedParameters().Where(p => backbone.Contains(p.Parameter)), c.WeightDecay);
            foreach (var g in backboneGroups) g.Lr = c.BackboneLr ?? c.Lr / 10;
            groups = [.. backboneGroups, .. ParamGroup.SplitByRank(model.NamedParameters().Where(p => !backbone.Contains(p.Parameter)), c.WeightDecay)];
        }
        else if (c.FreezeBackbone)
        {
            groups = ParamGroup.SplitByRank(PretrainedModel.Head(model), c.WeightDecay);
        }
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
                trainer.StepSchedulers.Add(new OneCycleLr(opt, [.. opt.ParamGroups.Select(g => g.Lr)], totalSteps: totalSteps,
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

    /// <summary>The (N, 512) features of a dataset's images through the frozen extractor, with their targets.</summary>
    static TensorDataset Features(Sequential extractor, IDataset data, int batchSize)
    {
        extractor.Eval();
        var features = new List<Tensor>();
        var targets = new List<Tensor>();
        using var noGrad = Autograd.NoGrad();
        foreach (var batch in new DataLoader(data, batchSize))
        {
            features.Add(extractor.Forward(batch.Inputs).Clone());
            targets.Add(batch.Targets);
        }
        return new TensorDataset(Tensor.Cat([.. features], 0), Tensor.Cat([.. targets], 0));
    }

    /// <summary>Gives the augmented dataset the epoch number, so each epoch draws new augmentations.</summary>
    sealed class EpochSetter(Vision.TransformedDataset dataset) : ITrainerCallback
    {
        public void OnEpochBegin(int epoch) => dataset.Epoch = epoch;

        public string? OnEpochEnd(EpochRecord record) => null;
    }
}
