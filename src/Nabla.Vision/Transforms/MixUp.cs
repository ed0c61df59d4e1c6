using Nabla.Data;

namespace Nabla.Vision.Transforms;

/// <summary>
/// MixUp (Zhang et al. 2018), as torchvision's v2 <c>MixUp(alpha=1.0, num_classes)</c>: each image
/// becomes lam x_i + (1 - lam) x_{i-1} (the batch rolled by one) and its target the same mix of the
/// two one-hot targets.
/// </summary>
/// <remarks>
/// One lam ~ Beta(alpha, alpha) per batch. Inputs (B, C, H, W); targets (B) class indices in, soft
/// targets (B, numClasses) out, for a cross-entropy that accepts class probabilities. Training on
/// blends of examples with blended labels discourages overconfident, sharply curved decision
/// boundaries between classes.
/// </remarks>
public sealed class MixUp : IBatchTransform
{
    /// <summary>Creates the transform; <paramref name="alpha"/> shapes Beta(alpha, alpha) (default 1, uniform).</summary>
    public MixUp(int numClasses, double alpha = 1.0)
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
        var (b, c, h, w) = BatchMixing.Check(batch, NumClasses, "MixUp");
        ArgumentNullException.ThrowIfNull(generator);
        double lam = BatchMixing.Beta(generator, Alpha);
        int size = c * h * w;
        var x = batch.Inputs.Data;
        var mixed = new float[x.Length];
        float l = (float)lam, m = 1 - l;
        for (int i = 0; i < b; i++)
        {
            int prev = (i + b - 1) % b;
            var a = x.Slice(i * size, size);
            var p = x.Slice(prev * size, size);
            var o = mixed.AsSpan(i * size, size);
            for (int k = 0; k < size; k++) o[k] = l * a[k] + m * p[k];
        }
        return new Batch(ImageTensor.Wrap(mixed, b, c, h, w), BatchMixing.SoftTargets(batch.Targets.Data, NumClasses, lam));
    }
}
