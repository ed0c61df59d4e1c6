using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>How <see cref="OneCycleLr"/> moves between its phase end points.</summary>
public enum AnnealStrategy
{
    /// <summary>Half a cosine: <c>end + (start − end)/2 · (1 + cos(π pct))</c>.</summary>
    Cos,

    /// <summary>A straight line: <c>start + (end − start) · pct</c>.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (Smith and Topin, 2017), as <c>torch.optim.lr_scheduler.OneCycleLR</c>: the
/// learning rate rises from <c>maxLr / divFactor</c> to <c>maxLr</c>, then falls far below the start,
/// over a fixed number of steps; momentum (Sgd, RmsProp) or β₁ (Adam, AdamW) moves the opposite way.
/// Call <see cref="LrScheduler.Step"/> after every batch.
/// </summary>
/// <remarks>
/// <para>With N = totalSteps, initial = maxLr / divFactor and min = initial / finalDivFactor, the phases are</para>
/// <code>
/// two phases (default):   steps 0 .. pctStart·N − 1:  initial → maxLr,   momentum max → base
///                         .. N − 1:                    maxLr → min,       momentum base → max
/// threePhase:             steps 0 .. pctStart·N − 1:  initial → maxLr,   momentum max → base
///                         .. 2·pctStart·N − 2:         maxLr → initial,   momentum base → max
///                         .. N − 1:                    initial → min,     momentum max
/// </code>
/// <para>
/// each annealed by <see cref="AnnealStrategy"/> over pct = (step − phase start) / (phase end − phase
/// start). The values depend only on the step (the schedule is not chainable). The group options
/// <c>initial_lr</c>, <c>max_lr</c>, <c>min_lr</c> and, when cycling momentum, <c>max_momentum</c> and
/// <c>base_momentum</c> are set on each group as PyTorch sets them. The warm-up lets the large rate in
/// the middle be reached without diverging, and the large rate acts as a regularizer; lowering
/// momentum while the rate is high keeps the effective step in check. Stepping more than N times is an error.
/// </para>
/// <para>Defaults: pctStart 0.3, cos annealing, cycleMomentum true, baseMomentum 0.85, maxMomentum 0.95,
/// divFactor 25, finalDivFactor 1e4, threePhase false. As in PyTorch, cycling momentum on an Sgd built
/// with momentum 0 turns momentum on.</para>
/// </remarks>
public sealed class OneCycleLr : LrScheduler
{
    readonly Phase[] _phases;
    readonly string _momentumOption = "";

    readonly record struct Phase(double EndStep, string StartLr, string EndLr, string StartMomentum, string EndMomentum);

    /// <summary>The 1cycle schedule peaking at <paramref name="maxLr"/> in every group.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="maxLr">The peak learning rate.</param>
    /// <param name="totalSteps">The number of steps in the cycle.</param>
    /// <param name="pctStart">The fraction of the steps spent raising the rate.</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Whether to cycle momentum (β₁ for Adam) inversely to the rate.</param>
    /// <param name="baseMomentum">The momentum at the peak rate.</param>
    /// <param name="maxMomentum">The momentum at the start and the end.</param>
    /// <param name="divFactor">initial_lr = maxLr / divFactor.</param>
    /// <param name="finalDivFactor">min_lr = initial_lr / finalDivFactor.</param>
    /// <param name="threePhase">Whether to come back down to initial_lr before annihilating the rate (the paper's form).</param>
    public OneCycleLr(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : this(optimizer, Enumerable.Repeat(maxLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), totalSteps, pctStart,
            annealStrategy, cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase) { }

    /// <summary>The 1cycle schedule with one peak learning rate per group.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="maxLrs">The peak learning rate of each group.</param>
    /// <param name="totalSteps">The number of steps in the cycle.</param>
    /// <param name="pctStart">The fraction of the steps spent raising the rate.</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Whether to cycle momentum (β₁ for Adam) inversely to the rate.</param>
    /// <param name="baseMomentum">The momentum at the peak rate.</param>
    /// <param name="maxMomentum">The momentum at the start and the end.</param>
    /// <param name="divFactor">initial_lr = maxLr / divFactor.</param>
    /// <param name="finalDivFactor">min_lr = initial_lr / finalDivFactor.</param>
    /// <param name="threePhase">Whether to come back down to initial_lr before annihilating the rate.</param>
    public OneCycleLr(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart = 0.3,
        AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true, double baseMomentum = 0.85,
        double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
        : base(Prepare(optimizer, maxLrs, totalSteps, pctStart, divFactor, finalDivFactor))
    {
        TotalSteps = totalSteps;
        Strategy = annealStrategy;
        _phases = threePhase
            ?
            [
                new(pctStart * totalSteps - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                new(2 * pctStart * totalSteps - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                new(totalSteps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
            :
            [
                new(pctStart * totalSteps - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                new(totalSteps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ];
        CycleMomentum = cycleMomentum;
        if (cycleMomentum)
        {
            var defaults = optimizer.Defaults;
            _momentumOption = defaults.ContainsKey("beta1") ? "beta1" : defaults.ContainsKey("momentum") ? "momentum"
                : throw new ArgumentException("optimizer must support momentum or beta1 with `cycle_momentum` option enabled", nameof(optimizer));
            foreach (var group in optimizer.ParamGroups)
            {
                group[_momentumOption] = maxMomentum;
                group["max_momentum"] = maxMomentum;
                group["base_momentum"] = baseMomentum;
            }
        }
        InitialStep();
    }

    static Optimizer Prepare(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart,
        double divFactor, double finalDivFactor)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(maxLrs);
        if (totalSteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), $"Expected positive integer total_steps, but got {totalSteps}");
        if (!(pctStart >= 0 && pctStart <= 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), $"Expected float between 0 and 1 pct_start, but got {PyFormat.Float(pctStart)}");
        var groups = optimizer.ParamGroups;
        if (maxLrs.Count != groups.Count)
            throw new ArgumentException(
                $"max_lr must have the same length as optimizer.param_groups. max_lr has {maxLrs.Count} values, param_groups has {groups.Count}.",
                nameof(maxLrs));
        for (int g = 0; g < groups.Count; g++)
        {
            groups[g]["initial_lr"] = maxLrs[g] / divFactor;
            groups[g]["max_lr"] = maxLrs[g];
            groups[g]["min_lr"] = groups[g]["initial_lr"] / finalDivFactor;
        }
        return optimizer;
    }

    /// <summary>The number of steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>The annealing between phase end points.</summary>
    public AnnealStrategy Strategy { get; }

    /// <summary>Whether momentum (or β₁) is cycled.</summary>
    public bool CycleMomentum { get; }

    private protected override double GetLr(int g, ParamGroup group)
    {
        int step = LastEpoch;
        if (step > TotalSteps)
            throw new InvalidOperationException($"Tried to step {step} times. The specified number of total steps is {TotalSteps}");
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var phase = _phases[i];
            if (step <= phase.EndStep || i == _phases.Length - 1)
            {
                if (phase.EndStep == start)
                    throw new InvalidOperationException(
                        $"OneCycleLr: phase {i} of the schedule has no steps (it ends at step {PyFormat.Float(phase.EndStep)}, where it starts)\n" +
                        "hint: choose pctStart and totalSteps so that pctStart * totalSteps is not 1 (PyTorch divides by zero here)");
                double pct = (step - start) / (phase.EndStep - start);
                double lr = Anneal(group[phase.StartLr], group[phase.EndLr], pct);
                if (CycleMomentum)
                    group[_momentumOption] = Anneal(group[phase.StartMomentum], group[phase.EndMomentum], pct);
                return lr;
            }
            start = phase.EndStep;
        }
        throw new InvalidOperationException("unreachable");
    }

    double Anneal(double start, double end, double pct) => Strategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;
}
