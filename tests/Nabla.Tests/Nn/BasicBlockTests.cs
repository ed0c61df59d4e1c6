using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

public class BasicBlockTests
{
    [Fact]
    public void Keys_and_shapes_follow_torchvision()
    {
        var same = new BasicBlock(8, 8, 1, new Generator(1));
        Assert.Equal(["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked"], same.StateDict().Keys);
        Shape([2, 8, 6, 6], same.Forward(Tensor.Randn([2, 8, 6, 6], new Generator(2))));

        var down = new BasicBlock(8, 16, 2, new Generator(1));
        Assert.Contains("downsample.0.weight", down.StateDict().Keys);
        Assert.Contains("downsample.1.running_var", down.StateDict().Keys);
        Shape([16, 8, 1, 1], down.StateDict()["downsample.0.weight"]);
        Shape([2, 16, 3, 3], down.Forward(Tensor.Randn([2, 8, 6, 6], new Generator(2))));
    }

    [Fact]
    public void Output_is_relu_of_residual_plus_shortcut()
    {
        var block = new BasicBlock(4, 4, 1, new Generator(3));
        block.Eval(); // running statistics 0 and 1: batch norm is the identity up to eps
        var x = Tensor.Randn([1, 4, 5, 5], new Generator(4));
        var y = block.Forward(x);
        var sd = block.StateDict();
        using var _ = Autograd.NoGrad();
        float scale = 1 / MathF.Sqrt(1 + 1e-5f);
        var h = (Functional.Conv2d(x, sd["conv1.weight"], null, 1, 1) * scale).Relu();
        var expected = (Functional.Conv2d(h, sd["conv2.weight"], null, 1, 1) * scale + x).Relu();
        Close(expected.ToArray(), y, 1e-5f);
    }

    [Fact]
    public void Gradients_pass_gradcheck_in_training_mode()
    {
        var block = new BasicBlock(2, 3, 2, new Generator(5));
        var x = Tensor.Randn([3, 2, 5, 5], new Generator(6)).RequireGrad();
        // The block composes Conv2d, BatchNorm2d, addition and ReLU, whose parameter gradients are
        // checked on their own; through the block, the input's gradient covers the composition.
        GradCheck.Run(xs => block.Forward(xs[0]), [x]).Check("basic block");
    }

    [Fact]
    public void Wrong_input_names_the_block_and_its_path()
    {
        var model = new Sequential(new BasicBlock(16, 16), new BasicBlock(16, 32, 2));
        var e = Assert.Throws<ShapeException>(() => model.Forward(Tensor.Zeros(1, 3, 8, 8)));
        Assert.Equal("0: BasicBlock(16, 16) expects input of shape (N, 16, H, W); got [1, 3, 8, 8]", e.Message);
        Assert.Contains("stride >= 1", Assert.Throws<ArgumentException>(() => new BasicBlock(4, 4, 0)).Message, StringComparison.Ordinal);
    }
}
