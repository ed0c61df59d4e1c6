using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Training;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TrainingTests;

public class MetricsTests
{
    // Four samples, three classes. Ranks of the target: sample 0 first, 1 second, 2 third, 3 first.
    static readonly Tensor Scores = T([
        0.9f, 0.05f, 0.05f,   // target 0, predicted 0
        0.6f, 0.3f, 0.1f,     // target 1, predicted 0 (target second)
        0.5f, 0.4f, 0.1f,     // target 2, predicted 0 (target third)
        0.1f, 0.2f, 0.7f],    // target 2, predicted 2
        4, 3);
    static readonly Tensor Targets = T([0, 1, 2, 2]);

    [Fact]
    public void Accuracy_And_TopK_KnownValues()
    {
        Assert.Equal(0.5, Metrics.Accuracy(Scores, Targets));
        Assert.Equal(0.75, Metrics.TopKAccuracy(Scores, Targets, 2));
        Assert.Equal(1.0, Metrics.TopKAccuracy(Scores, Targets, 3));
    }

    [Fact]
    public void Ties_CountTheFirstIndexAsPredicted_LikeArgmax()
    {
        var s = T([0.5f, 0.5f, 0.5f, 0.5f], 2, 2);
        Assert.Equal(0.5, Metrics.Accuracy(s, T([0, 1])));
        Assert.Equal(1.0, Metrics.TopKAccuracy(s, T([0, 1]), 2));
        Assert.Equal(new long[,] { { 1, 0 }, { 1, 0 } }, Metrics.ConfusionMatrix(s, T([0, 1]), 2));
    }

    [Fact]
    public void ConfusionMatrix_FromHandMadeLabels_RowsAreTrueClasses()
    {
        var predicted = T([0, 1, 1, 2, 2, 2, 0, 1]);
        var actual = T([0, 0, 1, 2, 2, 1, 2, 1]);
        var m = Metrics.ConfusionMatrix(predicted, actual, 3);
        Assert.Equal(new long[,] { { 1, 1, 0 }, { 0, 2, 1 }, { 1, 0, 2 } }, m);
        Assert.Equal([0.5, 2.0 / 3, 2.0 / 3], Metrics.PerClassAccuracy(m));
    }

    [Fact]
    public void ConfusionMatrix_FromScores_UsesArgmax()
    {
        var m = Metrics.ConfusionMatrix(Scores, Targets, 3);
        Assert.Equal(new long[,] { { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 1 } }, m);
        Assert.Equal([1.0, 0.0, 0.5], Metrics.PerClassAccuracy(m));
    }

    [Fact]
    public void PerClassAccuracy_ClassWithoutSamples_IsNaN()
    {
        var acc = Metrics.PerClassAccuracy(new long[,] { { 2, 0 }, { 0, 0 } });
        Assert.Equal(1.0, acc[0]);
        Assert.True(double.IsNaN(acc[1]));
    }

    [Fact]
    public void Accumulator_OverBatches_EqualsTheWholeSet()
    {
        var acc = new MetricsAccumulator(topK: 2);
        acc.Add(T([0.9f, 0.05f, 0.05f, 0.6f, 0.3f, 0.1f], 2, 3), T([0, 1]), lossSum: 1.0);
        acc.Add(T([0.5f, 0.4f, 0.1f, 0.1f, 0.2f, 0.7f], 2, 3), T([2, 2]), lossSum: 3.0);
        Assert.Equal(4, acc.Samples);
        Assert.Equal(1.0, acc.Loss);
        Assert.Equal(0.5, acc.Accuracy);
        Assert.Equal(0.75, acc.TopKAccuracy);
        Assert.Equal(Metrics.ConfusionMatrix(Scores, Targets, 3), acc.ConfusionMatrix);
        Assert.Equal([1.0, 0.0, 0.5], acc.PerClassAccuracy);
    }

    [Fact]
    public void Accumulator_Empty_IsNaN_AndTopKIsCappedAtTheClassCount()
    {
        var acc = new MetricsAccumulator();
        Assert.True(double.IsNaN(acc.Loss) && double.IsNaN(acc.Accuracy) && double.IsNaN(acc.TopKAccuracy));
        acc.Add(T([0.1f, 0.9f], 1, 2), T([0]));
        Assert.Equal(1.0, acc.TopKAccuracy); // k = 5 becomes 2
        Assert.True(double.IsNaN(acc.Loss));  // no loss was added
    }

    [Fact]
    public void Evaluate_MatchesTheWholeSetAndRestoresTheMode()
    {
        var model = new Linear(2, 2, generator: new Generator(3));
        var data = TrainingData.Separable(7, 9);
        model.Train();
        var m = Metrics.Evaluate(model, new DataLoader(data, batchSize: 3), new CrossEntropyLoss(), topK: 1);
        Assert.True(model.IsTraining);
        Tensor output;
        float loss;
        using (Autograd.NoGrad())
        {
            output = model.Forward(data.Inputs);
            loss = new CrossEntropyLoss().Forward(output, data.Targets).Item();
        }
        Assert.Equal(7, m.Samples);
        Assert.Equal(loss, m.Loss, 5);
        Assert.Equal(Metrics.Accuracy(output, data.Targets), m.Accuracy, 12);
        Assert.Equal(m.Accuracy, m.TopKAccuracy, 12);
        Assert.Equal(Metrics.ConfusionMatrix(output, data.Targets, 2), m.ConfusionMatrix);
    }

    [Fact]
    public void BadInput_ClearErrors()
    {
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.TopKAccuracy(Scores, Targets, 4));
        Assert.StartsWith("k (4) must be between 1 and the number of classes (3)", k.Message);
        var t = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(Scores, T([0, 3, 1, 1])));
        Assert.StartsWith("TopKAccuracy: target 3 at row 1 is not a class index in [0, 3)", t.Message);
        var f = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(Scores, T([0, 1.5f, 1, 1]), 3));
        Assert.StartsWith("ConfusionMatrix: target 1.5 at row 1 is not a class index in [0, 3)", f.Message);
        var p = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(T([0, 5]), T([0, 1]), 3));
        Assert.StartsWith("ConfusionMatrix: prediction 5 at row 1 is not a class index in [0, 3)", p.Message);
        var s = Assert.Throws<ShapeException>(() => Metrics.Accuracy(Scores, T([0, 1])));
        Assert.StartsWith("TopKAccuracy: expected scores of shape (N, C) and targets of shape (N); got scores [4, 3] and targets [2]", s.Message);
        var c = Assert.Throws<ShapeException>(() => Metrics.ConfusionMatrix(Scores, Targets, 4));
        Assert.StartsWith("ConfusionMatrix: expected scores with 4 classes; got [4, 3]", c.Message);
        var acc = new MetricsAccumulator();
        acc.Add(Scores, Targets);
        var a = Assert.Throws<ShapeException>(() => acc.Add(T([1f, 2f], 1, 2), T([0])));
        Assert.StartsWith("MetricsAccumulator: expected scores with 3 classes (as in the first batch); got [1, 2]", a.Message);
    }
}
