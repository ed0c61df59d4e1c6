using Nabla.Training;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TrainingTests;

public class CalibrationTests
{
    [Fact]
    public void Ece_PerfectlyCalibratedPredictor_IsNearZero()
    {
        // Each sample's label is the argmax with probability equal to the confidence: calibrated by construction.
        const int n = 200_000;
        var gen = new Generator(11);
        var p = new float[n * 2];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            float conf = 0.5f + 0.5f * gen.NextSingle();
            int top = gen.NextDouble() < 0.5 ? 0 : 1;
            p[i * 2 + top] = conf;
            p[i * 2 + 1 - top] = 1 - conf;
            y[i] = gen.NextDouble() < conf ? top : 1 - top;
        }
        double ece = Calibration.ExpectedCalibrationError(T(p, n, 2), T(y));
        Assert.True(ece < 0.01, $"ECE {ece}");
    }

    [Fact]
    public void Ece_AlwaysCertainAndHalfRight_IsHalf()
    {
        var p = T([1, 0, 1, 0, 1, 0, 1, 0], 4, 2);
        Assert.Equal(0.5, Calibration.ExpectedCalibrationError(p, T([0, 1, 0, 1])), 12);
    }

    [Fact]
    public void ReliabilityDiagram_HandComputedBins_AndEceFromThem()
    {
        var p = T([0.9f, 0.1f, 0.7f, 0.3f, 0.5f, 0.5f], 3, 2);
        var y = T([0, 1, 0]);
        var d = Calibration.ReliabilityDiagram(p, y, bins: 2);
        Assert.Equal(2, d.Length);
        // conf 0.5 is on bin 0's upper edge, which is inclusive; the tie predicts class 0.
        Assert.Equal((0.0, 0.5, 1L), (d[0].Lower, d[0].Upper, d[0].Count));
        Assert.Equal(0.5, d[0].MeanConfidence, 12);
        Assert.Equal(1.0, d[0].Accuracy, 12);
        Assert.Equal((0.5, 1.0, 2L), (d[1].Lower, d[1].Upper, d[1].Count));
        Assert.Equal(0.8, d[1].MeanConfidence, 6);
        Assert.Equal(0.5, d[1].Accuracy, 12);
        // ECE = 1/3 |1 - 0.5| + 2/3 |0.5 - 0.8|
        Assert.Equal(1.0 / 3 * 0.5 + 2.0 / 3 * 0.3, Calibration.ExpectedCalibrationError(p, y, bins: 2), 6);
    }

    [Fact]
    public void ReliabilityDiagram_EmptyBins_AreNaN()
    {
        var d = Calibration.ReliabilityDiagram(T([0.9f, 0.1f], 1, 2), T([0]), bins: 4);
        Assert.Equal(0L, d[0].Count);
        Assert.True(double.IsNaN(d[0].MeanConfidence) && double.IsNaN(d[0].Accuracy));
        Assert.Equal(1L, d[3].Count);
        Assert.Equal(0.75, d[3].Lower);
    }

    [Fact]
    public void Bins_EdgeCases()
    {
        // conf 1 in the last bin; conf exactly 1/15 on bin 0's (inclusive) upper edge; just above it in bin 1.
        Assert.Equal(14, Calibration.BinOf(1f, 15));
        Assert.Equal(0, Calibration.BinOf(1f / 15, 15));
        Assert.Equal(1, Calibration.BinOf(MathF.BitIncrement(1f / 15), 15));
        Assert.Equal(1, Calibration.BinOf(2f / 15, 15));
        Assert.Equal(0, Calibration.BinOf(0f, 15));
        for (int i = 1; i <= 15; i++) Assert.Equal(i - 1, Calibration.BinOf((float)(i / 15.0), 15));

        var d = Calibration.ReliabilityDiagram(T([1, 0], 1, 2), T([0]));
        Assert.Equal(1L, d[14].Count);
        // One class: confidence 1 always.
        var single = Calibration.ReliabilityDiagram(T([1f, 1f], 2, 1), T([0, 0]), bins: 1);
        Assert.Equal(2L, single[0].Count);
    }

    [Fact]
    public void Entropy_UniformIsLogC_OneHotIsZero()
    {
        var h = Calibration.Entropy(T([0.25f, 0.25f, 0.25f, 0.25f, 0, 1, 0, 0, 0.5f, 0.5f, 0, 0], 3, 4));
        Assert.Equal(Math.Log(4), h[0], 6);
        Assert.Equal(0.0, h[1]);
        Assert.Equal(Math.Log(2), h[2], 6);
    }

    [Fact]
    public void Brier_PerfectIsZero_UniformIsOneMinusOneOverC()
    {
        Assert.Equal(0.0, Calibration.BrierScore(T([0, 1, 0, 1, 0, 0], 2, 3), T([1, 0])));
        Assert.Equal(1 - 1.0 / 4, Calibration.BrierScore(T([0.25f, 0.25f, 0.25f, 0.25f], 1, 4), T([2])), 6);
        // Confidently wrong: (1 - 0)² + (0 - 1)² = 2.
        Assert.Equal(2.0, Calibration.BrierScore(T([1, 0], 1, 2), T([1])));
    }

    [Fact]
    public void Nll_KnownValues_AndClampAtZeroProbability()
    {
        var p = T([0.5f, 0.25f, 0.25f, 0.2f, 0.8f, 0f], 2, 3);
        Assert.Equal((Math.Log(2) - Math.Log(0.8)) / 2, Calibration.NegativeLogLikelihood(p, T([0, 1])), 6);
        Assert.Equal(-Math.Log(1e-12), Calibration.NegativeLogLikelihood(T([1, 0], 1, 2), T([1])), 9);
    }

    [Fact]
    public void EmptyInput_GivesNaN()
    {
        var p = Tensor.Zeros(0, 3);
        var y = Tensor.Zeros(0);
        Assert.True(double.IsNaN(Calibration.ExpectedCalibrationError(p, y)));
        Assert.True(double.IsNaN(Calibration.NegativeLogLikelihood(p, y)));
        Assert.True(double.IsNaN(Calibration.BrierScore(p, y)));
        Assert.Empty(Calibration.Entropy(p));
    }

    [Fact]
    public void ShapeMismatch_NamesTheOperationAndShapes()
    {
        var p = T([0.5f, 0.5f, 0.5f, 0.5f], 2, 2);
        var y = T([0, 1, 0]);
        var e = Assert.Throws<ShapeException>(() => Calibration.ExpectedCalibrationError(p, y));
        Assert.Equal("ReliabilityDiagram: expected probabilities of shape (N, C) and targets of shape (N); got probabilities [2, 2] and targets [3]", e.Message);
        Assert.Contains("NegativeLogLikelihood: expected", Assert.Throws<ShapeException>(() => Calibration.NegativeLogLikelihood(p, y)).Message);
        Assert.Contains("BrierScore: expected", Assert.Throws<ShapeException>(() => Calibration.BrierScore(T([0.5f, 0.5f]), T([0]))).Message);
        Assert.Equal("Entropy: expected probabilities of shape (N, C); got [4]",
            Assert.Throws<ShapeException>(() => Calibration.Entropy(T([0.25f, 0.25f, 0.25f, 0.25f]))).Message);
    }

    [Fact]
    public void BinsBelowOne_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Calibration.ExpectedCalibrationError(T([1, 0], 1, 2), T([0]), bins: 0));
        Assert.Equal("bins", e.ParamName);
        Assert.StartsWith("ReliabilityDiagram: bins (0) must be at least 1", e.Message);
    }

    [Fact]
    public void BadTargetOrNaNProbability_Throws()
    {
        Assert.StartsWith("BrierScore: target 2 at row 0 is not a class index in [0, 2)",
            Assert.Throws<ArgumentException>(() => Calibration.BrierScore(T([1, 0], 1, 2), T([2]))).Message);
        Assert.StartsWith("ReliabilityDiagram: probability NaN at row 1",
            Assert.Throws<ArgumentException>(() => Calibration.ReliabilityDiagram(T([1, 0, float.NaN, float.NaN], 2, 2), T([0, 0]))).Message);
    }
}
