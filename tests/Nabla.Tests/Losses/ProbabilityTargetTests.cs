using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.LossTests;

/// <summary>Cross-entropy against class probabilities (soft labels), PyTorch's second form of <c>F.cross_entropy</c>.</summary>
public class ProbabilityTargetTests
{
    static readonly Reduction[] Reductions = [Reduction.Mean, Reduction.Sum, Reduction.None];
    static string Message(Action a) => Assert.ThrowsAny<ArgumentException>(a).Message;

    /// <summary>One-hot rows of shape (N, C) (or (N, C, d) when spatial) for the given indices.</summary>
    static Tensor OneHot(Tensor classes, int c)
    {
        var ys = classes.ToArray();
        int n = classes.Rank == 0 ? 1 : classes.Dims[0], s = classes.Rank > 1 ? classes.Dims[1] : 1;
        var data = new float[ys.Length * c];
        for (int k = 0; k < ys.Length; k++) data[(k / s * c + (int)ys[k]) * s + k % s] = 1;
        int[] shape = classes.Rank == 0 ? [c] : classes.Rank == 1 ? [n, c] : [n, c, s];
        return T(data, shape);
    }

    /// <summary>-sum_c w_c t'_c log_softmax(x)_c per row of an (N, C) input, in float64 straight from the definition.</summary>
    static double[] Reference(float[] x, float[] t, int c, double eps, float[]? w)
    {
        int n = x.Length / c;
        var loss = new double[n];
        for (int k = 0; k < n; k++)
        {
            double m = double.NegativeInfinity;
            for (int j = 0; j < c; j++) m = Math.Max(m, x[k * c + j]);
            double z = 0;
            for (int j = 0; j < c; j++) z += Math.Exp(x[k * c + j] - m);
            double lse = m + Math.Log(z);
            for (int j = 0; j < c; j++)
                loss[k] += (w is null ? 1 : w[j]) * (t[k * c + j] * (1 - eps) + eps / c) * (lse - x[k * c + j]);
        }
        return loss;
    }

    [Fact]
    public void One_hot_probabilities_equal_class_indices_exactly()
    {
        var x = U(1, -4, 4, 6, 5);
        var y = T([0f, 4f, 2f, 2f, 1f, 3f]);
        var w = T([0.5f, 2f, 1f, 3f, 0.25f]);
        foreach (var r in Reductions)
        {
            Assert.Equal(Loss.CrossEntropy(x, y, r).ToArray(), Loss.CrossEntropy(x, OneHot(y, 5), r).ToArray());
            if (r != Reduction.Mean) // with weights PyTorch's mean differs: weight sum for indices, N for probabilities
                Assert.Equal(Loss.CrossEntropy(x, y, r, weight: w).ToArray(),
                    Loss.CrossEntropy(x, OneHot(y, 5), r, weight: w).ToArray());
        }
        var xs = U(2, -4, 4, 2, 3, 4);
        var ys = T([0f, 2f, 1f, 1f, 2f, 2f, 0f, 1f], 2, 4);
        Assert.Equal(Loss.CrossEntropy(xs, ys, Reduction.None).ToArray(),
            Loss.CrossEntropy(xs, OneHot(ys, 3), Reduction.None).ToArray());
        var xu = U(3, -4, 4, 5);
        Assert.Equal(Loss.CrossEntropy(xu, Tensor.Scalar(3f)).Item(), Loss.CrossEntropy(xu, OneHot(Tensor.Scalar(3f), 5)).Item());

        // the gradients agree too (softmax minus the one-hot), up to float rounding
        var a = x.Clone().RequireGrad();
        var b = x.Clone().RequireGrad();
        Loss.CrossEntropy(a, y, labelSmoothing: 0.1).Backward();
        Loss.CrossEntropy(b, OneHot(y, 5), labelSmoothing: 0.1).Backward();
        Close(a.Grad!.ToArray(), b.Grad!, 1e-6f);
        // and with smoothing the values agree up to rounding (the two kernels sum in a different order)
        Close(Loss.CrossEntropy(x, y, Reduction.None, 0.1, w).ToArray(),
            Loss.CrossEntropy(x, OneHot(y, 5), Reduction.None, 0.1, w), 1e-6f);
    }

    [Fact]
    public void Hand_computed_values()
    {
        // softmax([0, ln 3]) = [1/4, 3/4]; target [1/2, 1/2]: -(ln 1/4 + ln 3/4) / 2
        var x = T([0f, MathF.Log(3f), 0f, 0f], 2, 2);
        var t = T([0.5f, 0.5f, 0.25f, 0.75f], 2, 2);
        double l0 = -(Math.Log(0.25) + Math.Log(0.75)) / 2, l1 = Math.Log(2);
        Close([(float)l0, (float)l1], Loss.CrossEntropy(x, t, Reduction.None));
        Assert.Equal((l0 + l1) / 2, Loss.CrossEntropy(x, t).Item(), 1e-6);
        Assert.Equal(l0 + l1, Loss.CrossEntropy(x, t, Reduction.Sum).Item(), 1e-6);
        // weights [2, 1]: -(2 * 1/2 ln 1/4 + 1/2 ln 3/4), and the mean divides by N = 2, not by a weight sum
        var w = T([2f, 1f]);
        double w0 = -(Math.Log(0.25) + 0.5 * Math.Log(0.75)), w1 = Math.Log(2) * (2 * 0.25 + 0.75);
        Close([(float)w0, (float)w1], Loss.CrossEntropy(x, t, Reduction.None, weight: w));
        Assert.Equal((w0 + w1) / 2, Loss.CrossEntropy(x, t, weight: w).Item(), 1e-6);
        // negative entries and rows not summing to 1 are accepted, as PyTorch: [-1, 2] on [1/4, 3/4]
        Assert.Equal(Math.Log(0.25) - 2 * Math.Log(0.75),
            Loss.CrossEntropy(T([0f, MathF.Log(3f)], 1, 2), T([-1f, 2f], 1, 2)).Item(), 1e-6);
    }

    [Fact]
    public void Label_smoothing_mixes_the_target_with_the_uniform_distribution()
    {
        var x = U(4, -3, 3, 4, 5);
        var t = U(5, 0, 1, 4, 5);
        var w = T([0.5f, 2f, 1f, 3f, 0.25f]);
        foreach (double eps in new[] { 0.1, 0.5, 1.0 })
        {
            Close(Array.ConvertAll(Reference(x.ToArray(), t.ToArray(), 5, eps, null), v => (float)v),
                Loss.CrossEntropy(x, t, Reduction.None, eps));
            Close(Array.ConvertAll(Reference(x.ToArray(), t.ToArray(), 5, eps, w.ToArray()), v => (float)v),
                Loss.CrossEntropy(x, t, Reduction.None, eps, w));
        }
        // smoothing 1 ignores the target: the loss against the uniform distribution
        Assert.Equal(Loss.CrossEntropy(x, t, Reduction.None, 1.0).ToArray(),
            Loss.CrossEntropy(x, Tensor.Zeros(4, 5), Reduction.None, 1.0).ToArray());
    }

    [Fact]
    public void Gradient_is_softmax_minus_target_and_the_target_gets_none()
    {
        var x = T([0f, MathF.Log(3f), 0f, 0f], 2, 2).RequireGrad();
        var t = T([0.5f, 0.5f, 0.25f, 0.75f], 2, 2).RequireGrad();
        Loss.CrossEntropy(x, t, Reduction.Sum).Backward();
        Close([0.25f - 0.5f, 0.75f - 0.5f, 0.5f - 0.25f, 0.5f - 0.75f], x.Grad!);
        Assert.Null(t.Grad);
        // mean: divided by N; None: each row scaled by its own output gradient
        var x2 = x.Detach().RequireGrad();
        Loss.CrossEntropy(x2, t.Detach()).Backward();
        Close([-0.125f, 0.125f, 0.125f, -0.125f], x2.Grad!);
        var x3 = x.Detach().RequireGrad();
        (Loss.CrossEntropy(x3, t.Detach(), Reduction.None) * T([2f, 0f])).Sum().Backward();
        Close([-0.5f, 0.5f, 0f, 0f], x3.Grad!);
    }

    [Fact]
    public void Logits_in_the_thousands_are_stable()
    {
        var x = T([1000f, 1001f, 3000f, -3000f, -2000f, 2000f], 3, 2).RequireGrad();
        var t = T([0.5f, 0.5f, 1f, 0f, 0.25f, 0.75f], 3, 2);
        var loss = Loss.CrossEntropy(x, t, Reduction.None);
        // log(1 + e^-1) + 1/2, 0 (e^-6000 underflows), 4000 / 4
        Close([(float)(Math.Log(1 + Math.Exp(-1)) + 0.5), 0f, 1000f], loss);
        loss.Sum().Backward();
        double p = 1 / (1 + Math.E); // softmax([1000, 1001])[0]
        Close([(float)(p - 0.5), (float)(0.5 - p), 0f, 0f, -0.25f, 0.25f], x.Grad!);
    }

    [Fact]
    public void Module_and_functional_agree()
    {
        var x = U(6, -3, 3, 3, 4, 2);
        var t = U(7, 0, 1, 3, 4, 2);
        var w = T([1f, 2f, 0.5f, 1.5f]);
        foreach (var r in Reductions)
            Assert.Equal(Loss.CrossEntropy(x, t, r, 0.2, w).ToArray(),
                new CrossEntropyLoss(r, labelSmoothing: 0.2, weight: w).Forward(x, t).ToArray());
        Shape([3, 2], new CrossEntropyLoss(Reduction.None).Forward(x, t));
        Shape([], new CrossEntropyLoss(Reduction.None).Forward(U(8, -1, 1, 4), U(9, 0, 1, 4)));
    }

    [Fact]
    public void Errors_name_the_shape_or_the_non_finite_entry()
    {
        var x = Tensor.Zeros(4, 5);
        Assert.Equal("cross_entropy: expected a target of class probabilities of the input's shape [4, 5]; got [4, 3]\n" +
                     "hint: a target of class indices has shape [4]",
            Message(() => Loss.CrossEntropy(x, Tensor.Zeros(4, 3))));
        Assert.Equal("cross_entropy: expected a target of class probabilities of the input's shape [2, 3, 6]; got [2, 3, 5]\n" +
                     "hint: a target of class indices has shape [2, 6]",
            Message(() => Loss.CrossEntropy(Tensor.Zeros(2, 3, 6), Tensor.Zeros(2, 3, 5))));
        Assert.Equal("cross_entropy: expected a target of class probabilities of the input's shape [5]; got [4]\n" +
                     "hint: a target of class indices has shape []",
            Message(() => Loss.CrossEntropy(Tensor.Zeros(5), Tensor.Zeros(4))));
        var t = Tensor.Zeros(4, 5);
        t.Storage[13] = float.NaN;
        t.Storage[17] = float.PositiveInfinity;
        Assert.Equal("cross_entropy: expected finite class probabilities; got NaN at target[2, 3]",
            Message(() => Loss.CrossEntropy(x, t)));
        t.Storage[13] = 0;
        Assert.Equal("cross_entropy: expected finite class probabilities; got Infinity at target[3, 2]",
            Message(() => Loss.CrossEntropy(x, t)));
        t.Storage[17] = float.NegativeInfinity;
        Assert.Equal("CrossEntropyLoss() expects finite class probabilities; got -Infinity at target[3, 2]",
            Message(() => new CrossEntropyLoss().Forward(x, t)));
    }
}
