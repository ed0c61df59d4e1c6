using Nabla.Training;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TrainingTests;

public class EnsembleTests
{
    // Member A: [0, 0] -> [1/2, 1/2]; member B: [0, ln 3] -> [1/4, 3/4].
    static readonly Tensor A = T([0f, 0f, 5f, 1f], 2, 2);
    static readonly Tensor B = T([0f, MathF.Log(3), 5f, 1f], 2, 2);

    [Fact]
    public void Probabilities_AveragesTheSoftmaxes()
    {
        var p = Ensemble.Combine([A, B]);
        float s = 1 / (1 + MathF.Exp(-4));
        Close([0.375f, 0.625f, s, 1 - s], p, 1e-6f);
    }

    [Fact]
    public void Logits_AveragesTheLogitsThenSoftmax()
    {
        // [0, ln 3 / 2] -> [1 / (1 + √3), √3 / (1 + √3)].
        var p = Ensemble.Combine([A, B], EnsembleCombine.Logits);
        float r = MathF.Sqrt(3);
        float s = 1 / (1 + MathF.Exp(-4));
        Close([1 / (1 + r), r / (1 + r), s, 1 - s], p, 1e-6f);
    }

    [Fact]
    public void OneMember_IsItsSoftmax_EitherWay()
    {
        Close([0.25f, 0.75f], Ensemble.Combine([T([0f, MathF.Log(3)], 1, 2)]), 1e-6f);
        Close([0.25f, 0.75f], Ensemble.Combine([T([0f, MathF.Log(3)], 1, 2)], EnsembleCombine.Logits), 1e-6f);
    }

    [Fact]
    public void Errors_NameTheMember()
    {
        Assert.Equal("Ensemble.Combine: expected every member of member 0's shape [2, 2]; got member 2 of shape [2, 3]",
            Assert.Throws<ShapeException>(() => Ensemble.Combine([A, B, Tensor.Zeros(2, 3)])).Message);
        Assert.Equal("Ensemble.Combine: expected member logits of shape (N, C); got member 0 of shape [4]",
            Assert.Throws<ShapeException>(() => Ensemble.Combine([T([1, 2, 3, 4])])).Message);
        Assert.StartsWith("Ensemble.Combine: expected at least one member's logits; got none",
            Assert.Throws<ArgumentException>(() => Ensemble.Combine([])).Message);
        Assert.StartsWith("Ensemble.Combine: member 1 is null",
            Assert.Throws<ArgumentNullException>(() => Ensemble.Combine([A, null!])).Message);
        Assert.StartsWith("Ensemble.Combine: unknown combination 7",
            Assert.Throws<ArgumentException>(() => Ensemble.Combine([A], (EnsembleCombine)7)).Message);
    }
}
