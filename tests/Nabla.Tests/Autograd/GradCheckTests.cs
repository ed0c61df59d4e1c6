using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.AutogradTests;

/// <summary>One row per differentiable op: analytic gradients against central differences.</summary>
public class GradCheckTests
{
    sealed record Case(Func<Tensor[], Tensor> F, Tensor[] Inputs);

    static readonly Dictionary<string, Case> Cases = new()
    {
        // element-wise binary, same shape and broadcasting
        ["add"] = new(x => x[0] + x[1], [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 3)]),
        ["add broadcast"] = new(x => x[0] + x[1], [G(1, -1, 1, 2, 3), G(2, -1, 1, 3)]),
        ["sub broadcast"] = new(x => x[0] - x[1], [G(1, -1, 1, 2, 1), G(2, -1, 1, 1, 3)]),
        ["mul broadcast"] = new(x => x[0] * x[1], [G(1, -1, 1, 4, 2, 3), G(2, -1, 1, 2, 1)]),
        ["div broadcast"] = new(x => x[0] / x[1], [G(1, -1, 1, 2, 3), G(2, 0.5f, 2, 3)]),
        ["pow"] = new(x => x[0].Pow(x[1]), [G(1, 0.5f, 2, 2, 3), G(2, -2, 2, 2, 3)]),
        ["pow broadcast"] = new(x => x[0].Pow(x[1]), [G(1, 0.5f, 2, 2, 3), G(2, -2, 2, 1)]),
        ["pow scalar"] = new(x => x[0].Pow(3f), [G(1, -2, 2, 2, 3)]),
        ["pow scalar fractional"] = new(x => x[0].Pow(0.5f), [G(1, 0.5f, 3, 5)]),
        ["maximum"] = new(x => Tensor.Maximum(x[0], x[1]), [Distinct(1, 2, 3), Distinct(2, 3)]),
        ["minimum"] = new(x => Tensor.Minimum(x[0], x[1]), [Distinct(1, 2, 3), Distinct(2, 2, 1)]),
        ["clamp"] = new(x => x[0].Clamp(-0.5f, 0.5f), [Distinct(3, 4, 3)]),
        ["where"] = new(x => Tensor.Where(Tensor.FromArray([1f, 0f, 1f]), x[0], x[1]), [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 1)]),
        // element-wise unary
        ["neg"] = new(x => -x[0], [G(1, -1, 1, 5)]),
        ["exp"] = new(x => x[0].Exp(), [G(1, -2, 2, 2, 3)]),
        ["log"] = new(x => x[0].Log(), [G(1, 0.5f, 3, 2, 3)]),
        ["sqrt"] = new(x => x[0].Sqrt(), [G(1, 0.5f, 3, 2, 3)]),
        ["abs"] = new(x => x[0].Abs(), [AwayFromZero(1, 0.1f, 2, 2, 3)]),
        ["sigmoid"] = new(x => x[0].Sigmoid(), [G(1, -3, 3, 2, 3)]),
        ["tanh"] = new(x => x[0].Tanh(), [G(1, -2, 2, 2, 3)]),
        ["relu"] = new(x => x[0].Relu(), [AwayFromZero(1, 0.1f, 2, 2, 3)]),
        // reductions
        ["sum all"] = new(x => x[0].Sum(), [G(1, -1, 1, 2, 3)]),
        ["sum dims keepDim"] = new(x => x[0].Sum([0, 2], keepDim: true), [G(1, -1, 1, 2, 3, 4)]),
        ["mean all"] = new(x => x[0].Mean(), [G(1, -1, 1, 2, 3)]),
        ["mean dim"] = new(x => x[0].Mean(1), [G(1, -1, 1, 2, 3, 4)]),
        ["mean dims keepDim"] = new(x => x[0].Mean([-1, 0], keepDim: true), [G(1, -1, 1, 2, 3, 4)]),
        ["var all"] = new(x => x[0].Var(), [G(1, -1, 1, 2, 3)]),
        ["var dim biased"] = new(x => x[0].Var(1, unbiased: false), [G(1, -1, 1, 2, 3, 4)]),
        ["var dims keepDim"] = new(x => x[0].Var([0, 2], keepDim: true), [G(1, -1, 1, 2, 3, 4)]),
        ["std"] = new(x => x[0].Std([1]), [G(1, -1, 1, 2, 5)]),
        ["max dim"] = new(x => x[0].Max(1).Values, [Distinct(1, 3, 4)]),
        ["max dim keepDim"] = new(x => x[0].Max(0, keepDim: true).Values, [Distinct(1, 3, 4)]),
        ["min dim"] = new(x => x[0].Min(-1).Values, [Distinct(1, 2, 3, 4)]),
        ["max all"] = new(x => x[0].Max(), [Distinct(1, 3, 4)]),
        ["min all"] = new(x => x[0].Min(), [Distinct(1, 3, 4)]),
        ["amax dims"] = new(x => x[0].Amax([0, 2]), [Distinct(1, 2, 3, 4)]),
        ["logsumexp dim"] = new(x => x[0].LogSumExp(1), [G(1, -3, 3, 3, 4)]),
        ["logsumexp dims keepDim"] = new(x => x[0].LogSumExp([0, 2], keepDim: true), [G(1, -3, 3, 2, 3, 4)]),
        ["logsumexp all"] = new(x => x[0].LogSumExp(null), [G(1, -3, 3, 2, 3)]),
        // shape ops
        ["reshape"] = new(x => x[0].Reshape(3, -1), [G(1, -1, 1, 2, 3)]),
        ["expand"] = new(x => x[0].Expand(2, 3, 4), [G(1, -1, 1, 3, 1)]),
        ["flatten"] = new(x => x[0].Flatten(1), [G(1, -1, 1, 2, 3, 2)]),
        ["squeeze"] = new(x => x[0].Squeeze(), [G(1, -1, 1, 2, 1, 3)]),
        ["unsqueeze"] = new(x => x[0].Unsqueeze(1), [G(1, -1, 1, 2, 3)]),
        ["permute"] = new(x => x[0].Permute(2, 0, 1), [G(1, -1, 1, 2, 3, 4)]),
        ["transpose"] = new(x => x[0].Transpose(0, 2), [G(1, -1, 1, 2, 3, 4)]),
        ["T"] = new(x => x[0].T, [G(1, -1, 1, 2, 3)]),
        ["slice"] = new(x => x[0].Slice(1, 1..^1), [G(1, -1, 1, 2, 4)]),
        ["narrow"] = new(x => x[0].Narrow(0, 1, 2), [G(1, -1, 1, 4, 3)]),
        ["indexer"] = new(x => x[0][1..3, ..2], [G(1, -1, 1, 4, 3)]),
        ["select"] = new(x => x[0].Select(1, -1), [G(1, -1, 1, 2, 3)]),
        ["cat"] = new(x => Tensor.Cat([x[0], x[1], x[0]], 1), [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 1)]),
        ["stack"] = new(x => Tensor.Stack([x[0], x[1]], 1), [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 3)]),
        ["pad"] = new(x => x[0].Pad([1, 2, 0, 1], 3f), [G(1, -1, 1, 2, 3)]),
        // indexing
        ["gather"] = new(x => x[0].Gather(1, Tensor.FromArray([2f, 0f, 0f, 1f, 1f, 1f], 2, 3)), [G(1, -1, 1, 2, 4)]),
        ["gather smaller index"] = new(x => x[0].Gather(0, Tensor.FromArray([2f, 0f], 1, 2)), [G(1, -1, 1, 3, 3)]),
        ["scatter_add"] = new(x => x[0].ScatterAdd(1, Tensor.FromArray([0f, 0f, 2f, 1f], 2, 2), x[1]), [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 2)]),
        ["scatter_add larger src"] = new(x => x[0].ScatterAdd(0, Tensor.FromArray([1f, 0f], 1, 2), x[1]), [G(1, -1, 1, 2, 3), G(2, -1, 1, 2, 3)]),
        ["index_select"] = new(x => x[0].IndexSelect(1, Tensor.FromArray([2f, 0f, 2f])), [G(1, -1, 1, 2, 3, 2)]),
        // matmul
        ["matmul dot"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 4), G(2, -1, 1, 4)]),
        ["matmul 2d"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 3, 4), G(2, -1, 1, 4, 2)]),
        ["matmul vector-matrix"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 4), G(2, -1, 1, 4, 3)]),
        ["matmul matrix-vector"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 3, 4), G(2, -1, 1, 4)]),
        ["matmul batched x matrix"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 2, 3, 4), G(2, -1, 1, 4, 2)]),
        ["matmul matrix x batched"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 3, 4), G(2, -1, 1, 2, 4, 2)]),
        ["matmul batched broadcast"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 2, 1, 3, 4), G(2, -1, 1, 3, 4, 2)]),
        ["matmul vector x batched"] = new(x => x[0].MatMul(x[1]), [G(1, -1, 1, 4), G(2, -1, 1, 2, 4, 3)]),
    };

    public static TheoryData<string> Names() => [.. Cases.Keys];

    [Theory, MemberData(nameof(Names))]
    public void AnalyticMatchesNumeric(string name)
    {
        var c = Cases[name];
        GradCheck.Run(c.F, c.Inputs).Check(name);
    }

    [Theory, MemberData(nameof(Names))]
    public void BackwardTwiceIsBitwiseEqual(string name)
    {
        var c = Cases[name];
        var leaves = c.Inputs.Select(t => t.Clone().RequireGrad(t.RequiresGrad)).ToArray();
        var y = c.F(leaves);
        var seed = U(9, -1, 1, [.. y.Shape]);
        var wrt = leaves.Where(t => t.RequiresGrad).ToArray();
        var g1 = Autograd.Grad([y], wrt, [seed], retainGraph: true, allowUnused: true);
        var g2 = Autograd.Grad([y], wrt, [seed], allowUnused: true);
        for (int i = 0; i < g1.Length; i++)
        {
            Assert.Equal(wrt[i].Shape.ToArray(), g1[i].Shape.ToArray());
            Assert.Equal(g1[i].ToArray(), g2[i].ToArray());
        }
    }

    [Theory, MemberData(nameof(Names))]
    public void ZeroOutputGradientGivesZeroInputGradients(string name)
    {
        var c = Cases[name];
        var leaves = c.Inputs.Select(t => t.Clone().RequireGrad(t.RequiresGrad)).ToArray();
        var y = c.F(leaves);
        var wrt = leaves.Where(t => t.RequiresGrad).ToArray();
        foreach (var g in Autograd.Grad([y], wrt, [Tensor.ZerosLike(y)], allowUnused: true))
            Assert.All(g.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void CheckReportsTheWorstElement()
    {
        // A deliberately wrong gradient: the detached factor hides d/dx of x * [x > 0], so where x > 0
        // the analytic gradient is w (the output weight) while the numeric one is 2w.
        var r = GradCheck.Run(x => x[0] + x[0].Detach() * Tensor.Gt(x[0], 0f), [Tensor.FromArray([-1f, 2f]).RequireGrad()]);
        Assert.False(r.Passed);
        Assert.Equal(0, r.Input);
        Assert.Equal(1, r.FlatIndex);
        Assert.Equal(2.0, r.Numeric / r.Analytic, 2);
        var e = Assert.Throws<InvalidOperationException>(() => r.Check("demo"));
        Assert.Contains("demo", e.Message);
        Assert.Contains("element 1", e.Message);
        Assert.Contains($"analytic {r.Analytic:g6}", e.Message);
    }

    [Fact]
    public void InputsAreLeftUntouchedAndEmptyInputsPass()
    {
        var x = Tensor.FromArray([0.5f, -1.5f]).RequireGrad();
        var r = GradCheck.Run(t => t[0] * t[0], [x]);
        Assert.True(r.Passed);
        Assert.Equal(2, r.Checked);
        Assert.Equal(new[] { 0.5f, -1.5f }, x.ToArray());
        Assert.Null(x.Grad);
        Assert.True(GradCheck.Run(t => t[0] * 2f, [Tensor.Zeros(0).RequireGrad()]).Passed);
    }
}
