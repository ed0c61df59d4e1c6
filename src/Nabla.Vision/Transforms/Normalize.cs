namespace Nabla.Vision.Transforms;

/// <summary>
/// Standardizes each channel: output[c] = (input[c] - mean[c]) / std[c], as torchvision's
/// <c>Normalize(mean, std)</c>, on (C, H, W) or a stack of views (N, C, H, W).
/// </summary>
/// <remarks>
/// Centred inputs of unit scale keep the first layer's pre-activations in the range the weight
/// initialization assumes. Use the training split's statistics (e.g. from <c>Nabla.Data.ChannelStats</c>);
/// ImageNet's are mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). Deterministic: draws nothing.
/// </remarks>
public sealed class Normalize : ITransform
{
    readonly float[] _mean;
    readonly float[] _std;

    /// <summary>Creates the transform; one mean and one (non-zero) std per channel.</summary>
    public Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: expected as many means as stds, at least one; got {mean.Length} means and {std.Length} stds", nameof(std));
        for (int i = 0; i < std.Length; i++)
            if (std[i] == 0 || !float.IsFinite(std[i]))
                throw new ArgumentException($"std evaluated to zero after conversion to float32, leading to division by zero (std[{i}] = {std[i]})", nameof(std));
        _mean = (float[])mean.Clone();
        _std = (float[])std.Clone();
    }

    /// <summary>The per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank is not (3 or 4) || image.Shape[^3] != _mean.Length)
            throw new ShapeException("Normalize", $"an image of shape ({_mean.Length}, H, W) or (N, {_mean.Length}, H, W)", image.ShapeString);
        var x = image.ToArray();
        int plane = image.Shape[^1] * image.Shape[^2];
        for (int p = 0; p * plane < x.Length; p++)
        {
            int ch = p % _mean.Length;
            float m = _mean[ch], inv = 1f / _std[ch];
            var s = x.AsSpan(p * plane, plane);
            for (int i = 0; i < s.Length; i++) s[i] = (s[i] - m) * inv;
        }
        return ImageTensor.Wrap(x, image.Shape.ToArray());
    }
}
