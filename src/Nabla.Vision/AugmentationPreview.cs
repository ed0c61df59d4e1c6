using Nabla.Vision.Transforms;

namespace Nabla.Vision;

/// <summary>
/// A contact sheet of augmented variants of one image, to see what a transform pipeline does before
/// training with it (too strong a crop or colour jitter shows at a glance).
/// </summary>
/// <remarks>
/// Cell i (row-major, i = 0 .. count - 1) holds <c>transform.Apply(image, new Generator(seed + i))</c>,
/// so any cell can be reproduced alone. Cells are as large as the largest variant; a smaller variant sits
/// at the cell's top-left corner. Cells are separated by <see cref="Border"/> pixels of value 1 (white),
/// which also fill unused space; there is no border around the outside.
/// Shape: the grid is (C, rows h + (rows - 1) 2, cols w + (cols - 1) 2) with cols = min(columns, count),
/// rows = ceil(count / cols), and (h, w) the largest variant's height and width.
/// </remarks>
public static class AugmentationPreview
{
    /// <summary>The width, in pixels, of the white lines between cells.</summary>
    public const int Border = 2;

    /// <summary>Renders <paramref name="count"/> variants of <paramref name="image"/> into one (C, H', W') grid of <paramref name="columns"/> columns.</summary>
    public static Tensor Render(Tensor image, ITransform transform, int count, ulong seed, int columns = 4)
    {
        ImageTensor.Dims(image, "AugmentationPreview.Render");
        ArgumentNullException.ThrowIfNull(transform);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        var cells = new Tensor[count];
        int c = 0, h = 0, w = 0;
        for (int i = 0; i < count; i++)
        {
            var cell = transform.Apply(image, new Generator(seed + (ulong)i));
            if (cell.Rank != 3 || (i > 0 && cell.Shape[0] != c))
                throw new ShapeException("AugmentationPreview.Render", i == 0 ? "transform outputs of shape (C, H, W)" : $"transform outputs of shape ({c}, H, W) like the first",
                    $"{cell.ShapeString} for cell {i}", "a transform giving a stack of views (FiveCrop, TenCrop) cannot be previewed as one cell");
            c = cell.Shape[0];
            h = Math.Max(h, cell.Shape[1]);
            w = Math.Max(w, cell.Shape[2]);
            cells[i] = cell;
        }
        int cols = Math.Min(columns, count), rows = (count + cols - 1) / cols;
        int gh = rows * h + (rows - 1) * Border, gw = cols * w + (cols - 1) * Border;
        var grid = new float[c * gh * gw];
        Array.Fill(grid, 1f);
        for (int i = 0; i < count; i++)
        {
            int top = i / cols * (h + Border), left = i % cols * (w + Border);
            int ch = cells[i].Shape[1], cw = cells[i].Shape[2];
            var src = cells[i].Data;
            for (int k = 0; k < c; k++)
                for (int y = 0; y < ch; y++)
                    src.Slice((k * ch + y) * cw, cw).CopyTo(grid.AsSpan((k * gh + top + y) * gw + left, cw));
        }
        return ImageTensor.Wrap(grid, c, gh, gw);
    }

    /// <summary>Renders the grid as <see cref="Render"/> and writes it to <paramref name="path"/> as a PNG (see <see cref="Image.Save"/>).</summary>
    public static void Save(Tensor image, ITransform transform, int count, ulong seed, int columns, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Image.Save(Render(image, transform, count, seed, columns), path);
    }
}
