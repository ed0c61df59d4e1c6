using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Tests.OptimTests.OptimizerStepTests;

namespace Nabla.Tests.OptimTests;

public class GradClipTests
{
    static Parameter[] WithGrads(params float[][] grads) =>
        grads.Select(g => { var p = P(new float[g.Length]); p.Grad = Tensor.FromArray(g); return p; }).ToArray();

    [Fact]
    public void ClipGradNorm_returns_the_total_norm_and_scales_all_gradients_together()
    {
        var ps = WithGrads([3f, 4f], [12f]); // total 2-norm √(9 + 16 + 144) = 13
        double total = GradClip.ClipGradNorm(ps, maxNorm: 6.5);
        Assert.Equal(13.0, total, 5);
        float coef = 6.5f / (13f + 1e-6f);
        Assert.Equal([3f * coef, 4f * coef], ps[0].Grad!.ToArray());
        Assert.Equal([12f * coef], ps[1].Grad!.ToArray());
    }

    [Fact]
    public void ClipGradNorm_leaves_small_gradients_unchanged()
    {
        var ps = WithGrads([0.3f, -0.4f]);
        Assert.Equal(0.5, GradClip.ClipGradNorm(ps, maxNorm: 1), 6);
        Assert.Equal([0.3f, -0.4f], ps[0].Grad!.ToArray());
    }

    [Fact]
    public void ClipGradNorm_infinity_norm_is_the_largest_magnitude()
    {
        var ps = WithGrads([1f, -5f], [2f]);
        Assert.Equal(5.0, GradClip.ClipGradNorm(ps, maxNorm: 1, normType: double.PositiveInfinity));
        float coef = 1f / (5f + 1e-6f);
        Assert.Equal([1f * coef, -5f * coef], ps[0].Grad!.ToArray());
    }

    [Fact]
    public void ClipGradNorm_one_norm_and_three_norm()
    {
        Assert.Equal(10.0, GradClip.ClipGradNorm(WithGrads([1f, -2f], [3f, -4f]), maxNorm: 100, normType: 1), 5);
        Assert.Equal(Math.Pow(1 + 8 + 27, 1.0 / 3), GradClip.ClipGradNorm(WithGrads([1f, -2f], [3f]), maxNorm: 100, normType: 3), 5);
    }

    [Fact]
    public void ClipGradNorm_sums_long_gradients_accurately()
    {
        var ps = WithGrads(Enumerable.Repeat(0.1f, 1_000_000).ToArray());
        Assert.Equal(Math.Sqrt(1_000_000 * (double)0.1f * 0.1f), GradClip.ClipGradNorm(ps, maxNorm: 1000), 3);
    }

    [Fact]
    public void ClipGradNorm_skips_parameters_without_gradients_and_returns_zero_for_none()
    {
        var empty = P(1f);
        Assert.Equal(0.0, GradClip.ClipGradNorm([empty], maxNorm: 1));
        var ps = WithGrads([6f, 8f]);
        Assert.Equal(10.0, GradClip.ClipGradNorm([empty, ps[0]], maxNorm: 1), 5);
        Assert.Null(empty.Grad);
    }

    [Fact]
    public void ClipGradNorm_nonfinite_total_throws_when_asked()
    {
        var ps = WithGrads([1f, float.NaN]);
        var e = Assert.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm(ps, maxNorm: 1, errorIfNonfinite: true));
        Assert.Equal("The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped. " +
                     "To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`", e.Message);
        Assert.Equal(1f, ps[0].Grad!.ToArray()[0]); // untouched
        var inf = WithGrads([float.PositiveInfinity]);
        Assert.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm(inf, maxNorm: 1, normType: double.PositiveInfinity, errorIfNonfinite: true));
    }

    [Fact]
    public void ClipGradNorm_nonfinite_total_scales_anyway_by_default()
    {
        var ps = WithGrads([1f, float.NaN]);
        Assert.True(double.IsNaN(GradClip.ClipGradNorm(ps, maxNorm: 1)));
        Assert.All(ps[0].Grad!.ToArray(), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void ClipGradNorm_argument_errors()
    {
        var ps = WithGrads([1f]);
        Assert.StartsWith("ClipGradNorm: expected maxNorm >= 0; got -1.0",
            Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm(ps, -1)).Message);
        Assert.StartsWith("ClipGradNorm: expected a positive normType or infinity; got 0.0",
            Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm(ps, 1, normType: 0)).Message);
    }

    [Fact]
    public void ClipGradValue_clamps_each_element_and_keeps_nan()
    {
        var g = Enumerable.Range(0, 21).Select(i => i - 10f).ToArray();
        g[20] = float.NaN;
        var ps = WithGrads(g);
        GradClip.ClipGradValue(ps, 2.5);
        var r = ps[0].Grad!.ToArray();
        for (int i = 0; i < 20; i++) Assert.Equal(Math.Clamp(i - 10f, -2.5f, 2.5f), r[i]);
        Assert.True(float.IsNaN(r[20]));
        Assert.StartsWith("ClipGradValue: expected clipValue >= 0; got -1.0",
            Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradValue(ps, -1)).Message);
    }
}
