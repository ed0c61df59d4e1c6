using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.LossTests;

/// <summary>Cross-entropy, NLL and margin losses: the lecture's table, formulas, stability, spatial inputs.</summary>
public class ClassLossTests
{
    // The lecture's score table: rows [5, -3, 2], [5, 10, 10], [5, -20, -20], true class 0.
    static readonly Tensor Scores = T([5f, -3f, 2f, 5f, 10f, 10f, 5f, -20f, -20f], 3, 3);
    static readonly Tensor Zeros3 = T([0f, 0f, 0f]);

    [Fact]
    public void Lecture_table_hinge_and_cross_entropy()
    {
        Assert.Equal([0f, 12f, 0f], Loss.MulticlassHingeLoss(Scores, Zeros3, Reduction.None).ToArray());
        Assert.Equal(4f, Loss.MulticlassHingeLoss(Scores, Zeros3).Item());
        var ce = Loss.CrossEntropy(Scores, Zeros3, Reduction.None).ToArray();
        // log(1 + e^-8 + e^-3), log(e^5 + 2 e^10) - 5, log1p(2 e^-25): 0.049, 5.70, 2.8e-11
        Assert.Equal(0.04890685354740576, ce[0], 1e-7);
        Assert.Equal(5.696510491782078, ce[1], 1e-6);
        Assert.True(Math.Abs(ce[2] - 2.777588772954229e-11) < 1e-6 * 2.777588772954229e-11, $"got {ce[2]}");
        // PyTorch's multi-margin loss is the hinge loss divided by C
        Close([0f, 4f, 0f], Loss.MultiMarginLoss(Scores, Zeros3, Reduction.None));
    }

    [Fact]
    public void Margin_loss_gradients_and_options()
    {
        var x = Scores.Clone().RequireGrad();
        Loss.MulticlassHingeLoss(x, Zeros3, Reduction.Sum).Backward();
        // only row 1 violates the margin, for both wrong classes
        Assert.Equal([0f, 0f, 0f, -2f, 1f, 1f, 0f, 0f, 0f], x.Grad!.ToArray());
        // p = 2 squares each term: (1 - 5 + 10)^2 * 2 / 3 = 24
        Assert.Equal(24f, Loss.MultiMarginLoss(Scores, Zeros3, Reduction.None, p: 2).Data[1]);
        Assert.Equal(8f, Loss.MultiMarginLoss(Scores, Zeros3, Reduction.None, weight: T([2f, 1f, 1f])).Data[1]);
        // margin 0: only strictly better wrong scores count
        Assert.Equal([0f, 10f, 0f], Loss.MulticlassHingeLoss(Scores, Zeros3, Reduction.None, margin: 0).ToArray());
        // unbatched (C) with a 0-dimensional target
        var one = Loss.MulticlassHingeLoss(T([5f, 10f, 10f]), Tensor.Scalar(0f), Reduction.None);
        Shape([], one);
        Assert.Equal(12f, one.Item());
    }

    /// <summary>PyTorch's definition, in float64: (1 - eps) w_y (lse - x_y) + eps / C sum_c w_c (lse - x_c).</summary>
    static double[] CrossEntropyReference(float[] x, float[] t, int n, int c, double eps, float[]? w)
    {
        var r = new double[n];
        for (int i = 0; i < n; i++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int j = 0; j < c; j++) m = Math.Max(m, x[i * c + j]);
            for (int j = 0; j < c; j++) s += Math.Exp(x[i * c + j] - m);
            double lse = m + Math.Log(s), smooth = 0;
            int y = (int)t[i];
            for (int j = 0; j < c; j++) smooth += (w?[j] ?? 1) * (lse - x[i * c + j]);
            r[i] = (1 - eps) * (w?[y] ?? 1) * (lse - x[i * c + y]) + eps / c * smooth;
        }
        return r;
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.3, true)]
    [InlineData(1.0, true)]
    public void Cross_entropy_matches_the_formula_with_smoothing_and_weights(double eps, bool weighted)
    {
        var x = U(7, -3, 3, 5, 4);
        var t = T([0f, 3f, 1f, 1f, 2f]);
        float[]? w = weighted ? [0.5f, 2f, 1f, 3f] : null;
        var wt = w is null ? null : Tensor.FromArray(w);
        var expected = CrossEntropyReference(x.ToArray(), t.ToArray(), 5, 4, eps, w);
        var none = Loss.CrossEntropy(x, t, Reduction.None, eps, wt).ToArray();
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i], none[i], 1e-5);
        Assert.Equal(expected.Sum(), Loss.CrossEntropy(x, t, Reduction.Sum, eps, wt).Item(), 1e-5);
        // the mean divides by the targets' total weight (N without weights)
        double wTargets = w is null ? 5 : t.ToArray().Sum(y => w[(int)y]);
        Assert.Equal(expected.Sum() / wTargets, Loss.CrossEntropy(x, t, Reduction.Mean, eps, wt).Item(), 1e-5);
    }

    [Fact]
    public void Cross_entropy_gradient_is_softmax_minus_the_smoothed_one_hot()
    {
        var x = U(8, -2, 2, 3, 4).RequireGrad();
        var t = T([2f, 0f, 3f]);
        const double eps = 0.2;
        Loss.CrossEntropy(x, t, Reduction.Sum, eps).Backward();
        var p = Functional.Softmax(x.Detach(), 1).ToArray();
        var g = x.Grad!.ToArray();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
            {
                double target = (j == (int)t.Data[i] ? 1 - eps : 0) + eps / 4;
                Assert.Equal(p[i * 4 + j] - target, g[i * 4 + j], 1e-6);
            }
    }

    [Fact]
    public void Cross_entropy_is_finite_and_right_for_logits_in_the_thousands()
    {
        var x = T([1000f, -1000f, 5000f, 1000f, -1000f, 5000f, 1000f, 1000f, -5000f], 3, 3).RequireGrad();
        var t = T([0f, 2f, 1f]);
        var l = Loss.CrossEntropy(x, t, Reduction.None);
        Assert.Equal([4000f, 0f, MathF.Log(2f)], l.ToArray());
        l.Sum().Backward();
        Close([-1f, 0f, 1f, 0f, 0f, 0f, 0.5f, -0.5f, 0f], x.Grad!);
        var x0 = T([1000f, -1000f, 5000f], 1, 3);
        // 0.9 * 4000 + 0.1 / 3 * (4000 + 6000 + 0)
        Assert.Equal(3933.3333f, Loss.CrossEntropy(x0, T([0f]), labelSmoothing: 0.1).Item(), 2);
        var big = T([1e4f, -1e4f, 3e4f, 0f], 2, 2).RequireGrad();
        var lb = Loss.CrossEntropy(big, T([1f, 0f]), labelSmoothing: 0.05);
        lb.Backward();
        Assert.True(float.IsFinite(lb.Item()));
        Assert.All(big.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Cross_entropy_and_nll_over_spatial_dimensions_equal_the_flattened_rows()
    {
        // (N, C, L) = (2, 3, 4) against the same scores as (N * L, C) rows
        var x = U(9, -2, 2, 2, 3, 4);
        var t = T([0f, 1f, 2f, 1f, 2f, 2f, 0f, 1f], 2, 4);
        var rows = x.Permute(0, 2, 1).Reshape(8, 3);
        var flat = t.Reshape(8);
        var w = T([1f, 2f, 0.5f]);
        var spatial = Loss.CrossEntropy(x, t, Reduction.None, 0.1, w);
        Shape([2, 4], spatial);
        Close(Loss.CrossEntropy(rows, flat, Reduction.None, 0.1, w).ToArray(), spatial, 1e-6f);
        Close(Loss.NllLoss(rows, flat, Reduction.None, w).ToArray(), Loss.NllLoss(x, t, Reduction.None, w), 1e-6f);

        var xs = x.Clone().RequireGrad();
        Loss.CrossEntropy(xs, t, labelSmoothing: 0.1, weight: w).Backward();
        var xr = rows.Clone().RequireGrad();
        Loss.CrossEntropy(xr, flat, labelSmoothing: 0.1, weight: w).Backward();
        Close(xr.Grad!.Reshape(2, 4, 3).Permute(0, 2, 1).ToArray(), xs.Grad!, 1e-6f);
    }

    [Fact]
    public void Nll_loss_values_weights_and_gradient()
    {
        var lp = T([-0.1f, -2f, -3f, -1.2f, -0.4f, -2.2f], 2, 3).RequireGrad();
        var t = T([0f, 2f]);
        Close([0.1f, 2.2f], Loss.NllLoss(lp, t, Reduction.None));
        Assert.Equal(1.15f, Loss.NllLoss(lp, t).Item(), 6);
        var w = T([1f, 2f, 3f]);
        Assert.Equal(6.7f, Loss.NllLoss(lp, t, Reduction.Sum, w).Item(), 5);
        var mean = Loss.NllLoss(lp, t, weight: w);
        Assert.Equal(6.7f / 4f, mean.Item(), 6); // divided by w[0] + w[2]
        mean.Backward();
        Close([-0.25f, 0f, 0f, 0f, 0f, -0.75f], lp.Grad!);
        // LogSoftmax + NllLoss = CrossEntropy
        var x = U(10, -2, 2, 4, 5);
        var tt = T([4f, 0f, 2f, 2f]);
        Assert.Equal(Loss.CrossEntropy(x, tt).Item(), Loss.NllLoss(Functional.LogSoftmax(x, 1), tt).Item(), 6);
    }

    [Fact]
    public void Empty_batches_give_nan_mean_and_zero_sum()
    {
        var x = Tensor.Zeros(0, 4);
        var t = Tensor.Zeros(0);
        Assert.True(float.IsNaN(Loss.CrossEntropy(x, t).Item()));
        Assert.Equal(0f, Loss.CrossEntropy(x, t, Reduction.Sum).Item());
        Shape([0], Loss.NllLoss(x, t, Reduction.None));
        Assert.True(float.IsNaN(Loss.MultiMarginLoss(x, t).Item()));
    }

    [Fact]
    public void Loss_objects_forward_to_the_functional_forms()
    {
        var x = U(11, -2, 2, 4, 3);
        var t = T([0f, 2f, 1f, 1f]);
        var w = T([1f, 0.5f, 2f]);
        Assert.Equal(Loss.CrossEntropy(x, t, Reduction.Sum, 0.1, w).Item(), new CrossEntropyLoss(Reduction.Sum, 0.1, w).Forward(x, t).Item());
        Assert.Equal(Loss.NllLoss(x, t, weight: w).Item(), new NllLoss(weight: w).Forward(x, t).Item());
        Assert.Equal(Loss.MultiMarginLoss(x, t, Reduction.Mean, 2, 0.5, w).Item(), new MultiMarginLoss(p: 2, margin: 0.5, weight: w).Forward(x, t).Item());
        Assert.Equal(Loss.MulticlassHingeLoss(x, t, Reduction.None, 2).ToArray(), new MulticlassHingeLoss(Reduction.None, 2).Forward(x, t).ToArray());
        var ce = new CrossEntropyLoss(labelSmoothing: 0.2);
        Assert.Equal(0.2, ce.LabelSmoothing);
        Assert.Equal(Reduction.Mean, ce.Reduction);
        Assert.Equal("CrossEntropyLoss()", ce.ToString());
    }
}
