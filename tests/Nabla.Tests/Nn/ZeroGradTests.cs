using Nabla.Nn;

namespace Nabla.Tests.NnTests;

public class ZeroGradTests
{
    [Fact]
    public void Zeroed_gradients_read_as_zeros_and_the_next_backward_starts_from_zero()
    {
        var p = new Parameter(Tensor.FromArray([1f, 2f, 3f]));
        (p.Data * p.Data).Sum().Backward();
        var buffer = p.Grad!;
        Assert.Equal([2f, 4f, 6f], buffer.ToArray());

        p.ZeroGrad();
        (p.Data * 3f).Sum().Backward();
        Assert.Same(buffer, p.Grad); // the buffer is kept
        Assert.Equal([3f, 3f, 3f], p.Grad!.ToArray());
        (p.Data * 3f).Sum().Backward(); // accumulates again
        Assert.Equal([6f, 6f, 6f], p.Grad!.ToArray());

        p.ZeroGrad();
        Assert.Equal([0f, 0f, 0f], p.Grad!.ToArray());

        p.ZeroGrad(setToNone: true);
        Assert.Null(p.Grad);
    }

    [Fact]
    public void A_parameter_the_loss_does_not_reach_keeps_a_zero_gradient()
    {
        var used = new Parameter(Tensor.Ones(2));
        var unused = new Parameter(Tensor.Ones(2));
        (used.Data + unused.Data).Sum().Backward();
        used.ZeroGrad();
        unused.ZeroGrad();
        used.Data.Sum().Backward();
        Assert.Equal([1f, 1f], used.Grad!.ToArray());
        Assert.Equal([0f, 0f], unused.Grad!.ToArray());
    }
}
