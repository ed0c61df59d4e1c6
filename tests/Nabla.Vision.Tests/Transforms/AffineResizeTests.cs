using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class AffineResizeTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    [Fact]
    public void RandomAffine_IdentityParameters_GiveTheInput()
    {
        var t = new RandomAffine(0, translate: (0, 0), scale: (1, 1), shear: (0, 0));
        Assert.Equal(Photo.ToArray(), t.Apply(Photo, new Generator(4)).ToArray());
        var bilinear = new RandomAffine(0, bilinear: true);
        Assert.Equal(Photo.ToArray(), bilinear.Apply(Photo, new Generator(4)).ToArray());
    }

    [Fact]
    public void RandomAffine_Translation_MovesPixelsByWholePixels()
    {
        var t = new RandomAffine(0, translate: (0.1, 0.2), fill: -1f);
        for (ulong seed = 0; seed < 6; seed++)
        {
            // The shifts are round(u W) and round(v H), u in [-0.1, 0.1], v in [-0.2, 0.2].
            var g = new Generator(seed);
            double dx = 0.1 * 451, dy = 0.2 * 300;
            int tx = (int)Math.Round(-dx + 2 * dx * g.NextDouble(), MidpointRounding.ToEven);
            int ty = (int)Math.Round(-dy + 2 * dy * g.NextDouble(), MidpointRounding.ToEven);
            Assert.Equal((0.0, tx, ty, 1.0, 0.0), t.Sample(300, 451, new Generator(seed)));
            var output = t.Apply(Photo, new Generator(seed));
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < 300; y += 7)
                    for (int x = 0; x < 451; x += 5)
                    {
                        int sy = y - ty, sx = x - tx;
                        bool inside = sy >= 0 && sy < 300 && sx >= 0 && sx < 451;
                        Assert.Equal(inside ? TestData.At(Photo, ch, sy, sx) : -1f, TestData.At(output, ch, y, x));
                    }
        }
    }

    [Fact]
    public void RandomAffine_Angle_IsClockwiseAsTorchvisionsAffine()
    {
        // A quarter turn: affine's +90 is rotation's -90 (three quarter turns counter-clockwise).
        var img = Tensor.FromArray([1f, 2, 3, 4], 1, 2, 2);
        var m = RandomAffine.InverseMatrix(90, 0, 0, 1, 0);
        var turned = RandomAffine.Warp(img.Data, 1, 2, 2, m, bilinear: false, fill: 0);
        Assert.Equal([3f, 1, 4, 2], turned);
        Assert.Equal(new RandomRotation(-90, -90).Apply(img, new Generator(0)).ToArray(), turned);
    }

    [Fact]
    public void RandomAffine_ScaleTwo_SamplesHalfwayToTheCentre()
    {
        // Scale 2 about the centre (1.5, 1.5) of a 4 x 4 ramp: output x samples 1.5 + (x - 1.5) / 2.
        var img = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 4)).ToArray(), 1, 4, 4);
        var output = new RandomAffine(0, scale: (2, 2), bilinear: true).Apply(img, new Generator(0));
        Assert.Equal([0.75f, 1.25f, 1.75f, 2.25f], output.Data[..4].ToArray());
    }

    [Fact]
    public void RandomAffine_ShearX_ShiftsRowsByTheirDistanceFromTheCentre()
    {
        // Shear 45 degrees along x (tan 45 = 1): output (dx, dy) samples the input at (dx + dy, dy) about the centre.
        var m = RandomAffine.InverseMatrix(0, 0, 0, 1, 45);
        Assert.Equal([1.0, 1.0, 0.0, 0.0, 1.0, 0.0], m);
    }

    [Fact]
    public void RandomAffine_SameSeed_SameOutput_ShapeAndRangeKept()
    {
        var t = new RandomAffine(30, translate: (0.1, 0.1), scale: (0.8, 1.2), shear: (-10, 10), bilinear: true);
        var a = t.Apply(Photo, new Generator(11));
        Assert.Equal(a.ToArray(), t.Apply(Photo, new Generator(11)).ToArray());
        Assert.NotEqual(a.ToArray(), t.Apply(Photo, new Generator(12)).ToArray());
        Assert.Equal([3, 300, 451], a.Shape.ToArray());
        foreach (float v in a.Data) Assert.InRange(v, 0f, 1f);
    }

    [Fact]
    public void RandomAffine_BadArguments_Throw()
    {
        var d = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(-1));
        Assert.StartsWith("If degrees is a single number, it must be positive; got -1", d.Message);
        var tr = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(0, translate: (1.5, 0)));
        Assert.StartsWith("translation values should be between 0 and 1; got (1.5, 0)", tr.Message);
        var s = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(0, scale: (0, 1)));
        Assert.StartsWith("scale values should be positive, with min <= max; got (0, 1)", s.Message);
        var sh = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomAffine(0, shear: (10, -10)));
        Assert.StartsWith("RandomAffine: expected shear degrees with min <= max inside (-90, 90); got (10, -10)", sh.Message);
    }

    [Fact]
    public void RandomResize_ShorterSide_InRange_AspectKept_Deterministic()
    {
        var t = new RandomResize(40, 60);
        var seen = new HashSet<int>();
        for (ulong seed = 0; seed < 40; seed++)
        {
            var output = t.Apply(Photo, new Generator(seed));
            int h = output.Shape[1], w = output.Shape[2];
            Assert.InRange(h, 40, 60);
            Assert.Equal(h * 451 / 300, w);
            int expected = (int)new Generator(seed).NextInt64(40, 61);
            Assert.Equal(expected, h);
            seen.Add(h);
            if (seed < 3) Assert.Equal(output.ToArray(), t.Apply(Photo, new Generator(seed)).ToArray());
        }
        Assert.True(seen.Count > 10, $"only {seen.Count} distinct sizes in 40 draws");
        // Composed with RandomCrop, as ResNet trains.
        var crop = new Compose(t, new RandomCrop(32)).Apply(Photo, new Generator(1));
        Assert.Equal([3, 32, 32], crop.Shape.ToArray());
    }

    [Fact]
    public void RandomResize_PointRange_IsResize()
    {
        var output = new RandomResize(50, 50).Apply(Photo, new Generator(0));
        Assert.Equal(new Resize(50).Apply(Photo, new Generator(0)).ToArray(), output.ToArray());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResize(60, 40));
        Assert.StartsWith("RandomResize: expected minSize <= maxSize; got (60, 40)", ex.Message);
    }
}
