using Nabla.Nn;
using Nabla.Training;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TrainingTests;

public class TemperatureScalingTests
{
    /// <summary>Logits z with labels drawn from softmax(z): a calibrated model by construction.</summary>
    static (float[] Logits, Tensor Targets) Calibrated(int n, int c, ulong seed)
    {
        var gen = new Generator(seed);
        var z = Tensor.Randn([n, c], gen).ToArray();
        var y = new float[n];
        var p = new double[c];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < c; j++) s += p[j] = Math.Exp(2 * z[i * c + j]);
            double u = gen.NextDouble() * s, acc = 0;
            int label = c - 1;
            for (int j = 0; j < c; j++) { acc += p[j]; if (u < acc) { label = j; break; } }
            y[i] = label;
        }
        for (int i = 0; i < z.Length; i++) z[i] *= 2;
        return (z, T(y));
    }

    [Fact]
    public void Fit_OverconfidentByThree_RecoversThree_AndIsANllMinimum()
    {
        const int n = 40_000, c = 5;
        var (z, y) = Calibrated(n, c, 3);
        var overconfident = new float[z.Length];
        for (int i = 0; i < z.Length; i++) overconfident[i] = 3 * z[i];
        var logits = T(overconfident, n, c);

        double t = TemperatureScaling.Fit(logits, y);
        Assert.InRange(t, 2.7, 3.3);

        double Nll(double temp) => Calibration.NegativeLogLikelihood(TemperatureScaling.Apply(logits, temp), y);
        double best = Nll(t);
        Assert.True(best <= Nll(1), $"NLL {best} at T = {t} vs {Nll(1)} at T = 1");
        Assert.True(best <= Nll(t * 1.1));
        Assert.True(best <= Nll(t / 1.1));
        Assert.True(Calibration.ExpectedCalibrationError(TemperatureScaling.Apply(logits, t), y) <
                    Calibration.ExpectedCalibrationError(TemperatureScaling.Apply(logits, 1), y));
    }

    [Fact]
    public void Fit_CalibratedModel_GivesAboutOne()
    {
        var (z, y) = Calibrated(20_000, 3, 5);
        Assert.InRange(TemperatureScaling.Fit(T(z, 20_000, 3), y), 0.9, 1.1);
    }

    [Fact]
    public void Apply_DividesLogitsBeforeSoftmax_KeepingTheArgmax()
    {
        // [0, 2 ln 4] / 2 = [0, ln 4] -> [1/5, 4/5].
        var logits = T([0f, 2 * MathF.Log(4), 3f, -1f], 2, 2);
        var p = TemperatureScaling.Apply(logits, 2);
        Close([0.2f, 0.8f, 1 / (1 + MathF.Exp(-2)), 1 / (1 + MathF.Exp(2))], p);
        Close(Functional.Softmax(logits, 1).ToArray(), TemperatureScaling.Apply(logits, 1));
    }

    [Fact]
    public void Errors()
    {
        Assert.Equal("TemperatureScaling.Fit: expected logits of shape (N, C) and targets of shape (N) with N ≥ 1; got logits [2, 2] and targets [1]",
            Assert.Throws<ShapeException>(() => TemperatureScaling.Fit(T([1, 2, 3, 4], 2, 2), T([0]))).Message);
        Assert.Contains("got logits [0, 2] and targets [0]",
            Assert.Throws<ShapeException>(() => TemperatureScaling.Fit(Tensor.Zeros(0, 2), Tensor.Zeros(0))).Message);
        Assert.StartsWith("TemperatureScaling.Fit: target 5 at row 0",
            Assert.Throws<ArgumentException>(() => TemperatureScaling.Fit(T([1, 2], 1, 2), T([5]))).Message);
        Assert.Equal("TemperatureScaling.Apply: expected logits of shape (N, C); got [2]",
            Assert.Throws<ShapeException>(() => TemperatureScaling.Apply(T([1, 2]), 1)).Message);
        foreach (double bad in new[] { 0, -1, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureScaling.Apply(T([1, 2], 1, 2), bad));
            Assert.Equal("temperature", e.ParamName);
            Assert.StartsWith("TemperatureScaling.Apply: temperature must be positive and finite", e.Message);
        }
    }
}
