using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Tests;

/// <summary>The README's tour, run as written, so the first code a user reads keeps working.</summary>
[Collection("Globals")]
public class ReadmeTourTests
{
    [Fact]
    public void TourRunsAsWritten()
    {
        int savedThreads = Threading.NumThreads;
        try
        {
            Generator.ManualSeed(0);
            var x = Tensor.Randn(64, 784);
            var w = (Tensor.Randn(784, 10) * 0.05f).RequireGrad();
            var b = Tensor.Zeros(10).RequireGrad();

            var logits = x.MatMul(w) + b;
            var loss = (logits.LogSumExp(1) - logits.Max(1).Values).Mean();
            var grads = Autograd.Grad([loss], [w, b], retainGraph: true);
            loss.Backward();

            Assert.Equal(new[] { 784, 10 }, w.Grad!.Shape.ToArray());
            Assert.Equal(new[] { 10 }, b.Grad!.Shape.ToArray());
            Assert.Equal(grads[0].ToArray(), w.Grad.ToArray());
            Assert.Equal(grads[1].ToArray(), b.Grad.ToArray());
            // d loss / d b sums, over the batch, softmax(logits) minus the one-hot of the argmax, / 64: it sums to zero.
            Assert.Equal(0.0, b.Grad.ToArray().Sum(v => (double)v), 5);

            var before = w.ToArray();
            var step = w.Grad.ToArray();
            using (Autograd.NoGrad())
                w = (w - 0.1f * w.Grad!).RequireGrad();
            Assert.Equal(before[5] - 0.1f * step[5], w.ToArray()[5]);
            Assert.True(w.IsLeaf);

            GradCheck.Run(t => (t[0] * t[0]).Sum(), [Tensor.Randn(3, 4).RequireGrad()]).Check();
            Threading.NumThreads = 2;
        }
        finally { Threading.NumThreads = savedThreads; }
    }

    [Fact]
    public void TrainingTourRunsAsWritten()
    {
        Generator.ManualSeed(0);
        var model = new Sequential(
            new Linear(784, 128), new Relu(), new Dropout(0.2),
            new Linear(128, 10));
        var optimizer = new AdamW(model.Parameters(), lr: 1e-3);
        var criterion = new CrossEntropyLoss(labelSmoothing: 0.1);
        var images = Tensor.Randn(256, 784);
        var labels = Tensor.Randint(0, 10, [256]);

        float first = 0, last = 0;
        for (int step = 0; step < 100; step++)
        {
            using var scope = TensorScope.Begin();
            optimizer.ZeroGrad();
            var loss = criterion.Forward(model.Forward(images), labels);
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        model.Eval();
        var weights = model.StateDict();

        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias"], weights.Keys);
        // 256 random labels are memorized: the loss falls from about log 10 towards label smoothing's floor.
        Assert.InRange(first, 2.0f, 2.6f);
        Assert.True(last < 0.8f, $"loss after 100 steps: {last}");
        Assert.False(model.IsTraining);
    }

    [Fact]
    public void TrainerTourRunsAsWritten()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-readme-").FullName;
        try
        {
            var (train, source) = FashionMnist.LoadDefault(train: true);
            var (test, _) = FashionMnist.LoadDefault(train: false);
            var (validation, rest) = Dataset.StratifiedSplit(train, 0.1, new Generator(0));
            var stats = ChannelStats.Compute(rest);
            var normalized = new TensorDataset(stats.Apply(train.Inputs), train.Targets);
            var testSet = new TensorDataset(stats.Apply(test.Inputs), test.Targets);

            var net = new Sequential(new Flatten(), new Linear(784, 256), new Relu(), new Dropout(0.2), new Linear(256, 10));
            var trainer = new Trainer(net, new CrossEntropyLoss(), new AdamW(net.Parameters(), lr: 1e-3));
            trainer.Callbacks.Add(new EarlyStopping("val_loss", patience: 2, restoreBestWeights: true));
            var history = trainer.Fit(
                new DataLoader(new Subset(normalized, rest.Indices), batchSize: 128, shuffle: true),
                new DataLoader(new Subset(normalized, validation.Indices), batchSize: 512), epochs: 3);

            var result = Metrics.Evaluate(net, new DataLoader(testSet, batchSize: 512), new CrossEntropyLoss());
            SafeTensors.Save(Path.Combine(dir, "mlp.safetensors"), net.StateDict()); // the tour writes to the current folder

            Assert.Equal(3, history.Records.Count);
            Assert.InRange(result.Accuracy, 0.78, 1.0); // chance is 10%; three epochs of this MLP learn far more on the subset or the full set
            using var file = SafeTensorsFile.Open(Path.Combine(dir, "mlp.safetensors"));
            Assert.Equal(["1.weight", "1.bias", "4.weight", "4.bias"], file.Names);
            Assert.NotEmpty(source);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
