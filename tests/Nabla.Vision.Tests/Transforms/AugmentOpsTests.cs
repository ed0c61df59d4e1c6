using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class AugmentOpsTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    static float[] Op(AugmentOp op, double m, float[] values, params int[] shape) =>
        AugmentOps.Apply(op, Tensor.FromArray(values, shape), m).ToArray();

    static void Near(float[] expected, float[] actual) => Assert.Equal(expected, actual, (a, b) => MathF.Abs(a - b) < 1e-5f);

    public static TheoryData<AugmentOp, double> StrongOps => new()
    {
        { AugmentOp.Identity, 0 }, { AugmentOp.ShearX, -0.99 }, { AugmentOp.ShearY, 0.99 }, { AugmentOp.TranslateX, 32 },
        { AugmentOp.TranslateY, -32 }, { AugmentOp.Rotate, 135 }, { AugmentOp.Brightness, 0.99 }, { AugmentOp.Color, -0.99 },
        { AugmentOp.Contrast, 0.99 }, { AugmentOp.Sharpness, 0.99 }, { AugmentOp.Posterize, 2 }, { AugmentOp.Solarize, 0.3 },
        { AugmentOp.AutoContrast, 0 }, { AugmentOp.Equalize, 0 },
    };

    [Theory]
    [MemberData(nameof(StrongOps))]
    public void EveryOp_KeepsShapeAndUnitRange_OnRgbAndGray(AugmentOp op, double m)
    {
        foreach (var img in new[] { Photo, Image.Load(TestData.Chelsea, grayscale: true) })
        {
            var output = AugmentOps.Apply(op, img, m);
            Assert.Equal(img.Shape.ToArray(), output.Shape.ToArray());
            foreach (var v in output.Data) Assert.True(v >= 0 && v <= 1, $"{op}: {v}");
        }
    }

    [Fact]
    public void PointOps_KnownValues()
    {
        Near([0f, 0.5f, 0.5f, 0f], Op(AugmentOp.Posterize, 1, [0.2f, 0.6f, 0.99f, 0.49f], 1, 1, 4));
        Near([0.2f, 0.4f, 0.1f, 0.49f], Op(AugmentOp.Solarize, 0.5, [0.2f, 0.6f, 0.9f, 0.49f], 1, 1, 4));
        Near([0f, 0.5f, 1f, 0.25f], Op(AugmentOp.AutoContrast, 0, [0.2f, 0.4f, 0.6f, 0.3f], 1, 1, 4));
        Near([0.3f, 0.9f, 1f, 0f], Op(AugmentOp.Brightness, 0.5, [0.2f, 0.6f, 0.8f, 0f], 1, 1, 4));
        Near([0.5f, 0.5f, 0.5f, 0.5f], Op(AugmentOp.Contrast, -1, [0.2f, 0.6f, 0.8f, 0.4f], 1, 1, 4));
        Near([0.7f, 0.7f], Op(AugmentOp.AutoContrast, 0, [0.7f, 0.7f], 1, 1, 2)); // flat: unchanged
    }

    [Fact]
    public void Color_MinusOne_IsGrayscale()
    {
        var gray = AugmentOps.Apply(AugmentOp.Color, Photo, -1).Data;
        int plane = 300 * 451;
        for (int i = 0; i < plane; i += 113)
        {
            float expected = 0.2989f * Photo.Data[i] + 0.587f * Photo.Data[plane + i] + 0.114f * Photo.Data[2 * plane + i];
            Assert.Equal(expected, gray[i], 5);
            Assert.Equal(gray[i], gray[plane + i]);
            Assert.Equal(gray[i], gray[2 * plane + i]);
        }
    }

    [Fact]
    public void GeometricOps_MovePixelsAsDocumented()
    {
        float[] img = [1, 2, 3, 4, 5, 6]; // 2 rows of 3
        Near([0, 1, 2, 0, 4, 5], Op(AugmentOp.TranslateX, 1, img, 1, 2, 3));
        Near([0, 0, 0, 1, 2, 3], Op(AugmentOp.TranslateY, 1, img, 1, 2, 3));
        Near([1, 2, 3, 5, 6, 0], Op(AugmentOp.ShearX, 1, img, 1, 2, 3)); // output(x, 1) = input(x + 1, 1)
        Near([1, 5, 0, 4, 0, 0], Op(AugmentOp.ShearY, 1, img, 1, 2, 3)); // output(x, y) = input(x, y + x)
        Assert.Equal(new RandomRotation(90, 90).Apply(Photo, new Generator(0)).ToArray(), AugmentOps.Apply(AugmentOp.Rotate, Photo, 90).ToArray());
    }

    [Fact]
    public void Sharpness_IsIdentityOnFlatImages_AndAtFactorOne()
    {
        Assert.Equal(Photo.ToArray(), AugmentOps.Apply(AugmentOp.Sharpness, Photo, 0).ToArray());
        var flat = Tensor.Full([3, 5, 5], 0.4f);
        Near(flat.ToArray(), AugmentOps.Apply(AugmentOp.Sharpness, flat, 0.9).ToArray());
        // Factor 0 is the smoothed image: the centre of a 3 x 3 impulse is 5/13 of it.
        var impulse = new float[9]; impulse[4] = 1;
        Assert.Equal(5f / 13, Op(AugmentOp.Sharpness, -1, impulse, 1, 3, 3)[4], 5);
    }

    [Fact]
    public void Equalize_SpreadsADarkHistogram()
    {
        // 512 pixels, levels 0..127 four times each: step = (512 - 4) / 255 = 1, so level k maps to 4k.
        var x = new float[512];
        for (int i = 0; i < 512; i++) x[i] = (i / 4) / 255f;
        var y = Op(AugmentOp.Equalize, 0, x, 1, 16, 32);
        for (int i = 0; i < 512; i += 9) Assert.Equal(Math.Min(4 * (i / 4), 255) / 255f, y[i], 6);
    }

    [Fact]
    public void MagnitudeTables_MatchTorchvision()
    {
        Assert.Equal(135, AugmentOps.Magnitude(AugmentOp.Rotate, 30, 31, wide: true, 32, 32));
        Assert.Equal(30, AugmentOps.Magnitude(AugmentOp.Rotate, 30, 31, wide: false, 32, 32));
        Assert.Equal(0.99 * 15 / 30, AugmentOps.Magnitude(AugmentOp.ShearX, 15, 31, wide: true, 32, 32), 12);
        Assert.Equal(150.0 / 331 * 451 * 9 / 30, AugmentOps.Magnitude(AugmentOp.TranslateX, 9, 31, wide: false, 300, 451), 12);
        Assert.Equal(32, AugmentOps.Magnitude(AugmentOp.TranslateY, 30, 31, wide: true, 300, 451));
        Assert.Equal(2, AugmentOps.Magnitude(AugmentOp.Posterize, 30, 31, wide: true, 32, 32));
        Assert.Equal(7, AugmentOps.Magnitude(AugmentOp.Posterize, 9, 31, wide: false, 32, 32)); // 8 - round(9 / 7.5)
        Assert.Equal(1, AugmentOps.Magnitude(AugmentOp.Solarize, 0, 31, wide: true, 32, 32));
        Assert.Equal(0, AugmentOps.Magnitude(AugmentOp.Equalize, 12, 31, wide: true, 32, 32));
    }

    [Fact]
    public void TrivialAugmentWide_AppliesTheDrawnOpAtTheDrawnMagnitude()
    {
        var seen = new HashSet<AugmentOp>();
        for (ulong seed = 0; seed < 60; seed++)
        {
            var g = new Generator(seed);
            var op = (AugmentOp)g.NextInt64(0, 14);
            bool hasMagnitude = op is not (AugmentOp.Identity or AugmentOp.AutoContrast or AugmentOp.Equalize);
            int bin = hasMagnitude ? (int)g.NextInt64(0, 31) : 0;
            double m = AugmentOps.Magnitude(op, bin, 31, true, 300, 451);
            if (AugmentOps.IsSigned(op) && g.NextInt64(0, 2) == 1) m = -m;
            seen.Add(op);
            var expected = AugmentOps.Apply(op, Photo, m).ToArray();
            Assert.Equal(expected, new TrivialAugmentWide().Apply(Photo, new Generator(seed)).ToArray());
        }
        Assert.True(seen.Count >= 12, $"only {seen.Count} ops drawn in 60 seeds");
    }

    [Fact]
    public void RandAugment_ZeroOps_IsIdentity_AndBadArgumentsThrow()
    {
        Assert.Equal(Photo.ToArray(), new RandAugment(numOps: 0).Apply(Photo, new Generator(0)).ToArray());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new RandAugment(magnitude: 31));
        Assert.StartsWith("RandAugment: expected a magnitude bin in [0, 30]; got 31", ex.Message);
        var bins = Assert.Throws<ArgumentOutOfRangeException>(() => new TrivialAugmentWide(1));
        Assert.StartsWith("TrivialAugmentWide: expected at least 2 magnitude bins; got 1", bins.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandAugment_applies_N_operations_drawn_in_order(int n)
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            // Replay the draws: N times an op, its sign when signed, then the op at magnitude bin 9 of 31.
            var g = new Generator(seed);
            var expected = Photo.Clone();
            var ops = new List<AugmentOp>();
            for (int i = 0; i < n; i++)
            {
                var op = (AugmentOp)g.NextInt64(0, 14);
                double m = AugmentOps.Magnitude(op, 9, 31, wide: false, 300, 451);
                if (AugmentOps.IsSigned(op) && g.NextInt64(0, 2) == 1) m = -m;
                expected = AugmentOps.Apply(op, expected, m);
                ops.Add(op);
            }
            Assert.Equal(n, ops.Count);
            Assert.Equal(expected.ToArray(), new RandAugment(numOps: n, magnitude: 9).Apply(Photo, new Generator(seed)).ToArray());
        }
    }
}
