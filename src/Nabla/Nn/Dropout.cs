namespace Nabla.Nn;

/// <summary>
/// Dropout, as <c>nn.Dropout</c>: in training each element is zeroed with probability
/// <see cref="P"/>; inverted dropout (the default) scales the kept ones by 1 / (1 - p) and is the
/// identity in evaluation, classic dropout keeps them unscaled and multiplies by 1 - p in
/// evaluation. See <see cref="Functional.Dropout"/> for why either scaling is needed.
/// </summary>
/// <remarks>Shape: any; the output has the input's shape.</remarks>
public sealed class Dropout : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">The probability of zeroing an element, in [0, 1] (default 0.5).</param>
    /// <param name="inverted">Scale by 1 / (1 - p) in training (true, PyTorch's rule) or by 1 - p in evaluation (false).</param>
    /// <param name="generator">The generator of the masks; null for <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout(double p = 0.5, bool inverted = true, Generator? generator = null)
    {
        Functional.CheckDropoutProbability(p);
        P = p;
        Inverted = inverted;
        Generator = generator;
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double P { get; }

    /// <summary>Whether the training output is scaled by 1 / (1 - p) (true) or the evaluation output by 1 - p (false).</summary>
    public bool Inverted { get; }

    /// <summary>The generator of the masks, or null for <see cref="Nabla.Generator.Default"/>.</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => Functional.Dropout(input, P, IsTraining, Inverted, Generator);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={PyFormat.Float(P)}{(Inverted ? "" : ", inverted=False")}";
}

/// <summary>
/// Channel dropout, as <c>nn.Dropout2d</c>: in training each channel of (N, C, H, W) or (C, H, W) is
/// zeroed as a whole with probability <see cref="P"/>, with the scaling rules of <see cref="Dropout"/>.
/// See <see cref="Functional.Dropout2d"/> for why convolutional layers drop channels.
/// </summary>
public sealed class Dropout2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">The probability of zeroing a channel, in [0, 1] (default 0.5).</param>
    /// <param name="inverted">Scale by 1 / (1 - p) in training (true, PyTorch's rule) or by 1 - p in evaluation (false).</param>
    /// <param name="generator">The generator of the masks; null for <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout2d(double p = 0.5, bool inverted = true, Generator? generator = null)
    {
        Functional.CheckDropoutProbability(p);
        P = p;
        Inverted = inverted;
        Generator = generator;
    }

    /// <summary>The probability of zeroing a channel.</summary>
    public double P { get; }

    /// <summary>Whether the training output is scaled by 1 / (1 - p) (true) or the evaluation output by 1 - p (false).</summary>
    public bool Inverted { get; }

    /// <summary>The generator of the masks, or null for <see cref="Nabla.Generator.Default"/>.</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        if (input.Rank is not (3 or 4))
            throw ShapeException.ForLayer($"Dropout2d(p={PyFormat.Float(P)})", "input of shape (N, C, H, W) or (C, H, W)", input.ShapeString);
        return Functional.Dropout2d(input, P, IsTraining, Inverted, Generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={PyFormat.Float(P)}{(Inverted ? "" : ", inverted=False")}";
}
