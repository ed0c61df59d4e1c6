namespace Nabla.Optim;

/// <summary>
/// Runs schedulers one after another, switching at the given epochs, as
/// <c>torch.optim.lr_scheduler.SequentialLR</c>; the usual "linear warm-up, then cosine decay".
/// </summary>
/// <remarks>
/// <para>
/// Scheduler k runs from milestone k − 1 (0 for the first) to milestone k. At a milestone the next
/// scheduler restarts at its epoch 0 (in its closed form, from its <c>initial_lr</c>), so it begins
/// from the base rate, not from where the previous one left off:
/// </para>
/// <code>
/// var warmup = new LinearLr(opt, startFactor: 0.01, totalIters: 100);
/// var decay = new CosineAnnealingLr(opt, tMax: 900);
/// var sched = new SequentialLr(opt, [warmup, decay], milestones: [100]);
/// </code>
/// <para>
/// Construction resets the groups to <c>initial_lr</c>, undoes the initial steps of the given
/// schedulers and redoes only the first one's, as PyTorch does.
/// </para>
/// </remarks>
public sealed class SequentialLr : LrScheduler
{
    readonly LrScheduler[] _schedulers;
    readonly int[] _milestones;

    /// <summary>Runs <paramref name="schedulers"/> in turn, switching at <paramref name="milestones"/>.</summary>
    /// <param name="optimizer">The optimizer every scheduler was built on.</param>
    /// <param name="schedulers">The schedulers, in order.</param>
    /// <param name="milestones">The epochs at which to switch to the next scheduler, one fewer than the schedulers, in increasing order.</param>
    public SequentialLr(Optimizer optimizer, IReadOnlyList<LrScheduler> schedulers, IReadOnlyList<int> milestones)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count < 1)
            throw new ArgumentException("SequentialLr expects at least one scheduler, but got no scheduler.", nameof(schedulers));
        for (int i = 0; i < schedulers.Count; i++)
        {
            var s = schedulers[i] ?? throw new ArgumentException($"SequentialLr: scheduler {i} is null", nameof(schedulers));
            if (!ReferenceEquals(s.Optimizer, optimizer))
                throw new ArgumentException(
                    $"SequentialLr expects all schedulers to belong to the same optimizer, but got scheduler {s.GetType().Name} " +
                    $"at index {i} has a different optimizer.", nameof(schedulers));
            if (s is SequentialLr)
                throw new ArgumentException($"SequentialLr: scheduler {i} is itself a SequentialLr; list its schedulers instead", nameof(schedulers));
        }
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, " +
                $"but got number of schedulers {schedulers.Count} and the number of milestones to be equal to {milestones.Count}", nameof(milestones));
        for (int i = 1; i < milestones.Count; i++)
            if (milestones[i] < milestones[i - 1])
                throw new ArgumentException(
                    $"SequentialLr: expected milestones in increasing order; got [{string.Join(", ", milestones)}]", nameof(milestones));
        _schedulers = [.. schedulers];
        _milestones = [.. milestones];
        Start();
    }

    /// <summary>The schedulers, in order.</summary>
    public IReadOnlyList<LrScheduler> Schedulers => _schedulers;

    /// <summary>The epochs at which the next scheduler takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    void Start()
    {
        LastEpoch = 0;
        foreach (var group in Optimizer.ParamGroups) group.Lr = group["initial_lr"];
        foreach (var s in _schedulers) s.Undo();
        _schedulers[0].RunInitialStep();
        RecordLastLr();
    }

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        int idx = 0;
        while (idx < _milestones.Length && _milestones[idx] <= LastEpoch) idx++;
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == LastEpoch) scheduler.UpdateLr(0);
        else scheduler.Step();
        RecordLastLr();
    }

    private protected override double GetLr(int g, ParamGroup group) =>
        throw new NotSupportedException("SequentialLr delegates to its schedulers");

    private protected override void Restart()
    {
        foreach (var s in _schedulers) s.ResetTo(0, 1);
        Start();
    }

    internal override void Save(OrderedDictionary<string, Tensor> dict, string prefix)
    {
        base.Save(dict, prefix);
        for (int k = 0; k < _schedulers.Length; k++) _schedulers[k].Save(dict, $"{prefix}_schedulers.{k}.");
    }

    internal override void Check(IReadOnlyDictionary<string, Tensor> dict, string prefix, List<string> problems, HashSet<string> used)
    {
        base.Check(dict, prefix, problems, used);
        for (int k = 0; k < _schedulers.Length; k++) _schedulers[k].Check(dict, $"{prefix}_schedulers.{k}.", problems, used);
    }

    internal override void Load(IReadOnlyDictionary<string, Tensor> dict, string prefix)
    {
        base.Load(dict, prefix);
        for (int k = 0; k < _schedulers.Length; k++) _schedulers[k].Load(dict, $"{prefix}_schedulers.{k}.");
    }
}
