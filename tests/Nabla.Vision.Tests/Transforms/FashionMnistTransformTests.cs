using Nabla.Data;
using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

/// <summary>The transforms on real Fashion-MNIST samples (1 x 28 x 28, from the subset kept in data/): shape, range, seeds.</summary>
public class FashionMnistTransformTests
{
    static readonly Lazy<TensorDataset> s_samples = new(() =>
        FashionMnist.Load(FashionMnist.FindEmbedded() ?? throw new InvalidOperationException("the embedded Fashion-MNIST subset is missing"), train: false));

    public static TheoryData<string> Names => new(Cases.Keys);

    static readonly Dictionary<string, (Func<ITransform> Make, int[] Shape)> Cases = new()
    {
        ["HorizontalFlip"] = (() => new HorizontalFlip(), [1, 28, 28]),
        ["VerticalFlip"] = (() => new VerticalFlip(), [1, 28, 28]),
        ["RandomCropPadded"] = (() => new RandomCrop(28, padding: 4), [1, 28, 28]),
        ["CenterCrop"] = (() => new CenterCrop(24), [1, 24, 24]),
        ["FiveCrop"] = (() => new FiveCrop(20), [5, 1, 20, 20]),
        ["TenCrop"] = (() => new TenCrop(20), [10, 1, 20, 20]),
        ["Resize"] = (() => new Resize(32), [1, 32, 32]),
        ["ColorJitter"] = (() => new ColorJitter(0.4, 0.4), [1, 28, 28]),
        ["RandomErasing"] = (() => new RandomErasing(p: 1), [1, 28, 28]),
        ["RandomResizedCrop"] = (() => new RandomResizedCrop(28), [1, 28, 28]),
        ["RandomRotation"] = (() => new RandomRotation(15), [1, 28, 28]),
        ["TrivialAugmentWide"] = (() => new TrivialAugmentWide(), [1, 28, 28]),
        ["RandAugment"] = (() => new RandAugment(numOps: 2, magnitude: 9), [1, 28, 28]),
        ["TypicalPolicy"] = (() => new Compose(new RandomCrop(28, padding: 4), new HorizontalFlip(), new RandAugment()), [1, 28, 28]),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Shape_range_and_seed_on_garments(string name)
    {
        var (make, shape) = Cases[name];
        var t = make();
        for (int i = 0; i < 20; i++)
        {
            var image = s_samples.Value.Get(i * 97).Input;
            var before = image.ToArray();
            var a = t.Apply(image, new Generator((ulong)i));
            Assert.Equal(shape, a.Shape.ToArray());
            Assert.All(a.ToArray(), v => Assert.InRange(v, 0f, 1f));
            Assert.Equal(a.ToArray(), t.Apply(image, new Generator((ulong)i)).ToArray());
            Assert.Equal(before, image.ToArray());
        }
    }

    [Fact]
    public void Flipping_a_garment_twice_gives_it_back()
    {
        var image = s_samples.Value.Get(5).Input;
        var g = new Generator(0);
        var flip = new HorizontalFlip(1);
        Assert.Equal(image.ToArray(), flip.Apply(flip.Apply(image, g), g).ToArray());
        Assert.NotEqual(image.ToArray(), flip.Apply(image, g).ToArray());
    }
}
