namespace Nabla.Optim;

/// <summary>
/// Multiplies each group's learning rate by <c>gamma</c> when the epoch reaches each milestone, as
/// <c>torch.optim.lr_scheduler.MultiStepLR</c>.
/// </summary>
/// <remarks>
/// <code>
/// lr(epoch) = initial_lr · gamma^(number of milestones ≤ epoch)
/// </code>
/// computed step by step: at a milestone epoch the current rate is multiplied by gamma (by gamma^k if
/// the milestone is listed k times). With lr 0.05, milestones [30, 80], gamma 0.1: 0.05 before epoch
/// 30, 0.005 from 30, 0.0005 from 80. Default gamma 0.1.
/// </remarks>
public sealed class MultiStepLr : LrScheduler
{
    readonly int[] _milestones;

    /// <summary>Decays by <paramref name="gamma"/> at each of <paramref name="milestones"/>.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="milestones">The epochs at which to decay, in non-decreasing order.</param>
    /// <param name="gamma">The factor of each decay.</param>
    public MultiStepLr(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.ToArray();
        for (int i = 1; i < _milestones.Length; i++)
            if (_milestones[i] < _milestones[i - 1])
                throw new ArgumentException(
                    $"MultiStepLr: expected milestones in increasing order; got [{string.Join(", ", _milestones)}]", nameof(milestones));
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The epochs at which the rate decays.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The factor of each decay.</summary>
    public double Gamma { get; }

    private protected override double GetLr(int g, ParamGroup group)
    {
        int count = 0;
        foreach (int m in _milestones) if (m == LastEpoch) count++;
        return count == 0 ? group.Lr : group.Lr * Math.Pow(Gamma, count);
    }

    private protected override bool HasClosedForm => true;

    private protected override double ClosedFormLr(int g)
    {
        int passed = 0;
        foreach (int m in _milestones) if (m <= LastEpoch) passed++;
        return BaseLrs[g] * Math.Pow(Gamma, passed);
    }
}
