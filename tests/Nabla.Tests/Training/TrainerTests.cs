using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Tests.TrainingTests.TrainingData;

namespace Nabla.Tests.TrainingTests;

public class TrainerTests
{
    static (Linear Model, Trainer Trainer) Make(double lr = 0.5)
    {
        var model = new Linear(2, 2, generator: new Generator(3));
        return (model, new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: lr)));
    }

    [Fact]
    public void Fit_LearnsSeparableData_LossFallsAndAccuracyReachesOne()
    {
        var (_, trainer) = Make();
        var train = new DataLoader(Separable(64, 1), batchSize: 16, shuffle: true, generator: new Generator(5));
        var val = new DataLoader(Separable(32, 2), batchSize: 10);

        var history = trainer.Fit(train, val, epochs: 25);

        Assert.Equal(25, history.Records.Count);
        Assert.False(history.StoppedEarly);
        Assert.Equal(Enumerable.Range(1, 25), history.Records.Select(r => r.Epoch));
        var losses = history.Values("loss");
        Assert.True(losses[^1] < losses[0] / 3, $"loss {losses[0]} -> {losses[^1]}");
        Assert.True(history.Records[^1].ValidationLoss < history.Records[0].ValidationLoss);
        Assert.Equal(1.0, history.Records[^1].TrainAccuracy);
        Assert.Equal(1.0, history.Records[^1].ValidationAccuracy);
        Assert.All(history.Records, r => Assert.Equal(0.5, r.LearningRate));
        Assert.All(history.Records, r => Assert.True(r.Seconds >= 0));
        Assert.Equal(25 * 4, trainer.GlobalStep);
    }

    [Fact]
    public void Fit_WithoutValidation_RecordsNaNForValidationMetrics()
    {
        var (_, trainer) = Make();
        var history = trainer.Fit(new DataLoader(Separable(8, 1), batchSize: 4), epochs: 2);
        Assert.Equal(2, history.Records.Count);
        Assert.All(history.Records, r => Assert.True(double.IsNaN(r.ValidationLoss) && double.IsNaN(r.ValidationAccuracy)));
        Assert.All(history.Records, r => Assert.True(double.IsFinite(r.TrainLoss)));
    }

    [Fact]
    public void Fit_TrainLossIsPerSampleMeanOfTheBatchLosses()
    {
        // lr = 0 keeps the weights fixed, so the epoch's loss equals the loss over the whole set
        // even with a short last batch (5 = 2 + 2 + 1).
        var model = new Linear(2, 2, generator: new Generator(3));
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0));
        var data = Separable(5, 4);
        var history = trainer.Fit(new DataLoader(data, batchSize: 2), epochs: 1);
        float whole;
        using (Autograd.NoGrad()) whole = new CrossEntropyLoss().Forward(model.Forward(data.Inputs), data.Targets).Item();
        Assert.Equal(whole, history.Records[0].TrainLoss, 5);
        var m = Metrics.Evaluate(model, new DataLoader(data, batchSize: 2), new CrossEntropyLoss());
        Assert.Equal(whole, m.Loss, 5);
        Assert.Equal(m.Accuracy, history.Records[0].TrainAccuracy, 12);
    }

    [Fact]
    public void Fit_TrainsInTrainModeValidatesInEvalWithoutGrad_AndRestoresTheMode()
    {
        var model = new ModeProbe(1);
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0.1));
        model.Eval();
        trainer.Fit(new DataLoader(Separable(4, 1), batchSize: 2), new DataLoader(Separable(3, 2), batchSize: 3), epochs: 2);

        Assert.False(model.IsTraining);
        // Per epoch: two training batches, then one validation batch.
        var expected = new[] { (true, true), (true, true), (false, false), (true, true), (true, true), (false, false) };
        Assert.Equal(expected, model.Calls);

        model.Train();
        trainer.Fit(new DataLoader(Separable(4, 1), batchSize: 4), new DataLoader(Separable(3, 2), batchSize: 3), epochs: 1);
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void Fit_NaNLoss_ThrowsNamingEpochAndStep_AndRestoresMode()
    {
        var data = Separable(8, 1);
        var x = data.Inputs.ToArray();
        x[2 * 5] = float.NaN; // sample 5 is in the third batch of two
        var bad = new TensorDataset(Tensor.FromArray(x, 8, 2), data.Targets);
        var (model, trainer) = Make();
        model.Eval();
        var before = model.StateDict()["weight"].ToArray();

        var ex = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(new DataLoader(bad, batchSize: 2), epochs: 3));

        Assert.StartsWith("Loss is NaN at epoch 1, step 3 (global step 3); training stopped before the optimizer step.", ex.Message);
        Assert.Contains("hint: lower the learning rate", ex.Message);
        Assert.Equal((1, 3, 3), (ex.Epoch, ex.Step, ex.GlobalStep));
        Assert.True(double.IsNaN(ex.Value));
        Assert.False(model.IsTraining);
        Assert.Equal((0, 2), (trainer.Epoch, trainer.GlobalStep)); // no epoch completed; two steps taken
        Assert.All(model.StateDict()["weight"].ToArray(), w => Assert.True(float.IsFinite(w)));
        Assert.NotEqual(before, model.StateDict()["weight"].ToArray()); // two good steps were taken
    }

    [Fact]
    public void Fit_InfiniteLossInSecondEpoch_NamesThatEpoch()
    {
        var model = new Linear(2, 2, generator: new Generator(3));
        var trainer = new Trainer(model, new MseLoss(), new Sgd(model.Parameters(), lr: 0));
        var x = new float[] { 1, 1, 1, 1 };
        var y = new float[] { 0, 0, float.PositiveInfinity, 0 };
        var data = new TensorDataset(Tensor.FromArray(x, 2, 2), Tensor.FromArray(y, 2, 2));
        var loader = new DataLoader(data, batchSize: 1);
        var ex = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(loader, epochs: 1));
        Assert.StartsWith("Loss is +Infinity at epoch 1, step 2 (global step 2)", ex.Message);
    }

    [Fact]
    public void Fit_EpochSchedulerStepsOncePerEpoch_StepSchedulerEveryBatch()
    {
        var (_, trainer) = Make(lr: 0.1);
        trainer.EpochSchedulers.Add(new StepLr(trainer.Optimizer, stepSize: 1, gamma: 0.5));
        var h = trainer.Fit(new DataLoader(Separable(8, 1), batchSize: 4), epochs: 3);
        Assert.Equal([0.1, 0.05, 0.025], h.Values("lr"), new Close(1e-12));

        var (_, t2) = Make(lr: 0.1);
        t2.StepSchedulers.Add(new ExponentialLr(t2.Optimizer, gamma: 0.5));
        var h2 = t2.Fit(new DataLoader(Separable(8, 1), batchSize: 4), epochs: 2);
        Assert.Equal([0.1 / 4, 0.1 / 16], h2.Values("lr"), new Close(1e-12));
    }

    [Fact]
    public void Fit_PlateauSchedulerSeesTheValidationLoss()
    {
        // The trainer's lr = 0 keeps the validation loss constant; the plateau scheduler drives a
        // second optimizer so its cuts are visible: epoch 1 sets the best, epochs 2 and 3 each cut.
        var model = new Linear(2, 2, generator: new Generator(3));
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: 0));
        var watched = new Sgd(new Linear(1, 1).Parameters(), lr: 1);
        var plateau = new ReduceLrOnPlateau(watched, patience: 0);
        trainer.PlateauScheduler = plateau;
        var h = trainer.Fit(new DataLoader(Separable(8, 1), batchSize: 4), new DataLoader(Separable(4, 2), batchSize: 4), epochs: 3);
        Assert.Equal(3, plateau.LastEpoch);
        Assert.Equal(h.Records[0].ValidationLoss, plateau.Best);
        Assert.NotEqual(h.Records[0].TrainLoss, h.Records[0].ValidationLoss);
        Assert.Equal(0.01, plateau.GetLastLr()[0], 12);
    }

    [Fact]
    public void Fit_MaxGradNorm_BoundsEachUpdate()
    {
        var (model, trainer) = Make(lr: 1);
        trainer.MaxGradNorm = 1e-4;
        var before = model.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        trainer.Fit(new DataLoader(Separable(16, 1), batchSize: 4), epochs: 1);
        var after = model.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        double moved = Math.Sqrt(before.Zip(after, (a, b) => (double)(a - b) * (a - b)).Sum());
        // Four SGD steps of lr 1 with gradients of norm at most 1e-4 move at most 4e-4 in total.
        Assert.InRange(moved, 1e-6, 4e-4 * 1.001);
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.MaxGradNorm = 0);
    }

    [Fact]
    public void Progress_ReportsEveryBatchWithRunningLoss()
    {
        var (_, trainer) = Make();
        var events = new List<TrainingProgress>();
        trainer.Progress += (_, p) => events.Add(p);
        var h = trainer.Fit(new DataLoader(Separable(10, 1), batchSize: 4), epochs: 2);

        Assert.Equal([(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)], events.Select(e => (e.Epoch, e.Batch)));
        Assert.All(events, e => Assert.Equal((2, 3), (e.Epochs, e.Batches)));
        Assert.All(events, e => Assert.True(e.SamplesPerSecond > 0 && e.RunningLoss > 0));
        Assert.Equal(h.Records[0].TrainLoss, events[2].RunningLoss, 12);
        Assert.Equal(h.Records[1].TrainLoss, events[5].RunningLoss, 12);
    }

    [Fact]
    public void Progress_IntervalSkipsBatchesButReportsTheLast()
    {
        var (_, trainer) = Make();
        var batches = new List<int>();
        trainer.ProgressInterval = 2;
        trainer.Progress += (_, p) => batches.Add(p.Batch);
        trainer.Fit(new DataLoader(Separable(10, 1), batchSize: 2), epochs: 1);
        Assert.Equal([2, 4, 5], batches);
    }

    [Fact]
    public void Callback_StopsTraining_WithItsReason()
    {
        var (_, trainer) = Make();
        var stop = new EarlyStopping(monitor: "loss", patience: 0, minDelta: 10);
        trainer.Callbacks.Add(stop);
        var h = trainer.Fit(new DataLoader(Separable(8, 1), batchSize: 4), epochs: 10);
        Assert.Equal(2, h.Records.Count);
        Assert.True(h.StoppedEarly);
        Assert.StartsWith("loss did not improve by more than 10 for 1 epoch after epoch 1 (best ", h.StopReason);
        Assert.Equal(2, stop.StoppedEpoch);
        Assert.Equal(2, trainer.Epoch);
    }

    [Fact]
    public void Callbacks_AllSeeTheEpochThatStops_FirstReasonWins()
    {
        var (_, trainer) = Make();
        var first = new EarlyStopping(monitor: "loss", patience: 0, minDelta: 10);
        var second = new EarlyStopping(monitor: "lr", patience: 0);
        trainer.Callbacks.Add(first);
        trainer.Callbacks.Add(second);
        var h = trainer.Fit(new DataLoader(Separable(8, 1), batchSize: 4), epochs: 5);
        Assert.Equal(2, h.Records.Count);
        Assert.Equal(first.StopReason, h.StopReason);
        Assert.Equal("lr did not improve by more than 0 for 1 epoch after epoch 1 (best 0.5)", second.StopReason);
    }

    [Fact]
    public void History_UnknownMetric_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new History().Values("val_acc"));
        Assert.StartsWith("Unknown metric 'val_acc'; expected one of loss, accuracy, val_loss, val_accuracy, lr", ex.Message);
    }

    [Fact]
    public void Fit_NonScalarLoss_Throws()
    {
        var model = new Linear(2, 2, generator: new Generator(3));
        var trainer = new Trainer(model, new CrossEntropyLoss(Reduction.None), new Sgd(model.Parameters(), lr: 0.1));
        var ex = Assert.Throws<ArgumentException>(() => trainer.Fit(new DataLoader(Separable(4, 1), batchSize: 4), epochs: 1));
        Assert.StartsWith("Training needs a scalar loss; got shape [4]\nhint: use Reduction.Mean or Reduction.Sum", ex.Message);
    }

    sealed class Close(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tol;
        public int GetHashCode(double obj) => 0;
    }
}

public class TrainerRegressionTests
{
    /// <summary>Mean squared error of an (N, 1) output against (N) targets: a regression whose shapes look like classification.</summary>
    sealed class ColumnMse() : Loss(Reduction.Mean)
    {
        protected override Tensor ForwardCore(Tensor input, Tensor target) =>
            Loss.MseLoss(input.Reshape(input.Shape[0]), target);
    }

    [Fact]
    public void Fit_Regression_LearnsAndReportsNoAccuracy()
    {
        var g = new Generator(2);
        var x = Tensor.Rand([32, 2], g).ToArray();
        var y = new float[32];
        for (int i = 0; i < 32; i++) y[i] = 0.7f * x[2 * i] - 0.2f * x[2 * i + 1] + 0.05f; // not class indices
        var data = new TensorDataset(Tensor.FromArray(x, 32, 2), Tensor.FromArray(y, 32));
        var model = new Linear(2, 1, generator: new Generator(3));
        var trainer = new Trainer(model, new ColumnMse(), new Sgd(model.Parameters(), lr: 0.3));
        var h = trainer.Fit(new DataLoader(data, batchSize: 8), new DataLoader(data, batchSize: 8), epochs: 30);
        Assert.True(h.Records[^1].TrainLoss < h.Records[0].TrainLoss / 5);
        Assert.All(h.Records, r => Assert.True(double.IsNaN(r.TrainAccuracy) && double.IsNaN(r.ValidationAccuracy)));
    }
}
