using Nabla.Nn;
using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests;

public class TestTimeAugmentationTests
{
    // A toy image (1, 4, 6) of distinct values and a fixed linear model over the 2 x 2 = 4 pixels of a view, K = 3.
    static readonly Tensor Img = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => i / 24f).ToArray(), 1, 4, 6);
    static readonly Tensor Weight = Tensor.FromArray([1f, -1, 2, 0.5f, -2, 1, 0, 3, 0.25f, 0.5f, -1, 1], 3, 4);
    static Tensor Model(Tensor views) => Functional.Linear(views.Reshape(views.Shape[0], -1), Weight);

    /// <summary>softmax(W · flatten(view)) for one (1, 2, 2) view, computed by hand.</summary>
    static double[] Probabilities(float[] view)
    {
        var w = Weight.ToArray();
        var logits = new double[3];
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 4; i++) logits[k] += w[k * 4 + i] * view[i];
        double z = logits.Sum(Math.Exp);
        return logits.Select(l => Math.Exp(l) / z).ToArray();
    }

    static float[] Slice(Tensor stack, int k)
    {
        int size = stack.Numel / stack.Shape[0];
        return stack.Data.Slice(k * size, size).ToArray();
    }

    static void AssertMean(IEnumerable<float[]> views, Tensor actual)
    {
        var list = views.ToList();
        var expected = new double[3];
        foreach (var v in list)
        {
            var p = Probabilities(v);
            for (int k = 0; k < 3; k++) expected[k] += p[k] / list.Count;
        }
        Assert.Equal([3], actual.Shape.ToArray());
        for (int k = 0; k < 3; k++) Assert.Equal(expected[k], actual.Data[k], 5);
        Assert.Equal(1.0, actual.ToArray().Sum(), 5);
    }

    [Fact]
    public void AverageOverViews_TenCrop_IsTheMeanOfTheViewsProbabilities()
    {
        var views = new TenCrop(2).Apply(Img, new Generator(0));
        var p = TestTimeAugmentation.AverageOverViews(Model, views);
        AssertMean(Enumerable.Range(0, 10).Select(k => Slice(views, k)), p);
    }

    [Fact]
    public void MultiScale_AveragesResizeThenCenterCropViews()
    {
        int[] sizes = [2, 3, 4];
        var p = TestTimeAugmentation.MultiScale(Model, Img, sizes, cropSize: 2);
        var g = new Generator(0);
        var views = sizes.Select(s => new CenterCrop(2).Apply(new Resize(s).Apply(Img, g), g).ToArray());
        AssertMean(views, p);
    }

    [Fact]
    public void AverageOverViews_BadShapes_Throw()
    {
        var ex = Assert.Throws<ShapeException>(() => TestTimeAugmentation.AverageOverViews(Model, Img));
        Assert.StartsWith("TestTimeAugmentation.AverageOverViews: expected a non-empty stack of views of shape (V, C, h, w)", ex.Message);
        var views = new FiveCrop(2).Apply(Img, new Generator(0));
        var bad = Assert.Throws<ShapeException>(() => TestTimeAugmentation.AverageOverViews(x => Model(x).Reshape(-1), views));
        Assert.StartsWith("TestTimeAugmentation.AverageOverViews: expected model output of shape (5, K): one row of class logits per view; got [15]", bad.Message);
        var none = Assert.Throws<ArgumentException>(() => TestTimeAugmentation.MultiScale(Model, Img, [], 2));
        Assert.StartsWith("TestTimeAugmentation.MultiScale: expected at least one size; got none", none.Message);
    }
}
