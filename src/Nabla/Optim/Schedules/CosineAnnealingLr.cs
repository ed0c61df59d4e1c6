namespace Nabla.Optim;

/// <summary>
/// Anneals each group's learning rate from <c>initial_lr</c> to <c>etaMin</c> along half a cosine over
/// <c>tMax</c> epochs, as <c>torch.optim.lr_scheduler.CosineAnnealingLR</c> (SGDR without restarts).
/// </summary>
/// <remarks>
/// <code>
/// lr(t) = etaMin + (initial_lr − etaMin) · (1 + cos(π t / tMax)) / 2
/// </code>
/// PyTorch computes it recursively, and so does this class:
/// <code>
/// 1. if (t − 1 − tMax) mod 2 tMax = 0:  lr ← lr + (initial_lr − etaMin)(1 − cos(π / tMax)) / 2
/// 2. else:  lr ← etaMin + (lr − etaMin) · (1 + cos(π t / tMax)) / (1 + cos(π (t − 1) / tMax))
/// </code>
/// Case 1 is the step just past the minimum, where the ratio in case 2 would divide by zero. Past
/// tMax the rate climbs back along the cosine (a period of 2 tMax). The slow start and slow finish
/// spend more steps at the extremes than a linear decay: large steps while far from a minimum, small
/// ones to settle into it. Default etaMin 0.
/// </remarks>
public sealed class CosineAnnealingLr : LrScheduler
{
    /// <summary>Anneals to <paramref name="etaMin"/> over <paramref name="tMax"/> epochs.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="tMax">The number of epochs from the initial rate to the minimum; at least 1.</param>
    /// <param name="etaMin">The minimum learning rate.</param>
    public CosineAnnealingLr(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax < 1)
            throw new ArgumentOutOfRangeException(nameof(tMax), $"CosineAnnealingLr: expected tMax >= 1; got {tMax}");
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>The number of epochs from the initial rate to the minimum.</summary>
    public int TMax { get; }

    /// <summary>The minimum learning rate.</summary>
    public double EtaMin { get; }

    private protected override double GetLr(int g, ParamGroup group)
    {
        if (IsInitial) return group.Lr;
        if ((LastEpoch - 1 - TMax) % (2 * TMax) == 0)
            return group.Lr + (BaseLrs[g] - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
        return (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / (1 + Math.Cos(Math.PI * (LastEpoch - 1) / TMax))
            * (group.Lr - EtaMin) + EtaMin;
    }

    private protected override bool HasClosedForm => true;

    private protected override double ClosedFormLr(int g) =>
        EtaMin + (BaseLrs[g] - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2;
}
