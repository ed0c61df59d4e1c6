using Nabla.Nn;
using Nabla.Training;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TrainingTests;

public class McDropoutTests
{
    /// <summary>Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear, all seeded.</summary>
    static Sequential Model(ulong seed, double p = 0.5) =>
        new(new Linear(4, 16, generator: new Generator(seed)),
            new BatchNorm1d(16),
            new Relu(),
            new Dropout(p, generator: new Generator(seed + 100)),
            new Linear(16, 3, generator: new Generator(seed + 200)));

    static Sequential TrainedBatchNormModel(ulong seed, double p = 0.5)
    {
        var m = Model(seed, p);
        // A few training-mode passes give batch norm running statistics that differ from 0 and 1.
        using (Autograd.NoGrad())
            for (int i = 0; i < 3; i++) m.Forward(U(seed + (ulong)i, -2, 2, 32, 4));
        return m;
    }

    [Fact]
    public void ModesAreRestored_ModuleByModule()
    {
        var model = Model(1);
        model.Train();
        model[1].Eval(); // mixed: batch norm in eval, the rest in training
        model[4].Eval();
        var before = model.Modules().Select(m => m.IsTraining).ToArray();
        McDropout.Predict(model, U(2, -1, 1, 5, 4), samples: 3);
        Assert.Equal(before, model.Modules().Select(m => m.IsTraining).ToArray());
        McDropout.Deterministic(model, U(2, -1, 1, 5, 4));
        Assert.Equal(before, model.Modules().Select(m => m.IsTraining).ToArray());

        model.Eval();
        model[3].Train();
        before = model.Modules().Select(m => m.IsTraining).ToArray();
        McDropout.Predict(model, U(2, -1, 1, 5, 4), samples: 2);
        Assert.Equal(before, model.Modules().Select(m => m.IsTraining).ToArray());
    }

    [Fact]
    public void ModesAreRestored_WhenAForwardPassThrows()
    {
        var model = Model(1);
        model.Train();
        model[1].Eval();
        var before = model.Modules().Select(m => m.IsTraining).ToArray();
        Assert.Throws<ShapeException>(() => McDropout.Predict(model, U(2, -1, 1, 5, 7), samples: 2));
        Assert.Equal(before, model.Modules().Select(m => m.IsTraining).ToArray());
        Assert.Throws<ShapeException>(() => McDropout.Deterministic(model, U(2, -1, 1, 5, 7)));
        Assert.Equal(before, model.Modules().Select(m => m.IsTraining).ToArray());
    }

    [Fact]
    public void BatchNormRunningStatistics_AreBitwiseUnchanged()
    {
        var model = TrainedBatchNormModel(3);
        model.Train(); // batch norm would update its statistics if MC dropout left it in training
        var bn = (BatchNorm1d)model[1];
        var mean = bn.RunningMean!.Data.ToArray();
        var variance = bn.RunningVar!.Data.ToArray();
        var count = bn.NumBatchesTracked!.Data.ToArray();
        McDropout.Predict(model, U(4, -2, 2, 20, 4), samples: 4, batchSize: 7);
        McDropout.Deterministic(model, U(4, -2, 2, 20, 4), batchSize: 7);
        Assert.Equal(mean, bn.RunningMean.Data.ToArray());
        Assert.Equal(variance, bn.RunningVar.Data.ToArray());
        Assert.Equal(count, bn.NumBatchesTracked.Data.ToArray());
    }

    [Fact]
    public void DropoutZero_EqualsTheDeterministicPass_WithZeroMutualInformation()
    {
        var model = TrainedBatchNormModel(5, p: 0);
        model.Train();
        var x = U(6, -2, 2, 10, 4);
        var mc = McDropout.Predict(model, x, samples: 3, batchSize: 4);
        var det = McDropout.Deterministic(model, x);
        Close(det.ToArray(), mc.MeanProbabilities, 1e-6f);
        // Batch norm in training mode would normalize with the batch's statistics instead.
        Assert.NotEqual(det.ToArray(), Nabla.Nn.Functional.Softmax(model.Forward(x), 1).ToArray());
        for (int i = 0; i < 10; i++)
        {
            Assert.True(mc.MutualInformation[i] < 1e-12, $"MI {mc.MutualInformation[i]}");
            Assert.Equal(mc.PredictiveEntropy[i], mc.ExpectedEntropy[i], 9);
        }
        Assert.Equal(Calibration.Entropy(det), mc.PredictiveEntropy, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Deterministic_InChunks_MatchesOnePass()
    {
        var model = TrainedBatchNormModel(7);
        var x = U(8, -2, 2, 11, 4);
        Close(McDropout.Deterministic(model, x).ToArray(), McDropout.Deterministic(model, x, batchSize: 3), 1e-6f);
    }

    [Fact]
    public void MutualInformation_IsEntropyGap_NonNegativeByJensen_AndPositiveWhenPassesDisagree()
    {
        bool anyPositive = false;
        for (ulong seed = 0; seed < 6; seed++)
        {
            var model = TrainedBatchNormModel(10 + seed, p: 0.2 + 0.1 * seed);
            var r = McDropout.Predict(model, U(20 + seed, -3, 3, 25, 4), samples: 8, batchSize: 10);
            var mean = r.MeanProbabilities.ToArray();
            Assert.Equal(Calibration.Entropy(r.MeanProbabilities), r.PredictiveEntropy, (a, b) => Math.Abs(a - b) < 1e-5);
            for (int i = 0; i < 25; i++)
            {
                double gap = r.PredictiveEntropy[i] - r.ExpectedEntropy[i];
                Assert.True(gap >= -1e-12, $"H[mean] - E[H] = {gap} (Jensen violated)");
                Assert.Equal(Math.Max(0, gap), r.MutualInformation[i]);
                anyPositive |= r.MutualInformation[i] > 1e-3;
                Assert.Equal(1.0, mean[i * 3] + (double)mean[i * 3 + 1] + mean[i * 3 + 2], 5);
            }
        }
        Assert.True(anyPositive, "dropout passes never disagreed: dropout was not sampling");
    }

    [Fact]
    public void SeededDropout_IsReproducible()
    {
        var model = TrainedBatchNormModel(30);
        var x = U(31, -2, 2, 9, 4);
        var drop = (Dropout)model[3];
        drop.Generator!.Seed(5);
        var a = McDropout.Predict(model, x, samples: 5, batchSize: 4);
        drop.Generator.Seed(5);
        var b = McDropout.Predict(model, x, samples: 5, batchSize: 4);
        Assert.Equal(a.MeanProbabilities.ToArray(), b.MeanProbabilities.ToArray());
        Assert.Equal(a.MutualInformation, b.MutualInformation);
        Assert.Equal(5, a.Samples);
        var c = McDropout.Predict(model, x, samples: 5, batchSize: 4);
        Assert.NotEqual(a.MeanProbabilities.ToArray(), c.MeanProbabilities.ToArray());
    }

    [Fact]
    public void Dropout2d_CountsAsDropout()
    {
        var model = new Sequential(new Dropout2d(0.5, generator: new Generator(1)), new Flatten(), new Linear(8, 2, generator: new Generator(2)));
        var r = McDropout.Predict(model, U(3, -1, 1, 6, 2, 2, 2), samples: 6);
        Shape([6, 2], r.MeanProbabilities);
        Assert.Contains(r.MutualInformation, v => v > 0);
    }

    [Fact]
    public void Errors()
    {
        var model = Model(1);
        var x = U(2, -1, 1, 5, 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => McDropout.Predict(model, x, samples: 0));
        Assert.Equal("samples", e.ParamName);
        Assert.StartsWith("McDropout.Predict: samples (0) must be at least 1", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => McDropout.Predict(model, x, samples: 2, batchSize: 0));
        Assert.StartsWith("McDropout.Predict: batchSize (0) must be at least 1", e.Message);
        Assert.StartsWith("McDropout.Deterministic: batchSize (-1) must be at least 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => McDropout.Deterministic(model, x, batchSize: -1)).Message);

        var noDropout = new Sequential(new Linear(4, 3), new Relu());
        var a = Assert.Throws<ArgumentException>(() => McDropout.Predict(noDropout, x, samples: 2));
        Assert.StartsWith("MC dropout needs at least one Dropout module; the model has none", a.Message);
        Assert.Equal("model", a.ParamName);

        var notClassifier = new Sequential(new Dropout(0.5));
        Assert.Equal("McDropout.Predict: expected model outputs (logits) of shape (2, C); got [2, 3, 4]\nhint: MC dropout needs a classifier whose output is one row of class logits per input",
            Assert.Throws<ShapeException>(() => McDropout.Predict(notClassifier, U(1, 0, 1, 2, 3, 4), samples: 2)).Message);
        Assert.StartsWith("McDropout.Deterministic: expected inputs with the samples along the first dimension; got a zero-dimensional tensor",
            Assert.Throws<ShapeException>(() => McDropout.Deterministic(model, Tensor.Scalar(1))).Message);
    }
}
