using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

/// <summary>Properties every transform must have, one row per transform, on the real photograph.</summary>
public class TransformPropertyTests
{
    public static TheoryData<string> Names => new(Cases.Keys);

    static readonly Dictionary<string, (Func<ITransform> Make, int[] Shape, bool UnitRange)> Cases = new()
    {
        ["HorizontalFlip"] = (() => new HorizontalFlip(), [3, 300, 451], true),
        ["VerticalFlip"] = (() => new VerticalFlip(), [3, 300, 451], true),
        ["RandomCrop"] = (() => new RandomCrop(224, padding: 8), [3, 224, 224], true),
        ["RandomCropRect"] = (() => new RandomCrop(100, 300, padding: 0), [3, 100, 300], true),
        ["CenterCrop"] = (() => new CenterCrop(200, 250), [3, 200, 250], true),
        ["FiveCrop"] = (() => new FiveCrop(64), [5, 3, 64, 64], true),
        ["TenCrop"] = (() => new TenCrop(64, 32), [10, 3, 64, 32], true),
        ["ResizeShortSide"] = (() => new Resize(150), [3, 150, 225], true),
        ["ResizeExact"] = (() => new Resize(600, 100), [3, 600, 100], true),
        ["ColorJitter"] = (() => new ColorJitter(0.4, 0.4, 0.4, 0.1), [3, 300, 451], true),
        ["RandomErasing"] = (() => new RandomErasing(p: 1), [3, 300, 451], true),
        ["Normalize"] = (() => new Normalize([0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]), [3, 300, 451], false),
        ["Compose"] = (() => new Compose(new RandomCrop(128), new HorizontalFlip(), new ColorJitter(0.3, 0.3)), [3, 128, 128], true),
        ["RandomApply"] = (() => new RandomApply(new ColorJitter(brightness: 0.5)), [3, 300, 451], true),
        ["RandomChoice"] = (() => new RandomChoice(new HorizontalFlip(1), new VerticalFlip(1), new ColorJitter(hue: 0.5)), [3, 300, 451], true),
        ["RandomResizedCrop"] = (() => new RandomResizedCrop(224), [3, 224, 224], true),
        ["RandomResizedCropRect"] = (() => new RandomResizedCrop(64, 96, scale: (0.5, 0.9)), [3, 64, 96], true),
        ["RandomRotation"] = (() => new RandomRotation(30), [3, 300, 451], true),
        ["RandomRotationBilinear"] = (() => new RandomRotation(-10, 45, bilinear: true), [3, 300, 451], true),
        ["TrivialAugmentWide"] = (() => new TrivialAugmentWide(), [3, 300, 451], true),
        ["RandAugment"] = (() => new RandAugment(numOps: 3, magnitude: 20), [3, 300, 451], true),
        ["TransformedDataset"] = (() => new Compose(new Resize(32, 48), new RandomCrop(32, 32, padding: 4)), [3, 32, 32], true),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void OutputShapeAndRange(string name)
    {
        var (make, shape, unit) = Cases[name];
        var input = TestData.ChelseaImage;
        var before = input.ToArray();
        var output = make().Apply(input, new Generator(1));
        Assert.Equal(shape, output.Shape.ToArray());
        Assert.Equal(before, input.ToArray()); // the input is never modified
        foreach (var v in output.Data)
        {
            Assert.True(float.IsFinite(v));
            if (unit) Assert.True(v >= 0 && v <= 1, $"{name}: value {v} outside [0, 1]");
        }
        if (!unit) Assert.Contains(output.ToArray(), v => v < 0);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SameSeed_SameOutput(string name)
    {
        var t = Cases[name].Make();
        var input = TestData.ChelseaImage;
        var a = t.Apply(input, new Generator(42)).ToArray();
        var b = t.Apply(input, new Generator(42)).ToArray();
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData("HorizontalFlip")]
    [InlineData("VerticalFlip")]
    [InlineData("RandomCrop")]
    [InlineData("ColorJitter")]
    [InlineData("RandomErasing")]
    [InlineData("Compose")]
    [InlineData("RandomChoice")]
    [InlineData("RandomResizedCrop")]
    [InlineData("RandomRotation")]
    [InlineData("TrivialAugmentWide")]
    [InlineData("RandAugment")]
    public void DifferentSeeds_CanDiffer(string name)
    {
        var t = Cases[name].Make();
        var input = TestData.ChelseaImage;
        var first = t.Apply(input, new Generator(0)).ToArray();
        bool differs = false;
        for (ulong s = 1; s < 20 && !differs; s++)
            differs = !first.AsSpan().SequenceEqual(t.Apply(input, new Generator(s)).ToArray());
        Assert.True(differs, $"{name} gave the same output for 20 seeds");
    }

    [Theory]
    [InlineData("HorizontalFlip")]
    [InlineData("RandomCrop")]
    [InlineData("ColorJitter")]
    [InlineData("Resize")]
    public void NotAnImage_ThrowsShapeException(string name)
    {
        ITransform t = name switch
        {
            "HorizontalFlip" => new HorizontalFlip(),
            "RandomCrop" => new RandomCrop(2),
            "ColorJitter" => new ColorJitter(0.1),
            _ => new Resize(4),
        };
        var ex = Assert.Throws<ShapeException>(() => t.Apply(Tensor.Zeros(4, 4), new Generator(0)));
        Assert.Equal($"{name}: expected a non-empty image of shape (C, H, W); got [4, 4]", ex.Message);
    }
}
