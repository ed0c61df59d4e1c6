using System.Diagnostics;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Training;

/// <summary>
/// The standard supervised training loop: epochs of optimizer steps over a training loader, an
/// optional validation pass, learning-rate schedules, gradient clipping, callbacks and progress
/// events, with a <see cref="History"/> of what each epoch measured.
/// </summary>
/// <remarks>
/// One epoch of <see cref="Fit"/>:
/// <code>
/// 1. model.Train(); each callback's OnEpochBegin
/// 2. for each batch (stopping before the next one once the cancellation token is set): each callback's OnBatchBegin, then inside a TensorScope (memory reused from step to step):
///      optimizer.ZeroGrad(); output = model.Forward(x); loss = lossFn.Forward(output, y)
///      if loss is NaN or ±∞: throw NonFiniteLossException (epoch, step) — before any update
///      loss.Backward(); if MaxGradNorm: GradClip.ClipGradNorm(params, MaxGradNorm)
///      each callback's OnBeforeOptimizerStep; optimizer.Step(); each callback's OnBatchEnd
///      each StepScheduler.Step(); raise Progress
/// 3. if a validation loader: model.Eval() under Autograd.NoGrad(), the mode restored afterwards
/// 4. each EpochScheduler.Step(); PlateauScheduler.Step(validation loss, or training loss without validation)
/// 5. record the epoch; each callback's OnEpochEnd may stop training with a reason
/// </code>
/// The model's mode before <see cref="Fit"/> is restored when it returns or throws. Losses are
/// averaged per sample (a Mean-reduced batch loss is weighted by its batch size), so a short last
/// batch counts for what it holds.
/// <para>
/// Cancelling <see cref="Fit"/> (Ctrl+C in the <c>nabla</c> command) stops it between two batches:
/// it returns with <see cref="History.Interrupted"/> set and the unfinished epoch in
/// <see cref="InterruptedEpoch"/>, which a checkpoint saves. The next <see cref="Fit"/> finishes that
/// epoch first — the same sample order, from the next batch — so an interrupted and resumed run
/// equals one that never stopped.
/// </para>
/// </remarks>
public sealed class Trainer
{
    /// <summary>Creates a trainer for <paramref name="model"/> with <paramref name="loss"/> and <paramref name="optimizer"/>.</summary>
    public Trainer(Module model, Loss loss, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        Model = model;
        LossFunction = loss;
        Optimizer = optimizer;
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }

    /// <summary>The loss minimized; it must reduce to a scalar (Mean or Sum).</summary>
    public Loss LossFunction { get; }

    /// <summary>The optimizer that updates the model's parameters.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>
    /// When set, the gradients' global 2-norm is clipped to this value before each step
    /// (<see cref="GradClip.ClipGradNorm"/>); null (the default) leaves them alone.
    /// </summary>
    public double? MaxGradNorm
    {
        get => _maxGradNorm;
        set
        {
            if (value is double v && !(v > 0)) throw new ArgumentOutOfRangeException(nameof(value), v, $"Invalid MaxGradNorm: {v}");
            _maxGradNorm = value;
        }
    }

    double? _maxGradNorm;

    /// <summary>Schedulers stepped after every optimizer step (OneCycleLr, warmups counted in steps).</summary>
    public IList<LrScheduler> StepSchedulers { get; } = new List<LrScheduler>();

    /// <summary>Schedulers stepped once at the end of every epoch (StepLr, CosineAnnealingLr counted in epochs).</summary>
    public IList<LrScheduler> EpochSchedulers { get; } = new List<LrScheduler>();

    /// <summary>Stepped at the end of every epoch with the validation loss (the training loss when there is no validation loader).</summary>
    public ReduceLrOnPlateau? PlateauScheduler { get; set; }

    /// <summary>Callbacks called in order at the start, after each epoch, and at the end.</summary>
    public IList<ITrainerCallback> Callbacks { get; } = new List<ITrainerCallback>();

    /// <summary>Raised after every <see cref="ProgressInterval"/>-th training batch and after the last batch of each epoch.</summary>
    public event EventHandler<TrainingProgress>? Progress;

    /// <summary>How many batches between <see cref="Progress"/> events (default 1: every batch).</summary>
    public int ProgressInterval
    {
        get => _progressInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _progressInterval = value;
        }
    }

    int _progressInterval = 1;

    /// <summary>Optimizer steps taken by this trainer over all <see cref="Fit"/> calls (set by <see cref="Checkpoint.Load(string, Trainer, IReadOnlyList{Generator})"/>).</summary>
    public int GlobalStep { get; internal set; }

    /// <summary>Epochs completed by this trainer over all <see cref="Fit"/> calls (set by <see cref="Checkpoint.Load(string, Trainer, IReadOnlyList{Generator})"/>).</summary>
    public int Epoch { get; internal set; }

    /// <summary>
    /// The epoch a cancelled <see cref="Fit"/> left unfinished, or null; the next <see cref="Fit"/>
    /// completes it first (set by <see cref="Checkpoint.Load(string, Trainer, IReadOnlyList{Generator})"/>).
    /// </summary>
    public EpochProgress? InterruptedEpoch { get; set; }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs (fewer when a callback stops it or
    /// <paramref name="cancellationToken"/> is cancelled) and returns the per-epoch history. Epoch
    /// numbers continue across calls; an <see cref="InterruptedEpoch"/> is finished first and counts
    /// as one of the <paramref name="epochs"/>.
    /// </summary>
    /// <exception cref="NonFiniteLossException">A training loss was NaN or infinite.</exception>
    public History Fit(DataLoader train, DataLoader? validation = null, int epochs = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"Invalid epochs: {epochs}");
        var history = new History();
        bool wasTraining = Model.IsTraining;
        try
        {
            foreach (var cb in Callbacks) cb.OnTrainBegin(Model);
            for (int e = 0; e < epochs; e++)
            {
                var record = RunEpoch(train, validation, epochs, cancellationToken);
                if (record is null)
                {
                    history.Interrupted = true;
                    break;
                }
                history.Add(record);
                string? reason = null;
                foreach (var cb in Callbacks)
                {
                    // Every callback sees every epoch, even after an earlier one asked to stop.
                    var r = cb.OnEpochEnd(record);
                    reason ??= r;
                }
                if (reason is not null)
                {
                    history.StopReason = reason;
                    break;
                }
            }
            if (!history.Interrupted)
                foreach (var cb in Callbacks) cb.OnTrainEnd(history);
        }
        finally
        {
            Model.Train(wasTraining);
        }
        return history;
    }

    // Null when cancelled before the epoch's last batch (the epoch is then in InterruptedEpoch).
    EpochRecord? RunEpoch(DataLoader train, DataLoader? validation, int epochs, CancellationToken cancellationToken)
    {
        var resume = InterruptedEpoch;
        int epoch = Epoch + 1;
        if (resume is not null && resume.Epoch != epoch)
            throw new InvalidOperationException($"Trainer: the interrupted epoch is {resume.Epoch}, but the trainer has completed {Epoch} epochs");
        int stepAtStart = GlobalStep;
        try
        {
            return RunEpoch(train, validation, epochs, resume, epoch, cancellationToken);
        }
        catch when (resume is not null && GlobalStep == stepAtStart)
        {
            // Nothing of the resumed epoch was applied (a bad loss is caught before its update):
            // keep it, so a retry resumes the same epoch instead of starting a new one.
            InterruptedEpoch = resume;
            throw;
        }
    }

    EpochRecord? RunEpoch(DataLoader train, DataLoader? validation, int epochs, EpochProgress? resume, int epoch, CancellationToken cancellationToken)
    {
        InterruptedEpoch = null;
        var clock = Stopwatch.StartNew();
        double secondsBefore = resume?.Seconds ?? 0;
        Model.Train();
        foreach (var cb in Callbacks) cb.OnEpochBegin(epoch);
        ulong seed = resume?.EpochSeed ?? train.NextEpochSeed();
        int batches = train.Count, step = resume?.Batches ?? 0;
        long samples = resume?.Samples ?? 0, correct = resume?.Correct ?? 0, samplesBefore = samples;
        double lossSum = resume?.LossSum ?? 0;
        bool classification = correct >= 0;
        correct = Math.Max(correct, 0);
        using var batchesLeft = train.StartEpoch(seed, step);
        while (true)
        {
            if (cancellationToken.IsCancellationRequested && step < batches)
            {
                InterruptedEpoch = new EpochProgress(epoch, seed, step, samples, lossSum, classification ? correct : -1,
                                                     secondsBefore + clock.Elapsed.TotalSeconds);
                return null;
            }
            if (!batchesLeft.MoveNext()) break;
            var batch = batchesLeft.Current;
            step++;
            foreach (var cb in Callbacks) cb.OnBatchBegin(epoch, step, batches, GlobalStep);
            using (TensorScope.Begin())
            {
                Optimizer.ZeroGrad();
                var output = Model.Forward(batch.Inputs);
                var loss = LossFunction.Forward(output, batch.Targets);
                int n = batch.Size;
                double batchLoss = Metrics.LossSum(LossFunction, loss, n);
                if (!double.IsFinite(batchLoss))
                    throw new NonFiniteLossException(loss.Item(), epoch, step, GlobalStep + 1);
                loss.Backward();
                if (_maxGradNorm is double maxNorm) GradClip.ClipGradNorm(Model.Parameters(), maxNorm);
                foreach (var cb in Callbacks) cb.OnBeforeOptimizerStep();
                Optimizer.Step();
                GlobalStep++;
                foreach (var cb in Callbacks) cb.OnBatchEnd();
                foreach (var s in StepSchedulers) s.Step();

                lossSum += batchLoss;
                samples += n;
                long hits = !classification ? -1
                          : Metrics.IsClassification(output, batch.Targets) ? Metrics.TryCountCorrect(output, batch.Targets)
                          : Metrics.IsSoftClassification(output, batch.Targets) ? Metrics.CountCorrectSoft(output, batch.Targets) : -1;
                classification = hits >= 0;
                correct += Math.Max(hits, 0);
            }
            if (Progress is not null && (step % _progressInterval == 0 || step == batches))
                Progress(this, new TrainingProgress(epoch, epochs, step, batches,
                    (samples - samplesBefore) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), lossSum / samples,
                    secondsBefore + clock.Elapsed.TotalSeconds));
        }
        double lr = Optimizer.ParamGroups[0].Lr;
        double trainLoss = samples == 0 ? double.NaN : lossSum / samples;
        double trainAccuracy = classification && samples > 0 ? (double)correct / samples : double.NaN;

        double valLoss = double.NaN, valAccuracy = double.NaN;
        if (validation is not null) (valLoss, valAccuracy) = Validate(validation);

        foreach (var s in EpochSchedulers) s.Step();
        PlateauScheduler?.Step(validation is not null ? valLoss : trainLoss);
        Epoch = epoch;
        return new EpochRecord(epoch, trainLoss, trainAccuracy, valLoss, valAccuracy, lr, secondsBefore + clock.Elapsed.TotalSeconds);
    }

    (double Loss, double Accuracy) Validate(DataLoader validation)
    {
        bool wasTraining = Model.IsTraining;
        Model.Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            long samples = 0, correct = 0;
            double lossSum = 0;
            bool classification = true;
            foreach (var batch in validation)
            {
                using var scope = TensorScope.Begin();
                var output = Model.Forward(batch.Inputs);
                lossSum += Metrics.LossSum(LossFunction, output, batch.Targets);
                samples += batch.Size;
                long hits = !classification ? -1
                          : Metrics.IsClassification(output, batch.Targets) ? Metrics.TryCountCorrect(output, batch.Targets)
                          : Metrics.IsSoftClassification(output, batch.Targets) ? Metrics.CountCorrectSoft(output, batch.Targets) : -1;
                classification = hits >= 0;
                correct += Math.Max(hits, 0);
            }
            return samples == 0 ? (double.NaN, double.NaN)
                 : (lossSum / samples, classification ? (double)correct / samples : double.NaN);
        }
        finally
        {
            Model.Train(wasTraining);
        }
    }
}
