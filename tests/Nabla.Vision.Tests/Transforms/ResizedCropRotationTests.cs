using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class ResizedCropRotationTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    [Fact]
    public void RandomResizedCrop_WindowOfOutputSize_EqualsTheSourcePixels()
    {
        // Area 200 * 200 at ratio 1: the window is 200 x 200, so the resize is the identity.
        double s = 40000.0 / (300 * 451);
        var t = new RandomResizedCrop(200, scale: (s, s), ratio: (1, 1));
        for (ulong seed = 0; seed < 5; seed++)
        {
            var g = new Generator(seed);
            g.NextDouble(); g.NextDouble(); // area and aspect draws
            int top = (int)g.NextInt64(0, 101), left = (int)g.NextInt64(0, 252);
            var output = t.Apply(Photo, new Generator(seed));
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < 200; y += 7)
                    for (int x = 0; x < 200; x += 5)
                        Assert.Equal(TestData.At(Photo, ch, top + y, left + x), TestData.At(output, ch, y, x));
        }
    }

    [Fact]
    public void RandomResizedCrop_Windows_RespectScaleAndRatio()
    {
        var t = new RandomResizedCrop(32);
        var g = new Generator(3);
        for (int i = 0; i < 500; i++)
        {
            var (top, left, h, w) = t.Window(300, 451, g);
            Assert.True(top >= 0 && left >= 0 && top + h <= 300 && left + w <= 451);
            double area = (double)h * w / (300 * 451), ratio = (double)w / h;
            Assert.InRange(area, 0.07, 1.0);
            Assert.InRange(ratio, 0.7, 1.45); // 3/4 to 4/3, plus rounding
        }
    }

    [Fact]
    public void RandomResizedCrop_NoFit_FallsBackToTheCentredWindowOfAllowedRatio()
    {
        // A square window of the whole area cannot fit 300 x 451: the fallback is the centred 300 x 300.
        var t = new RandomResizedCrop(300, scale: (1, 1), ratio: (1, 1));
        Assert.Equal((0, 75, 300, 300), t.Window(300, 451, new Generator(0)));
        // torchvision's fallback centres with floor division ((451 - 300) // 2 = 75), unlike CenterCrop's round (76).
        var output = t.Apply(Photo, new Generator(0));
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < 300; y += 3)
                for (int x = 0; x < 300; x += 7)
                    Assert.Equal(TestData.At(Photo, ch, y, 75 + x), TestData.At(output, ch, y, x));
    }

    [Fact]
    public void RandomResizedCrop_BadArguments_Throw()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(8, scale: (0.5, 0.1)));
        Assert.StartsWith("RandomResizedCrop: expected 0 < scale.min <= scale.max; got (0.5, 0.1)", ex.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(8, ratio: (-1, 1)));
        Assert.StartsWith("RandomResizedCrop: expected 0 < ratio.min <= ratio.max; got (-1, 1)", r.Message);
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(0, 5));
        Assert.StartsWith("size should be positive; got (0, 5)", size.Message);
    }

    [Fact]
    public void Rotation_QuarterTurn_IsCounterClockwise()
    {
        var img = Tensor.FromArray([1f, 2, 3, 4], 1, 2, 2);
        var turned = new RandomRotation(90, 90).Apply(img, new Generator(0));
        Assert.Equal([2f, 4, 1, 3], turned.ToArray());
        var bilinear = new RandomRotation(90, 90, bilinear: true).Apply(img, new Generator(0));
        Assert.Equal([2f, 4, 1, 3], bilinear.ToArray(), (a, b) => MathF.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void Rotation_FourQuarterTurns_AndZero_AreIdentity()
    {
        var square = new CenterCrop(201).Apply(Photo, new Generator(0));
        var quarter = new RandomRotation(90, 90);
        var x = square;
        for (int i = 0; i < 4; i++) x = quarter.Apply(x, new Generator(0));
        Assert.Equal(square.ToArray(), x.ToArray());
        Assert.Equal(Photo.ToArray(), new RandomRotation(0).Apply(Photo, new Generator(0)).ToArray());
    }

    [Fact]
    public void Rotation_FillsTheCornersAndKeepsTheCentre()
    {
        var t = new RandomRotation(45, 45, fill: -1f);
        var output = t.Apply(Photo, new Generator(0));
        Assert.Equal(-1f, TestData.At(output, 0, 0, 0));
        Assert.Equal(-1f, TestData.At(output, 2, 299, 450));
        // The centre is (149.5, 225); pixel (150, 225) is half a pixel below it and rotates to
        // (149.85, 224.65), whose nearest pixel is itself.
        Assert.Equal(TestData.At(Photo, 1, 150, 225), TestData.At(output, 1, 150, 225));
    }

    [Fact]
    public void Rotation_BadDegrees_Throw()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomRotation(-5));
        Assert.StartsWith("If degrees is a single number, it must be positive; got -5", ex.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomRotation(10, 5));
        Assert.StartsWith("RandomRotation: expected finite degrees with min <= max; got (10, 5)", range.Message);
    }
}
