using Nabla.Data;

namespace Nabla.Vision.Transforms;

/// <summary>
/// CutMix (Yun et al. 2019), as torchvision's v2 <c>CutMix(alpha=1.0, num_classes)</c>: a rectangle
/// of each image is replaced by the same rectangle of the previous image in the batch (rolled by
/// one), and the targets are mixed by the area kept.
/// </summary>
/// <remarks>
/// Algorithm (torchvision's): lam ~ Beta(alpha, alpha); a centre (cy, cx) uniform over the pixels
/// (cx drawn first, then cy); half-sizes r W and r H with r = sqrt(1 - lam) / 2 (truncated); the box
/// clipped to the image; then lam = 1 - box area / (H W), the share of the original image left.
/// Inputs (B, C, H, W); targets (B) class indices in, (B, numClasses) soft targets out. Unlike
/// <see cref="RandomErasing"/>, no pixel is wasted: the pasted patch is real data, labelled by its area.
/// </remarks>
public sealed class CutMix : IBatchTransform
{
    /// <summary>Creates the transform; <paramref name="alpha"/> shapes Beta(alpha, alpha) (default 1, uniform).</summary>
    public CutMix(int numClasses, double alpha = 1.0)
    {
        BatchMixing.CheckArguments(alpha, numClasses);
        NumClasses = numClasses;
        Alpha = alpha;
    }

    /// <summary>The number of classes (the soft targets' width).</summary>
    public int NumClasses { get; }

    /// <summary>The Beta distribution's parameter.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    public Batch Apply(Batch batch, Generator generator)
    {
        var (b, c, h, w) = BatchMixing.Check(batch, NumClasses, "CutMix");
        ArgumentNullException.ThrowIfNull(generator);
        double lam = BatchMixing.Beta(generator, Alpha);
        var (y1, x1, y2, x2) = Box(h, w, lam, generator);
        lam = 1 - (double)(y2 - y1) * (x2 - x1) / ((double)h * w);

        var x = batch.Inputs.Data;
        var mixed = x.ToArray();
        int plane = h * w, size = c * plane;
        for (int i = 0; i < b; i++)
        {
            int prev = (i + b - 1) % b;
            for (int ch = 0; ch < c; ch++)
                for (int y = y1; y < y2; y++)
                    x.Slice(prev * size + ch * plane + y * w + x1, x2 - x1)
                     .CopyTo(mixed.AsSpan(i * size + ch * plane + y * w + x1, x2 - x1));
        }
        return new Batch(ImageTensor.Wrap(mixed, b, c, h, w), BatchMixing.SoftTargets(batch.Targets.Data, NumClasses, lam));
    }

    /// <summary>The pasted box [y1, y2) x [x1, x2) for mixing weight <paramref name="lam"/>.</summary>
    internal static (int Y1, int X1, int Y2, int X2) Box(int h, int w, double lam, Generator g)
    {
        int cx = (int)g.NextInt64(0, w), cy = (int)g.NextInt64(0, h);
        double r = 0.5 * Math.Sqrt(1 - lam);
        int halfW = (int)(r * w), halfH = (int)(r * h);
        return (Math.Max(cy - halfH, 0), Math.Max(cx - halfW, 0), Math.Min(cy + halfH, h), Math.Min(cx + halfW, w));
    }
}
