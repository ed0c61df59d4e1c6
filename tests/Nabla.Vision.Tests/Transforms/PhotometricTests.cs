using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class PhotometricTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    static float Mean(Tensor t) => t.ToArray().Average();

    [Fact]
    public void ColorJitter_BrightnessOnly_ScalesByTheDrawnFactor()
    {
        var g = new Generator(11);
        // The draws: 3 for the order, then the brightness factor.
        for (int i = 3; i >= 1; i--) g.NextInt64(0, i + 1);
        double f = 0.6 + 0.8 * g.NextDouble();
        var output = new ColorJitter(brightness: 0.4).Apply(Photo, new Generator(11));
        var x = Photo.Data; var y = output.Data;
        for (int i = 0; i < x.Length; i += 97)
            Assert.Equal(Math.Clamp((float)f * x[i], 0f, 1f), y[i], 6);
    }

    [Fact]
    public void ColorJitter_ZeroStrengths_IsIdentity()
    {
        Assert.Equal(Photo.ToArray(), new ColorJitter().Apply(Photo, new Generator(0)).ToArray());
    }

    [Fact]
    public void ColorJitter_HueAndSaturation_LeaveGrayPixelsAlone()
    {
        // Within 1e-4: torchvision's luma weights 0.2989 + 0.587 + 0.114 sum to 0.9999, not 1.
        var gray = Tensor.Full([3, 4, 4], 0.3f);
        Assert.Equal(gray.ToArray(), new ColorJitter(saturation: 0.9, hue: 0.5).Apply(gray, new Generator(2)).ToArray(), (a, b) => MathF.Abs(a - b) < 1e-4f);
    }

    [Fact]
    public void ColorJitter_Hue_RotatesPrimaries_AndKeepsValue()
    {
        // Hue 0.5 at most; a shift of exactly 1/3 turns red into green. Check the HSV round trip instead:
        // any hue shift keeps each pixel's max (V) and min, since it only permutes/mixes within [min, max].
        var output = new ColorJitter(hue: 0.5).Apply(Photo, new Generator(4));
        int plane = 300 * 451;
        var x = Photo.Data; var y = output.Data;
        for (int i = 0; i < plane; i += 101)
        {
            float vx = Math.Max(x[i], Math.Max(x[plane + i], x[2 * plane + i]));
            float vy = Math.Max(y[i], Math.Max(y[plane + i], y[2 * plane + i]));
            float mx = Math.Min(x[i], Math.Min(x[plane + i], x[2 * plane + i]));
            float my = Math.Min(y[i], Math.Min(y[plane + i], y[2 * plane + i]));
            Assert.Equal(vx, vy, 5);
            Assert.Equal(mx, my, 4);
        }
    }

    [Fact]
    public void ColorJitter_Saturation_OnGrayscale_IsIdentity_ButContrastMovesTowardTheMean()
    {
        var gray = Image.Load(TestData.Chelsea, grayscale: true);
        Assert.Equal(gray.ToArray(), new ColorJitter(saturation: 1, hue: 0.3).Apply(gray, new Generator(1)).ToArray());
        var contrasted = new ColorJitter(contrast: 0.9).Apply(gray, new Generator(1));
        Assert.Equal(Mean(gray), Mean(contrasted), 2);
    }

    [Fact]
    public void ColorJitter_BadArguments_Throw()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(brightness: -0.1));
        Assert.StartsWith("If brightness is a single number, it must be non negative; got -0.1", ex.Message);
        var hue = Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(hue: 0.6));
        Assert.StartsWith("hue values should be between (-0.5, 0.5); got hue = 0.6", hue.Message);
        var shape = Assert.Throws<ShapeException>(() => new ColorJitter(0.1).Apply(Tensor.Zeros(2, 3, 3), new Generator(0)));
        Assert.Equal("ColorJitter: expected an image of shape (1, H, W) or (3, H, W); got [2, 3, 3]", shape.Message);
    }

    [Fact]
    public void RandomErasing_FillsOneRectangleWithinTheScaleRange()
    {
        for (ulong s = 0; s < 20; s++)
        {
            var output = new RandomErasing(p: 1, value: -1f).Apply(Photo, new Generator(s));
            var y = output.Data;
            int plane = 300 * 451;
            int minY = int.MaxValue, maxY = -1, minX = int.MaxValue, maxX = -1, count = 0;
            for (int i = 0; i < plane; i++)
            {
                if (y[i] != -1f) { Assert.Equal(Photo.Data[i], y[i]); continue; }
                count++;
                minY = Math.Min(minY, i / 451); maxY = Math.Max(maxY, i / 451);
                minX = Math.Min(minX, i % 451); maxX = Math.Max(maxX, i % 451);
                Assert.Equal(-1f, y[plane + i]);
                Assert.Equal(-1f, y[2 * plane + i]);
            }
            Assert.True(count > 0, $"seed {s}: nothing erased");
            Assert.Equal((maxY - minY + 1) * (maxX - minX + 1), count); // one filled rectangle
            Assert.InRange(count, 0.02 * plane * 0.8, 0.33 * plane * 1.2);
        }
    }

    [Fact]
    public void RandomErasing_PZero_IsIdentity_AndBadScaleThrows()
    {
        Assert.Equal(Photo.ToArray(), new RandomErasing(p: 0).Apply(Photo, new Generator(0)).ToArray());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomErasing(scale: (0.5, 0.2)));
        Assert.StartsWith("Scale should be between 0 and 1, with min <= max; got (0.5, 0.2)", ex.Message);
        var ratio = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomErasing(ratio: (0, 1)));
        Assert.StartsWith("Ratio should be positive and finite, with min <= max; got (0, 1)", ratio.Message);
        var p = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomErasing(p: 1.5));
        Assert.StartsWith("p should be a probability between 0 and 1; got 1.5", p.Message);
    }

    [Fact]
    public void Normalize_KnownValues_OnImageAndStack()
    {
        var img = Tensor.FromArray([0f, 1f, 0.5f, 0.5f], 2, 1, 2);
        var n = new Normalize([0.5f, 0.25f], [0.5f, 0.25f]);
        Assert.Equal([-1f, 1f, 1f, 1f], n.Apply(img, new Generator(0)).ToArray());
        var stack = Tensor.FromArray([0f, 1f, 0.5f, 0.5f, 1f, 1f, 0f, 0f], 2, 2, 1, 2);
        Assert.Equal([-1f, 1f, 1f, 1f, 1f, 1f, -1f, -1f], n.Apply(stack, new Generator(0)).ToArray());
    }

    [Fact]
    public void Normalize_BadArguments_Throw()
    {
        var zero = Assert.Throws<ArgumentException>(() => new Normalize([0f], [0f]));
        Assert.StartsWith("std evaluated to zero after conversion to float32, leading to division by zero (std[0] = 0)", zero.Message);
        var count = Assert.Throws<ArgumentException>(() => new Normalize([0f, 0f], [1f]));
        Assert.StartsWith("Normalize: expected as many means as stds, at least one; got 2 means and 1 stds", count.Message);
        var shape = Assert.Throws<ShapeException>(() => new Normalize([0f], [1f]).Apply(Photo, new Generator(0)));
        Assert.Equal("Normalize: expected an image of shape (1, H, W) or (N, 1, H, W); got [3, 300, 451]", shape.Message);
    }

    [Fact]
    public void Compose_RunsInOrder_SharingTheGenerator()
    {
        var composed = new Compose(new RandomCrop(50), new HorizontalFlip());
        var g = new Generator(8);
        var byHand = new HorizontalFlip().Apply(new RandomCrop(50).Apply(Photo, g), g);
        Assert.Equal(byHand.ToArray(), composed.Apply(Photo, new Generator(8)).ToArray());
    }

    [Fact]
    public void RandomApply_PZeroIsACopy_POneApplies()
    {
        var flip = new HorizontalFlip(1);
        Assert.Equal(Photo.ToArray(), new RandomApply(flip, 0).Apply(Photo, new Generator(0)).ToArray());
        Assert.Equal(flip.Apply(Photo, new Generator(0)).ToArray(), new RandomApply(flip, 1).Apply(Photo, new Generator(0)).ToArray());
    }

    [Fact]
    public void RandomChoice_FollowsTheWeights()
    {
        var img = Tensor.FromArray([1f, 2f], 1, 1, 2);
        var pick = new RandomChoice([new HorizontalFlip(0), new HorizontalFlip(1)], [0, 1]);
        for (ulong s = 0; s < 20; s++) Assert.Equal([2f, 1f], pick.Apply(img, new Generator(s)).ToArray());
        var fair = new RandomChoice(new HorizontalFlip(0), new HorizontalFlip(1));
        var g = new Generator(1);
        int flips = 0;
        for (int i = 0; i < 2000; i++) if (fair.Apply(img, g).Data[0] == 2f) flips++;
        Assert.InRange(flips, 900, 1100);
        var ex = Assert.Throws<ArgumentException>(() => new RandomChoice([new HorizontalFlip()], [0.5, 0.5]));
        Assert.StartsWith("Length of p doesn't match the number of transforms: 2 != 1", ex.Message);
    }

    [Fact]
    public void TransformedDataset_IsReproducible_PerEpochAndIndex()
    {
        var images = Tensor.Rand([6, 3, 8, 8], new Generator(0));
        var source = new Nabla.Data.TensorDataset(images, Tensor.Arange(6));
        var aug = new Compose(new RandomCrop(8, padding: 2), new HorizontalFlip());
        var a = new TransformedDataset(source, aug, seed: 5);
        var b = new TransformedDataset(source, aug, seed: 5);
        // Reading order does not matter: sample 3 is the same read first or last.
        var first = a.Get(3).Input.ToArray();
        for (int i = 5; i >= 0; i--) b.Get(i);
        Assert.Equal(first, b.Get(3).Input.ToArray());
        Assert.Equal(3f, a.Get(3).Target.Item());
        bool changes = false;
        for (int e = 1; e < 10 && !changes; e++)
        {
            a.Epoch = e;
            changes = !first.AsSpan().SequenceEqual(a.Get(3).Input.ToArray());
        }
        Assert.True(changes, "the augmentation never changed across epochs");
    }
}
