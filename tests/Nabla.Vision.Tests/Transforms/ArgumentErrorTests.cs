using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

/// <summary>The constructor and argument errors not covered next to their transform's behaviour.</summary>
public class ArgumentErrorTests
{
    [Fact]
    public void Sizes_MustBePositive()
    {
        Assert.StartsWith("size should be positive; got (0, 3)", Assert.Throws<ArgumentOutOfRangeException>(() => new CenterCrop(0, 3)).Message);
        Assert.StartsWith("size should be positive; got (-1, -1)", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomCrop(-1)).Message);
        Assert.StartsWith("size should be positive; got (4, 0)", Assert.Throws<ArgumentOutOfRangeException>(() => new Resize(4, 0)).Message);
        Assert.StartsWith("size should be positive; got (0, 0)", Assert.Throws<ArgumentOutOfRangeException>(() => new TenCrop(0)).Message);
        Assert.Equal("padding", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomCrop(4, padding: -1)).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new Resize(0)).ParamName);
    }

    [Fact]
    public void Probabilities_MustBeInUnitInterval()
    {
        Assert.StartsWith("p should be a probability between 0 and 1; got -0.5", Assert.Throws<ArgumentOutOfRangeException>(() => new HorizontalFlip(-0.5)).Message);
        Assert.StartsWith("p should be a probability between 0 and 1; got NaN", Assert.Throws<ArgumentOutOfRangeException>(() => new VerticalFlip(double.NaN)).Message);
        Assert.StartsWith("p should be a probability between 0 and 1; got 2", Assert.Throws<ArgumentOutOfRangeException>(() => new RandomApply(new HorizontalFlip(), 2)).Message);
    }

    [Fact]
    public void Composites_RejectNullAndEmpty()
    {
        Assert.StartsWith("Compose: transform 1 is null", Assert.Throws<ArgumentNullException>(() => new Compose(new HorizontalFlip(), null!)).Message);
        Assert.StartsWith("RandomChoice: transform 0 is null", Assert.Throws<ArgumentNullException>(() => new RandomChoice(null!, new HorizontalFlip())).Message);
        Assert.StartsWith("RandomChoice: expected at least one transform; got none", Assert.Throws<ArgumentException>(() => new RandomChoice()).Message);
        Assert.StartsWith("RandomChoice: expected non-negative finite weights; got -1 at position 1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new RandomChoice([new HorizontalFlip(), new VerticalFlip()], [1, -1])).Message);
        Assert.StartsWith("RandomChoice: expected weights with a positive sum; got all zeros",
            Assert.Throws<ArgumentOutOfRangeException>(() => new RandomChoice([new HorizontalFlip()], [0])).Message);
    }

    [Fact]
    public void AugmentOps_RejectBadInput()
    {
        Assert.StartsWith("Posterize: expected 0 to 8 bits; got 9",
            Assert.Throws<ArgumentOutOfRangeException>(() => AugmentOps.Apply(AugmentOp.Posterize, Tensor.Zeros(1, 2, 2), 9)).Message);
        Assert.StartsWith("AugmentOps.Apply: unknown operation 99",
            Assert.Throws<ArgumentOutOfRangeException>(() => AugmentOps.Apply((AugmentOp)99, Tensor.Zeros(1, 2, 2), 0)).Message);
        Assert.Equal("AugmentOps.Apply: expected a non-empty image of shape (C, H, W); got [1, 0, 2]",
            Assert.Throws<ShapeException>(() => AugmentOps.Apply(AugmentOp.Identity, Tensor.Zeros(1, 0, 2), 0)).Message);
    }
}
