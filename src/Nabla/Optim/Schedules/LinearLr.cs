namespace Nabla.Optim;

/// <summary>
/// Scales each group's learning rate by a factor that moves linearly from <c>startFactor</c> to
/// <c>endFactor</c> over <c>totalIters</c> epochs, as <c>torch.optim.lr_scheduler.LinearLR</c>; the
/// usual linear warm-up.
/// </summary>
/// <remarks>
/// <code>
/// lr(t) = initial_lr · (startFactor + (endFactor − startFactor) · min(t, totalIters) / totalIters)
/// </code>
/// computed step by step as PyTorch does: epoch 0 multiplies the rate by startFactor, each later epoch
/// up to totalIters by
/// <code>
/// 1 + (endFactor − startFactor) / (totalIters · startFactor + (t − 1)(endFactor − startFactor))
/// </code>
/// Warm-up matters for Adam-type optimizers: their second-moment estimate is noisy for the first
/// steps, and full-size steps on it can throw the weights far off. Defaults: startFactor 1/3,
/// endFactor 1, totalIters 5.
/// </remarks>
public sealed class LinearLr : LrScheduler
{
    /// <summary>Scales the rate from <paramref name="startFactor"/> to <paramref name="endFactor"/> over <paramref name="totalIters"/> epochs.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="startFactor">The factor at epoch 0, in (0, 1].</param>
    /// <param name="endFactor">The factor from epoch totalIters on, in [0, 1].</param>
    /// <param name="totalIters">The number of epochs the factor takes to reach endFactor; at least 1.</param>
    public LinearLr(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        if (startFactor > 1.0 || !(startFactor > 0))
            throw new ArgumentOutOfRangeException(nameof(startFactor),
                "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
        if (endFactor > 1.0 || !(endFactor >= 0))
            throw new ArgumentOutOfRangeException(nameof(endFactor), "Ending multiplicative factor expected to be between 0 and 1.");
        if (totalIters < 1)
            throw new ArgumentOutOfRangeException(nameof(totalIters), $"LinearLr: expected totalIters >= 1; got {totalIters}");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>The factor at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>The factor from epoch <see cref="TotalIters"/> on.</summary>
    public double EndFactor { get; }

    /// <summary>The length of the ramp in epochs.</summary>
    public int TotalIters { get; }

    private protected override double GetLr(int g, ParamGroup group)
    {
        if (LastEpoch == 0) return group.Lr * StartFactor;
        if (IsInitial || LastEpoch > TotalIters) return group.Lr;
        return group.Lr * (1.0 + (EndFactor - StartFactor)
            / (TotalIters * StartFactor + (LastEpoch - 1) * (EndFactor - StartFactor)));
    }

    private protected override bool HasClosedForm => true;

    private protected override double ClosedFormLr(int g) =>
        BaseLrs[g] * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters);
}
