using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests;

public class AugmentationPreviewTests
{
    static readonly Tensor Photo = TestData.ChelseaImage;

    static float[] Cell(Tensor grid, int top, int left, int h, int w)
    {
        int c = grid.Shape[0], gh = grid.Shape[1], gw = grid.Shape[2];
        var cell = new float[c * h * w];
        for (int k = 0; k < c; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    cell[(k * h + y) * w + x] = grid.Data[(k * gh + top + y) * gw + left + x];
        return cell;
    }

    [Fact]
    public void Render_GridSize_CellsAreThePerCellGeneratorsOutputs_BordersWhite()
    {
        var t = new Compose(new RandomCrop(20), new ColorJitter(brightness: 0.4));
        var grid = AugmentationPreview.Render(Photo, t, count: 5, seed: 7, columns: 3);
        // 2 rows x 3 columns of 20 x 20 with 2-pixel borders.
        Assert.Equal([3, 2 * 20 + 2, 3 * 20 + 2 * 2], grid.Shape.ToArray());
        Assert.Equal(t.Apply(Photo, new Generator(7)).ToArray(), Cell(grid, 0, 0, 20, 20));
        Assert.Equal(t.Apply(Photo, new Generator(11)).ToArray(), Cell(grid, 22, 22, 20, 20));
        Assert.All(Cell(grid, 0, 20, 42, 2), v => Assert.Equal(1f, v)); // vertical border
        Assert.All(Cell(grid, 20, 0, 2, 64), v => Assert.Equal(1f, v)); // horizontal border
        Assert.All(Cell(grid, 22, 44, 20, 20), v => Assert.Equal(1f, v)); // the unused sixth cell
    }

    [Fact]
    public void Render_VariantsOfDifferentSizes_SitTopLeftInTheLargestCell()
    {
        var t = new RandomResize(10, 14);
        var grid = AugmentationPreview.Render(Photo, t, count: 4, seed: 0, columns: 4);
        var sizes = Enumerable.Range(0, 4).Select(i => t.Apply(Photo, new Generator((ulong)i))).ToList();
        int h = sizes.Max(s => s.Shape[1]), w = sizes.Max(s => s.Shape[2]);
        Assert.Equal([3, h, 4 * w + 3 * 2], grid.Shape.ToArray());
        var second = sizes[1];
        Assert.Equal(second.ToArray(), Cell(grid, 0, w + 2, second.Shape[1], second.Shape[2]));
    }

    [Fact]
    public void Save_WritesAPngThatLoadsBack()
    {
        var t = new RandomAffine(10, translate: (0.1, 0.1));
        var small = new Resize(24).Apply(Photo, new Generator(0));
        var grid = AugmentationPreview.Render(small, t, count: 3, seed: 1, columns: 2);
        var path = Path.Combine(TestData.TempDir(), "preview.png");
        AugmentationPreview.Save(small, t, 3, 1, 2, path);
        var loaded = Image.Load(path);
        Assert.Equal(grid.Shape.ToArray(), loaded.Shape.ToArray());
        var a = grid.ToArray();
        var b = loaded.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(MathF.Abs(a[i] - b[i]) <= 1 / 510f + 1e-6f, $"value {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void Render_StackOfViews_Throws()
    {
        var ex = Assert.Throws<ShapeException>(() => AugmentationPreview.Render(Photo, new FiveCrop(8), 2, 0, 2));
        Assert.StartsWith("AugmentationPreview.Render: expected transform outputs of shape (C, H, W); got [5, 3, 8, 8] for cell 0", ex.Message);
    }
}
