using Nabla.Nn;

namespace Nabla.Losses;

/// <summary>Mean absolute error, as <c>nn.L1Loss</c>; see <see cref="Loss.L1Loss"/>. Target of the input's shape.</summary>
/// <param name="reduction">Mean over all elements (default), Sum or None.</param>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.L1Loss(input, target, Reduction);
}

/// <summary>Mean squared error, as <c>nn.MSELoss</c>; see <see cref="Loss.MseLoss"/>. Target of the input's shape.</summary>
/// <param name="reduction">Mean over all elements (default), Sum or None.</param>
public sealed class MseLoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.MseLoss(input, target, Reduction);
}

/// <summary>
/// Smooth L1 loss, as <c>nn.SmoothL1Loss</c>: quadratic for |d| &lt; beta, linear beyond; see
/// <see cref="Loss.SmoothL1Loss"/>.
/// </summary>
public sealed class SmoothL1Loss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean over all elements (default), Sum or None.</param>
    /// <param name="beta">Where the quadratic part ends; at least 0 (default 1).</param>
    public SmoothL1Loss(Reduction reduction = Reduction.Mean, double beta = 1) : base(reduction)
    {
        if (!(beta >= 0))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"SmoothL1Loss: expected beta >= 0; got {beta}");
        Beta = beta;
    }

    /// <summary>Where the quadratic part ends.</summary>
    public double Beta { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.SmoothL1Loss(input, target, Reduction, Beta);
}

/// <summary>
/// Huber loss, as <c>nn.HuberLoss</c>: 0.5 d^2 for |d| &lt; delta, delta (|d| - delta / 2) beyond;
/// see <see cref="Loss.HuberLoss"/>.
/// </summary>
public sealed class HuberLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean over all elements (default), Sum or None.</param>
    /// <param name="delta">Where the quadratic part ends; positive (default 1).</param>
    public HuberLoss(Reduction reduction = Reduction.Mean, double delta = 1) : base(reduction)
    {
        if (!(delta > 0))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, $"HuberLoss: expected delta > 0; got {delta}");
        Delta = delta;
    }

    /// <summary>Where the quadratic part ends.</summary>
    public double Delta { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.HuberLoss(input, target, Reduction, Delta);
}

/// <summary>
/// Binary cross-entropy of probabilities in [0, 1], as <c>nn.BCELoss</c> (logs clamped at -100);
/// see <see cref="Loss.BinaryCrossEntropy"/>. Prefer <see cref="BceWithLogitsLoss"/>.
/// </summary>
/// <param name="reduction">Mean over all elements (default), Sum or None.</param>
public sealed class BceLoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.BinaryCrossEntropy(input, target, Reduction);
}

/// <summary>
/// Binary cross-entropy of logits, as <c>nn.BCEWithLogitsLoss</c>: sigmoid and BCE in one stable
/// formula; see <see cref="Loss.BinaryCrossEntropyWithLogits"/>.
/// </summary>
/// <param name="reduction">Mean over all elements (default), Sum or None.</param>
/// <param name="posWeight">Optional weight of positive targets per entry of the last dimension (C) or (1).</param>
public sealed class BceWithLogitsLoss(Reduction reduction = Reduction.Mean, Tensor? posWeight = null) : Loss(reduction)
{
    /// <summary>The weight of positive targets, or null.</summary>
    public Tensor? PosWeight { get; } = posWeight;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) =>
        Loss.BinaryCrossEntropyWithLogits(input, target, Reduction, PosWeight);
}
