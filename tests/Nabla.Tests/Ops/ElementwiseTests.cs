using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class ElementwiseTests
{
    const float Inf = float.PositiveInfinity, NaN = float.NaN;

    [Fact]
    public void Unary_ops_map_an_empty_tensor_to_an_empty_tensor()
    {
        // TensorPrimitives.Sigmoid throws on empty spans; the ops must not pass that on
        var x = Tensor.Zeros(2, 0, 3).RequireGrad();
        foreach (var f in new Func<Tensor, Tensor>[] { Tensor.Neg, Tensor.Exp, Tensor.Log, Tensor.Sqrt, Tensor.Abs, Tensor.Sign, Tensor.Sigmoid, Tensor.Tanh, Tensor.Relu })
        {
            var y = f(x);
            Shape([2, 0, 3], y);
            if (!y.RequiresGrad) continue; // sign has no gradient
            y.Sum().Backward();
            Shape([2, 0, 3], x.Grad!);
        }
    }

    [Fact]
    public void UnaryForwardValues()
    {
        var x = T([0f, 1f, -2f, 4f]);
        Close([1f, MathF.E, MathF.Exp(-2f), MathF.Exp(4f)], x.Exp());
        Close([0f, 1f, 2f, 4f], x.Abs());
        Close([0f, 1f, 0f, 4f], x.Relu());
        Close([0.5f, 1 / (1 + MathF.Exp(-1)), 1 / (1 + MathF.Exp(2)), 1 / (1 + MathF.Exp(-4))], x.Sigmoid());
        Close([0f, MathF.Tanh(1), MathF.Tanh(-2), MathF.Tanh(4)], x.Tanh());
        Close([-0f, -1f, 2f, -4f], x.Neg());
    }

    [Fact]
    public void LogAndSqrtEdgeCases()
    {
        var x = T([0f, 1f, -1f, Inf, 4f]);
        Close([-Inf, 0f, NaN, Inf, MathF.Log(4)], x.Log());
        Close([0f, 1f, NaN, Inf, 2f], x.Sqrt());
        Assert.True(float.IsNegative(T([-0f]).Sqrt().Item()));
    }

    [Fact]
    public void ReluAndAbsEdgeCases()
    {
        Close([NaN, 0f, Inf, 0f], T([NaN, -Inf, Inf, -0f]).Relu());
        Close([NaN, Inf, 0f], T([NaN, -Inf, -0f]).Abs());
        Assert.False(float.IsNegative(T([-0f]).Abs().Item()));
    }

    [Fact]
    public void PowForward()
    {
        Close([1f, 4f, 9f], T([1f, 2f, 3f]).Pow(2f));
        Close([1f, 8f, 81f], T([1f, 2f, 3f]).Pow(T([0f, 3f, 4f])));
        Close([1f, 0f, NaN], T([0f, 0f, -2f]).Pow(T([0f, 2f, 0.5f])));
        // broadcasting: [2, 1] ^ [3]
        Close([1f, 2f, 4f, 1f, 3f, 9f], T([2f, 3f], 2, 1).Pow(T([0f, 1f, 2f])));
    }

    [Fact]
    public void PowGradientMasksZeroBase()
    {
        var a = T([0f, 0f, 2f]).RequireGrad();
        var b = T([0f, 2f, 3f]).RequireGrad();
        a.Pow(b).Sum().Backward();
        Close([0f, 0f, 12f], a.Grad!);               // b = 0 gives 0, not 0 * 0^-1
        Close([0f, 0f, 8f * MathF.Log(2f)], b.Grad!); // a = 0, b >= 0 gives 0, not 0 * log 0
    }

    [Fact]
    public void MaximumMinimumForwardAndNaN()
    {
        var a = T([1f, 5f, NaN, -0f]);
        var b = T([2f, 3f, 1f, 0f]);
        Close([2f, 5f, NaN, 0f], Tensor.Maximum(a, b));
        Close([1f, 3f, NaN, -0f], Tensor.Minimum(a, b));
        Close([NaN, 1f], Tensor.Maximum(T([1f, 1f]), T([NaN, 0f])));
    }

    [Fact]
    public void MaximumTiesSplitGradient()
    {
        var a = T([1f, 2f, 3f]).RequireGrad();
        var b = T([2f, 2f, 1f]).RequireGrad();
        Tensor.Maximum(a, b).Sum().Backward();
        Close([0f, 0.5f, 1f], a.Grad!);
        Close([1f, 0.5f, 0f], b.Grad!);
    }

    [Fact]
    public void ClampForwardAndGradient()
    {
        var x = T([-2f, -1f, 0f, 1f, 2f, NaN]).RequireGrad();
        var y = x.Clamp(min: -1f, max: 1f);
        Close([-1f, -1f, 0f, 1f, 1f, NaN], y);
        y.Sum().Backward();
        Close([0f, 1f, 1f, 1f, 0f, 0f], x.Grad!);
        Close([0f, 0f, 1f], T([-1f, 0f, 1f]).Clamp(min: 0f));
        Close([-1f, 0f, 0f], T([-1f, 0f, 1f]).Clamp(max: 0f));
        Close([0f, 0f], T([-1f, 5f]).Clamp(min: 1f, max: 0f)); // min > max: everything becomes max
        var e = Assert.Throws<ArgumentException>(() => T([1f]).Clamp());
        Assert.Contains("clamp", e.Message);
    }

    [Fact]
    public void ComparisonsReturnZeroOneAndNeedNoGrad()
    {
        var a = T([1f, 2f, 3f, NaN]).RequireGrad();
        var b = T([2f, 2f, 2f, NaN]);
        Close([0f, 1f, 0f, 0f], a.Eq(b));
        Close([1f, 0f, 1f, 1f], a.Ne(b));
        Close([1f, 0f, 0f, 0f], a.Lt(b));
        Close([1f, 1f, 0f, 0f], a.Le(b));
        Close([0f, 0f, 1f, 0f], a.Gt(b));
        Close([0f, 1f, 1f, 0f], a.Ge(b));
        Close([0f, 0f, 1f, 0f], a.Gt(2f));
        Close([0f, 1f, 0f, 0f], a.Eq(2f));
        Assert.False(a.Gt(b).RequiresGrad);
        Close([1f, 0f, 0f, 0f], Tensor.Lt(T([1f, 2f], 2, 1), T([2f, 0f])));
    }

    [Fact]
    public void WhereBroadcastsAmongAllThree()
    {
        var cond = T([1f, 0f, 1f]);         // [3]
        var a = T([10f, 20f], 2, 1);        // [2, 1]
        var b = T([-1f]);                   // [1]
        var y = Tensor.Where(cond, a, b);
        Shape([2, 3], y);
        Close([10f, -1f, 10f, 20f, -1f, 20f], y);
        Close([1f, 9f], Tensor.Where(T([1f, 0f]), T([1f, NaN]), T([NaN, 9f]))); // the unselected NaN does not leak
    }

    [Fact]
    public void WhereGradientGoesToTheSelectedSide()
    {
        var a = T([1f, 2f, 3f]).RequireGrad();
        var b = T([4f]).RequireGrad();
        Tensor.Where(T([1f, 0f, 0f]), a, b).Sum().Backward();
        Close([1f, 0f, 0f], a.Grad!);
        Close([2f], b.Grad!);
    }
}
