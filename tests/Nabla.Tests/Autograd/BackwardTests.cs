namespace Nabla.Tests.AutogradTests;

public class BackwardTests
{
    [Fact]
    public void SharedSubexpressionAccumulates()
    {
        // y = x*x + x  => dy/dx = 2x + 1
        var x = Tensor.FromArray([1f, -2f, 3f]).RequireGrad();
        var y = (x * x + x).Sum();
        y.Backward();
        Assert.Equal(new[] { 3f, -3f, 7f }, x.Grad!.ToArray());
    }

    [Fact]
    public void BroadcastGradientIsSummedToInputShape()
    {
        var a = Tensor.Ones(2, 3).RequireGrad();
        var b = Tensor.FromArray([1f, 2f, 3f]).RequireGrad();
        (a * b).Sum().Backward();
        Assert.Equal(new[] { 3 }, b.Grad!.Shape.ToArray());
        Assert.Equal(new[] { 2f, 2f, 2f }, b.Grad.ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f, 1f, 2f, 3f }, a.Grad!.ToArray());
    }

    [Fact]
    public void SecondBackwardThroughReleasedGraphThrows()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = (x * x).Sum();
        y.Backward();
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("released", e.Message);
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void RetainGraphAllowsSecondBackwardAndAccumulates()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = (x * x).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        Assert.Equal(new[] { 4f, 8f }, x.Grad!.ToArray());
    }

    [Fact]
    public void BackwardOnTensorWithoutGradThrows()
    {
        var x = Tensor.FromArray([1f, 2f]);
        var e = Assert.Throws<InvalidOperationException>(() => (x * x).Sum().Backward());
        Assert.Contains("require a gradient", e.Message);
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        Tensor y;
        using (Autograd.NoGrad()) y = x * x;
        Assert.False(y.RequiresGrad);
        Assert.True(Autograd.IsEnabled);
    }

    [Fact]
    public void FunctionalGradLeavesGradUntouched()
    {
        var x = Tensor.FromArray([1f, 2f, 3f]).RequireGrad();
        var h = x * x;                 // intermediate
        var y = (h * x).Sum();         // x^3
        var g = Autograd.Grad([y], [x, h]);
        Assert.Null(x.Grad);
        Assert.Equal(new[] { 3f, 12f, 27f }, g[0].ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f }, g[1].ToArray());
    }
}
