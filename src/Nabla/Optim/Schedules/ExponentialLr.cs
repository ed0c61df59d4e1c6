namespace Nabla.Optim;

/// <summary>
/// Multiplies each group's learning rate by <c>gamma</c> every epoch, as
/// <c>torch.optim.lr_scheduler.ExponentialLR</c>.
/// </summary>
/// <remarks>
/// <code>
/// lr(epoch) = initial_lr · gamma^epoch
/// </code>
/// computed step by step (the current rate times gamma), as PyTorch does.
/// </remarks>
public sealed class ExponentialLr : LrScheduler
{
    /// <summary>Decays by <paramref name="gamma"/> every epoch.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="gamma">The factor of the decay per epoch.</param>
    public ExponentialLr(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The factor of the decay per epoch.</summary>
    public double Gamma { get; }

    private protected override double GetLr(int g, ParamGroup group) => IsInitial ? group.Lr : group.Lr * Gamma;

    private protected override bool HasClosedForm => true;

    private protected override double ClosedFormLr(int g) => BaseLrs[g] * Math.Pow(Gamma, LastEpoch);
}
