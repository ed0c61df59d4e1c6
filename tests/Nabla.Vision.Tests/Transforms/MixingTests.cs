using Nabla.Data;
using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class MixingTests
{
    /// <summary>Four images, each filled with its own value (0.1, 0.2, 0.3, 0.4), classes 0, 2, 1, 2.</summary>
    static Batch FourImages()
    {
        var x = new float[4 * 3 * 10 * 12];
        for (int i = 0; i < x.Length; i++) x[i] = 0.1f * (i / 360 + 1);
        return new Batch(Tensor.FromArray(x, 4, 3, 10, 12), Tensor.FromArray([0f, 2, 1, 2]));
    }

    [Fact]
    public void MixUp_BlendsEachImageWithThePreviousOne_AndTheTargetsAlike()
    {
        var batch = FourImages();
        var mixed = new MixUp(numClasses: 3, alpha: 0.4).Apply(batch, new Generator(2));
        Assert.Equal([4, 3, 10, 12], mixed.Inputs.Shape.ToArray());
        Assert.Equal([4, 3], mixed.Targets.Shape.ToArray());
        var soft = mixed.Targets.ToArray();
        float lam = soft[0]; // image 0 (class 0) mixed with image 3 (class 2)
        Assert.InRange(lam, 0f, 1f);
        float[] expectedSoft = [lam, 0, 1 - lam, 1 - lam, 0, lam, 0, lam, 1 - lam, 0, 1 - lam, lam];
        Assert.Equal(expectedSoft, soft, (a, b) => MathF.Abs(a - b) < 1e-6f);
        float[] own = [0.1f, 0.2f, 0.3f, 0.4f];
        for (int i = 0; i < 4; i++)
            Assert.Equal(lam * own[i] + (1 - lam) * own[(i + 3) % 4], mixed.Inputs.Data[i * 360 + 17], 5);
    }

    [Fact]
    public void MixUp_SameSeed_SameBatch()
    {
        var t = new MixUp(3);
        Assert.Equal(t.Apply(FourImages(), new Generator(9)).Inputs.ToArray(), t.Apply(FourImages(), new Generator(9)).Inputs.ToArray());
    }

    [Fact]
    public void CutMix_PastesOneBoxOfThePreviousImage_AndLabelsByArea()
    {
        var batch = FourImages();
        for (ulong seed = 0; seed < 10; seed++)
        {
            var mixed = new CutMix(numClasses: 3).Apply(batch, new Generator(seed));
            var y = mixed.Inputs.Data;
            float[] own = [0.1f, 0.2f, 0.3f, 0.4f];
            for (int i = 0; i < 4; i++)
            {
                int pasted = 0;
                for (int k = 0; k < 360; k++)
                {
                    float v = y[i * 360 + k];
                    if (v == own[(i + 3) % 4]) pasted++;
                    else Assert.Equal(own[i], v);
                }
                // The same box in every channel and every image; the target keeps the unpasted share.
                Assert.Equal(0, pasted % 3);
                float lam = 1 - pasted / 360f;
                var soft = mixed.Targets.Data.Slice(i * 3, 3).ToArray();
                Assert.Equal(1f, soft.Sum(), 5);
                int own_c = (int)batch.Targets.Data[i], prev_c = (int)batch.Targets.Data[(i + 3) % 4];
                if (own_c != prev_c) Assert.Equal(lam, soft[own_c], 5);
            }
        }
    }

    [Fact]
    public void BetaSampler_HasTheRightMeanAndVariance()
    {
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)); for a = 0.4 that is 1/7.2.
        var g = new Generator(1);
        var t = new MixUp(2, alpha: 0.4);
        var batch = new Batch(Tensor.FromArray([0f, 1f], 2, 1, 1, 1), Tensor.FromArray([0f, 1f]));
        double sum = 0, sq = 0;
        const int n = 20000;
        for (int i = 0; i < n; i++)
        {
            double lam = t.Apply(batch, g).Targets.Data[0];
            sum += lam; sq += lam * lam;
        }
        double mean = sum / n, variance = sq / n - mean * mean;
        Assert.InRange(mean, 0.49, 0.51);
        Assert.InRange(variance, 1 / 7.2 - 0.005, 1 / 7.2 + 0.005);
    }

    [Fact]
    public void Mixing_BadArguments_Throw()
    {
        var alpha = Assert.Throws<ArgumentOutOfRangeException>(() => new MixUp(10, alpha: 0));
        Assert.StartsWith("Alpha param must be positive; got 0", alpha.Message);
        var classes = Assert.Throws<ArgumentOutOfRangeException>(() => new CutMix(0));
        Assert.StartsWith("Please provide a valid positive value for the num_classes; got 0", classes.Message);
        var label = Assert.Throws<ArgumentException>(() => new CutMix(2).Apply(FourImages(), new Generator(0)));
        Assert.StartsWith("CutMix: target 2 at position 1 is not a class index in [0, 1]", label.Message);
        var shape = Assert.Throws<ShapeException>(() => new MixUp(3).Apply(new Batch(Tensor.Zeros(4, 5), Tensor.Zeros(4)), new Generator(0)));
        Assert.Equal("MixUp: expected a batch of images of shape (B, C, H, W); got [4, 5]", shape.Message);
        var targets = Assert.Throws<ShapeException>(() => new MixUp(3).Apply(new Batch(Tensor.Zeros(4, 1, 2, 2), Tensor.Zeros(4, 3)), new Generator(0)));
        Assert.Equal("MixUp: expected targets of shape (4) holding class indices; got [4, 3]", targets.Message);
    }
}
