namespace Nabla.Nn;

/// <summary>
/// Group normalization, as <c>nn.GroupNorm</c>: the channels of each sample are split into
/// <see cref="NumGroups"/> groups, each normalized over its channels and positions, then every
/// channel is scaled and shifted. See <see cref="Functional.GroupNorm"/>.
/// </summary>
/// <remarks>
/// Parameters: weight (gamma, ones) and bias (beta, zeros), of shape (C), when <see cref="Affine"/>.
/// It does not mix samples, so it behaves the same in training and evaluation and suits small
/// batches. Shape: input (N, C, *), output the same.
/// </remarks>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">The number of groups; it must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">The number of channels C.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="affine">Learn per-channel gamma (ones) and beta (zeros).</param>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true)
    {
        if (numGroups < 1)
            throw new ArgumentOutOfRangeException(nameof(numGroups), numGroups, $"GroupNorm: expected num_groups >= 1; got {numGroups}");
        if (numChannels < 1)
            throw new ArgumentOutOfRangeException(nameof(numChannels), numChannels, $"GroupNorm: expected num_channels >= 1; got {numChannels}");
        if (numChannels % numGroups != 0)
            throw new ArgumentException("num_channels must be divisible by num_groups", nameof(numChannels));
        NormArgs.CheckEps("GroupNorm", eps);
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        Affine = affine;
        if (affine)
        {
            Weight = Register("weight", new Parameter(Tensor.Ones(numChannels)));
            Bias = Register("bias", new Parameter(Tensor.Zeros(numChannels)));
        }
        else
        {
            RegisterNone("weight");
            RegisterNone("bias");
        }
    }

    /// <summary>The number of groups G.</summary>
    public int NumGroups { get; }

    /// <summary>The number of channels C.</summary>
    public int NumChannels { get; }

    /// <summary>Added to the variance inside the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>Whether the layer learns gamma and beta.</summary>
    public bool Affine { get; }

    /// <summary>gamma (C), initialized to ones; or null.</summary>
    public Parameter? Weight { get; }

    /// <summary>beta (C), initialized to zeros; or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        if (input.Rank < 2 || input.Shape[1] != NumChannels)
            throw ShapeException.ForLayer($"GroupNorm({NumGroups}, {NumChannels})", $"input of shape (N, {NumChannels}, *)", input.ShapeString);
        return Functional.GroupNorm(input, NumGroups, Weight, Bias, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumGroups}, {NumChannels}, eps={PyFormat.Float(Eps)}, affine={PyFormat.Bool(Affine)}";
}
