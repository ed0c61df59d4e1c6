using Nabla.Nn;

namespace Nabla.Losses;

/// <summary>
/// Cross-entropy of logits against class indices or class probabilities with optional label
/// smoothing and class weights, as <c>nn.CrossEntropyLoss</c>; one fused kernel (see
/// <see cref="Loss.CrossEntropy"/>). Input (N, C), (N, C, d1, ...) or (C); target either
/// (N), (N, d1, ...) or () holding integers in [0, C), or probabilities of the input's shape
/// (soft labels, MixUp/CutMix), for which Mean divides by the number of samples.
/// </summary>
public sealed class CrossEntropyLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean over samples (default), Sum or None.</param>
    /// <param name="labelSmoothing">epsilon in [0, 1] (default 0): the target becomes (1 - epsilon) target + epsilon / C (the target one-hot for indices).</param>
    /// <param name="weight">Optional per-class weights (C).</param>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, double labelSmoothing = 0, Tensor? weight = null) : base(reduction)
    {
        Loss.CheckLabelSmoothing(labelSmoothing);
        LabelSmoothing = labelSmoothing;
        Weight = weight;
    }

    /// <summary>The label smoothing epsilon.</summary>
    public double LabelSmoothing { get; }

    /// <summary>The per-class weights, or null.</summary>
    public Tensor? Weight { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) =>
        Loss.CrossEntropy(input, target, Reduction, LabelSmoothing, Weight);
}

/// <summary>
/// Negative log-likelihood of log-probabilities, as <c>nn.NLLLoss</c>; use after
/// <see cref="Nabla.Nn.LogSoftmax"/>. See <see cref="Loss.NllLoss"/>.
/// </summary>
/// <param name="reduction">Mean over samples (default; weighted: by the targets' weights), Sum or None.</param>
/// <param name="weight">Optional per-class weights (C).</param>
public sealed class NllLoss(Reduction reduction = Reduction.Mean, Tensor? weight = null) : Loss(reduction)
{
    /// <summary>The per-class weights, or null.</summary>
    public Tensor? Weight { get; } = weight;

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) => Loss.NllLoss(input, target, Reduction, Weight);
}

/// <summary>
/// PyTorch's multi-class margin loss, as <c>nn.MultiMarginLoss</c>: per sample
/// sum over i != y of max(0, margin - x_y + x_i)^p / C. See <see cref="Loss.MultiMarginLoss"/>.
/// </summary>
public sealed class MultiMarginLoss : Loss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="reduction">Mean over samples (default), Sum or None.</param>
    /// <param name="p">1 (default) or 2.</param>
    /// <param name="margin">The required lead of the true class (default 1).</param>
    /// <param name="weight">Optional per-class weights (C).</param>
    public MultiMarginLoss(Reduction reduction = Reduction.Mean, int p = 1, double margin = 1, Tensor? weight = null) : base(reduction)
    {
        Loss.CheckMarginPower(p);
        CheckMargin(margin, nameof(MultiMarginLoss));
        P = p;
        Margin = margin;
        Weight = weight;
    }

    /// <summary>The power of each hinge term, 1 or 2.</summary>
    public int P { get; }

    /// <summary>The required lead of the true class.</summary>
    public double Margin { get; }

    /// <summary>The per-class weights, or null.</summary>
    public Tensor? Weight { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) =>
        Loss.MultiMarginLoss(input, target, Reduction, P, Margin, Weight);
}

/// <summary>
/// The lecture's multi-class SVM loss: per sample sum over k != y of max(0, s_k - s_y + margin),
/// not divided by C (unlike <see cref="MultiMarginLoss"/>). See <see cref="Loss.MulticlassHingeLoss"/>.
/// </summary>
/// <param name="reduction">Mean over samples (default), Sum or None.</param>
/// <param name="margin">The required lead of the true class (default 1).</param>
public sealed class MulticlassHingeLoss(Reduction reduction = Reduction.Mean, double margin = 1) : Loss(reduction)
{
    /// <summary>The required lead of the true class.</summary>
    public double Margin { get; } = CheckMargin(margin, nameof(MulticlassHingeLoss));

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input, Tensor target) =>
        Loss.MulticlassHingeLoss(input, target, Reduction, Margin);
}
