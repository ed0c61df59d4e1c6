using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests.TransformTests;

public class GeometryTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    /// <summary>Asserts out[c, y, x] == src[c, top + y, left + x] for every output pixel (zero outside the source).</summary>
    static void AssertWindow(Tensor src, Tensor output, int top, int left)
    {
        int c = output.Shape[0], h = output.Shape[1], w = output.Shape[2];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int sy = top + y, sx = left + x;
                    bool inside = sy >= 0 && sy < src.Shape[1] && sx >= 0 && sx < src.Shape[2];
                    float expected = inside ? TestData.At(src, ch, sy, sx) : 0f;
                    if (expected != TestData.At(output, ch, y, x))
                        Assert.Fail($"pixel ({ch}, {y}, {x}): expected {expected} (source ({sy}, {sx})); got {TestData.At(output, ch, y, x)}");
                }
    }

    static Tensor View(Tensor stack, int k)
    {
        int size = stack.Numel / stack.Shape[0];
        return Tensor.FromArray(stack.Data.Slice(k * size, size).ToArray(), stack.Shape[1], stack.Shape[2], stack.Shape[3]);
    }

    [Fact]
    public void HorizontalFlip_Twice_IsIdentity_AndMirrors()
    {
        var flip = new HorizontalFlip(p: 1);
        var once = flip.Apply(Photo, new Generator(0));
        Assert.Equal(TestData.At(Photo, 2, 10, 0), TestData.At(once, 2, 10, 450));
        Assert.Equal(TestData.At(Photo, 0, 299, 17), TestData.At(once, 0, 299, 450 - 17));
        Assert.Equal(Photo.ToArray(), flip.Apply(once, new Generator(0)).ToArray());
    }

    [Fact]
    public void VerticalFlip_Twice_IsIdentity_AndMirrors()
    {
        var flip = new VerticalFlip(p: 1);
        var once = flip.Apply(Photo, new Generator(0));
        Assert.Equal(TestData.At(Photo, 1, 0, 33), TestData.At(once, 1, 299, 33));
        Assert.Equal(Photo.ToArray(), flip.Apply(once, new Generator(0)).ToArray());
    }

    [Fact]
    public void Flip_WithPZero_IsIdentity_AndDrawsNothing()
    {
        var g = new Generator(3);
        var state = g.GetState();
        Assert.Equal(Photo.ToArray(), new HorizontalFlip(0).Apply(Photo, g).ToArray());
        Assert.Equal(state, g.GetState());
    }

    [Fact]
    public void HorizontalFlip_HalfTheTime()
    {
        var g = new Generator(5);
        var tiny = Tensor.FromArray([1f, 2f], 1, 1, 2);
        int flipped = 0;
        for (int i = 0; i < 2000; i++) if (new HorizontalFlip().Apply(tiny, g).Data[0] == 2f) flipped++;
        Assert.InRange(flipped, 900, 1100);
    }

    [Fact]
    public void RandomCrop_PixelsEqualTheSourceAtTheDrawnPosition()
    {
        var crop = new RandomCrop(120, 200, padding: 0);
        var g = new Generator(9);
        int top = (int)g.NextInt64(0, 300 - 120 + 1), left = (int)g.NextInt64(0, 451 - 200 + 1);
        AssertWindow(Photo, crop.Apply(Photo, new Generator(9)), top, left);
    }

    [Fact]
    public void RandomCrop_WithPadding_ZeroFillsOutside_AndCoversAllOffsets()
    {
        var src = Tensor.Arange(1, 17).ToArray();
        var img = Tensor.FromArray(src, 1, 4, 4);
        var crop = new RandomCrop(4, padding: 2);
        var seen = new HashSet<(int, int)>();
        for (ulong s = 0; s < 400; s++)
        {
            var g = new Generator(s);
            int top = (int)g.NextInt64(0, 5) - 2, left = (int)g.NextInt64(0, 5) - 2;
            var output = crop.Apply(img, new Generator(s));
            AssertWindow(img, output, top, left);
            seen.Add((top, left));
        }
        Assert.Equal(25, seen.Count);
    }

    [Fact]
    public void RandomCrop_LargerThanPaddedImage_Throws()
    {
        var ex = Assert.Throws<ShapeException>(() => new RandomCrop(11, padding: 1).Apply(Tensor.Zeros(1, 8, 8), new Generator(0)));
        Assert.Equal("RandomCrop: expected an image of at least 11 x 11 pixels after padding; got 10 x 10 for input of shape [1, 8, 8] with padding 1", ex.Message);
    }

    [Fact]
    public void CenterCrop_IsAtTheRoundedCentre()
    {
        // (300 - 201) / 2 = 49.5 -> 50 (half to even), (451 - 250) / 2 = 100.5 -> 100.
        AssertWindow(Photo, new CenterCrop(201, 250).Apply(Photo, new Generator(0)), 50, 100);
    }

    [Fact]
    public void CenterCrop_LargerThanImage_PadsWithZeros()
    {
        var img = Tensor.Ones(1, 2, 3);
        var output = new CenterCrop(5, 4).Apply(img, new Generator(0));
        AssertWindow(img, output, -1, 0);
        Assert.Equal(6f, output.ToArray().Sum());
    }

    [Fact]
    public void FiveCrop_ViewsAreAtTheDocumentedPositions()
    {
        var five = new FiveCrop(100, 150).Apply(Photo, new Generator(0));
        (int, int)[] corners = [(0, 0), (0, 301), (200, 0), (200, 301), (100, 150)];
        for (int k = 0; k < 5; k++) AssertWindow(Photo, View(five, k), corners[k].Item1, corners[k].Item2);
    }

    [Fact]
    public void TenCrop_SecondFiveAreTheCropsOfTheMirrorImage()
    {
        var ten = new TenCrop(100, 150).Apply(Photo, new Generator(0));
        Assert.Equal([10, 3, 100, 150], ten.Shape.ToArray());
        var mirror = new HorizontalFlip(1).Apply(Photo, new Generator(0));
        (int, int)[] corners = [(0, 0), (0, 301), (200, 0), (200, 301), (100, 150)];
        for (int k = 0; k < 5; k++)
        {
            AssertWindow(Photo, View(ten, k), corners[k].Item1, corners[k].Item2);
            AssertWindow(mirror, View(ten, 5 + k), corners[k].Item1, corners[k].Item2);
        }
        // View 5 (top-left of the mirror) is the mirror of view 1 (top-right of the original).
        var flippedBack = new HorizontalFlip(1).Apply(View(ten, 5), new Generator(0));
        Assert.Equal(View(ten, 1).ToArray(), flippedBack.ToArray());
    }

    [Fact]
    public void TenCrop_Vertical_UsesTheVerticalMirror()
    {
        var ten = new TenCrop(100, vertical: true).Apply(Photo, new Generator(0));
        var mirror = new VerticalFlip(1).Apply(Photo, new Generator(0));
        AssertWindow(mirror, View(ten, 9), 100, 176); // view 9 = centre of the mirror: (300-100)/2, round(351/2 = 175.5) = 176
    }

    [Fact]
    public void FiveCrop_LargerThanImage_Throws()
    {
        var ex = Assert.Throws<ShapeException>(() => new FiveCrop(301).Apply(Photo, new Generator(0)));
        Assert.Equal("FiveCrop: expected an image of at least 301 x 301 pixels (the crop size); got [3, 300, 451]", ex.Message);
    }

    [Fact]
    public void Resize_Upsample2x_KnownBilinearValues()
    {
        // PyTorch: F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode="bilinear", align_corners=False)
        var output = new Resize(4, 4).Apply(Tensor.FromArray([0f, 1, 2, 3], 1, 2, 2), new Generator(0));
        float[] expected =
        [
            0f, 0.25f, 0.75f, 1f,
            0.5f, 0.75f, 1.25f, 1.5f,
            1.5f, 1.75f, 2.25f, 2.5f,
            2f, 2.25f, 2.75f, 3f,
        ];
        Assert.Equal(expected, output.ToArray(), (a, b) => MathF.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void Resize_SameSize_IsIdentity_AndHalvingAveragesPairs()
    {
        Assert.Equal(Photo.ToArray(), new Resize(300, 451).Apply(Photo, new Generator(0)).ToArray());
        // Shrinking by exactly 2 samples halfway between pixel pairs: the mean of each 2 x 2 block.
        var img = Tensor.FromArray([0f, 2, 4, 6, 8, 10, 12, 14], 1, 2, 4);
        Assert.Equal([5f, 9f], new Resize(1, 2).Apply(img, new Generator(0)).ToArray());
    }

    [Fact]
    public void Resize_ShortSide_KeepsAspect()
    {
        Assert.Equal([3, 90, 135], new Resize(90).Apply(Photo, new Generator(0)).Shape.ToArray()); // 90 * 451 / 300 = 135.3
        var tall = Tensor.Zeros(1, 40, 10);
        Assert.Equal([1, 20, 5], new Resize(5).Apply(tall, new Generator(0)).Shape.ToArray());
    }
}
