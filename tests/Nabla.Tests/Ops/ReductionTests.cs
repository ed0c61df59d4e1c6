using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class ReductionTests
{
    const float Inf = float.PositiveInfinity, NaN = float.NaN;
    static Tensor X23() => T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);

    [Fact]
    public void SumAndMeanOverDims()
    {
        var x = X23();
        Close([21f], x.Sum());
        Close([3.5f], x.Mean());
        Close([2.5f, 3.5f, 4.5f], x.Mean(0));
        Close([2f, 5f], x.Mean(-1));
        Shape([2, 1], x.Mean(1, keepDim: true));
        Shape([1, 1], x.Mean(null, keepDim: true));
        Shape([], x.Mean());
        Assert.True(float.IsNaN(Tensor.Zeros(0).Mean().Item()));
        Close([6f], Tensor.Ones(2, 3, 4).Mean([0, 2]).Sum() / 1f * 2f); // each mean is 1, three of them
    }

    [Fact]
    public void VarUnbiasedAndBiased()
    {
        var x = X23();
        Close([3.5f], x.Var());
        Close([35f / 12f], x.Var(unbiased: false));
        Close([4.5f, 4.5f, 4.5f], x.Var(0));
        Close([1f, 1f], x.Var(1));
        Close([2f / 3f, 2f / 3f], x.Var(1, unbiased: false));
        Shape([1, 3], x.Var([0], keepDim: true));
        Assert.True(float.IsNaN(T([5f]).Var().Item()));          // unbiased of one element is NaN
        Assert.Equal(0f, T([5f]).Var(unbiased: false).Item());
        Close([1f, 1f], x.Std([1]));
    }

    [Fact]
    public void VarIsStableWithLargeMean()
    {
        // E[x^2] - E[x]^2 in float32 gives garbage here; two passes give the exact 1.
        var x = T([1e4f + 1, 1e4f - 1, 1e4f + 1, 1e4f - 1]);
        Close([1f], x.Var(unbiased: false), 1e-4f);
    }

    [Fact]
    public void MaxMinAlongDimReturnFirstIndex()
    {
        var x = T([3f, 1f, 3f, 0f, 5f, 5f], 2, 3);
        var (v, i) = x.Max(1);
        Close([3f, 5f], v);
        Close([0f, 1f], i);
        var (v0, i0) = x.Max(0, keepDim: true);
        Shape([1, 3], v0);
        Close([3f, 5f, 5f], v0);
        Close([0f, 1f, 1f], i0);
        var (mv, mi) = x.Min(1);
        Close([1f, 0f], mv);
        Close([1f, 0f], mi);
        Close([0f, 1f], x.Argmax(1));
        Close([1f, 0f], x.Argmin(1));
        Shape([2, 1], x.Argmin(1, keepDim: true));
        Close([4f], x.Argmax());
        Close([3f], x.Argmin());
        Close([5f], x.Max());
        Close([0f], x.Min());
    }

    [Fact]
    public void MaxPropagatesNaN()
    {
        var x = T([1f, NaN, 3f, NaN]);
        var (v, i) = x.Max(0);
        Assert.True(float.IsNaN(v.Item()));
        Assert.Equal(1f, i.Item());
        Assert.True(float.IsNaN(x.Max().Item()));
        Assert.True(float.IsNaN(x.Min().Item()));
        Assert.True(float.IsNaN(T([1f, 2f, NaN, 4f, 5f, 6f, 7f, 8f, 9f], 3, 3).Amax([0]).ToArray()[2]));
    }

    [Fact]
    public void MaxGradientGoesToArgPositionOnly()
    {
        var x = T([2f, 7f, 7f, 1f]).RequireGrad();
        x.Max(0).Values.Backward();
        Close([0f, 1f, 0f, 0f], x.Grad!);
        var z = T([2f, 7f, 7f, 1f]).RequireGrad();
        z.Max().Backward(); // the full reduction shares ties, as torch.max() / amax
        Close([0f, 0.5f, 0.5f, 0f], z.Grad!);
    }

    [Fact]
    public void MaxOfEmptyDimThrows()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 0).Max(1));
        Assert.Contains("max", e.Message);
        Assert.Contains("[2, 0]", e.Message);
        Assert.Throws<ShapeException>(() => Tensor.Zeros(0).Max());
    }

    [Fact]
    public void LogSumExpIsStable()
    {
        var x = T([1000f, 1000f, -1000f, -1000f], 2, 2);
        Close([1000f + MathF.Log(2), -1000f + MathF.Log(2)], x.LogSumExp(1));
        Close([MathF.Log(MathF.Exp(1) + MathF.Exp(2) + MathF.Exp(3))], T([1f, 2f, 3f]).LogSumExp(null));
        Shape([2, 1], x.LogSumExp(1, keepDim: true));
        Close([Inf], T([Inf, 1f]).LogSumExp(0));
        Close([NaN], T([NaN, 1f]).LogSumExp(0));
    }

    [Fact]
    public void LogSumExpOfAllNegativeInfinityIsNegativeInfinityWithZeroGradient()
    {
        var x = T([-Inf, -Inf, 0f, -Inf], 2, 2).RequireGrad();
        var y = x.LogSumExp(1);
        Close([-Inf, 0f], y);
        y.Backward(Tensor.Ones(2));
        Close([0f, 0f, 1f, 0f], x.Grad!);
    }
}
