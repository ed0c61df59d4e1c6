namespace Nabla.Nn;

/// <summary>
/// Layer normalization, as <c>nn.LayerNorm</c>: each sample is normalized over its trailing
/// dimensions (<see cref="NormalizedShape"/>), y = (x - mean) / sqrt(var + eps) * gamma + beta, with
/// per-element gamma and beta. See <see cref="Functional.LayerNorm"/>.
/// </summary>
/// <remarks>
/// Parameters: weight (gamma, ones) and bias (beta, zeros), both of shape normalized_shape, when
/// <see cref="ElementwiseAffine"/> (bias only with <c>bias: true</c>). The statistics are each
/// sample's own, so training and evaluation behave the same and nothing is tracked.
/// Shape: input (*, normalized_shape...), output the same.
/// </remarks>
public sealed class LayerNorm : Module
{
    readonly int[] _normalizedShape;

    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">The trailing dimensions to normalize over, e.g. [C, H, W] or [features].</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="elementwiseAffine">Learn per-element gamma (ones) and beta (zeros).</param>
    /// <param name="bias">Learn beta (with <paramref name="elementwiseAffine"/>).</param>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || Array.Exists(normalizedShape, d => d < 1))
            throw new ArgumentException(
                $"LayerNorm: expected a non-empty normalized_shape of positive sizes; got {ShapeException.Str(normalizedShape)}",
                nameof(normalizedShape));
        NormArgs.CheckEps("LayerNorm", eps);
        _normalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        ElementwiseAffine = elementwiseAffine;
        if (elementwiseAffine)
        {
            Weight = Register("weight", new Parameter(Tensor.Ones(_normalizedShape)));
            if (bias) Bias = Register("bias", new Parameter(Tensor.Zeros(_normalizedShape)));
            else RegisterNone("bias");
        }
        else
        {
            RegisterNone("weight");
            RegisterNone("bias");
        }
    }

    /// <summary>Creates the layer over the last dimension, of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">The size of the last dimension.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="elementwiseAffine">Learn per-element gamma (ones) and beta (zeros).</param>
    /// <param name="bias">Learn beta (with <paramref name="elementwiseAffine"/>).</param>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true)
        : this([normalizedShape], eps, elementwiseAffine, bias) { }

    /// <summary>The trailing dimensions normalized over.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;

    /// <summary>Added to the variance inside the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>Whether the layer learns gamma (and beta).</summary>
    public bool ElementwiseAffine { get; }

    /// <summary>gamma, of shape normalized_shape, initialized to ones; or null.</summary>
    public Parameter? Weight { get; }

    /// <summary>beta, of shape normalized_shape, initialized to zeros; or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        int k = _normalizedShape.Length;
        if (input.Rank < k || !input.Shape[^k..].SequenceEqual(_normalizedShape))
            throw ShapeException.ForLayer($"LayerNorm({PyFormat.Tuple(_normalizedShape)})",
                $"input of shape (*, {string.Join(", ", _normalizedShape)})", input.ShapeString);
        return Functional.LayerNorm(input, _normalizedShape, Weight, Bias, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{PyFormat.Tuple(_normalizedShape)}, eps={PyFormat.Float(Eps)}, elementwise_affine={PyFormat.Bool(ElementwiseAffine)}";
}
