using System.Text;

namespace Nabla.Optim;

/// <summary>
/// The base of the learning-rate schedules, as <c>torch.optim.lr_scheduler.LRScheduler</c>: it changes
/// each parameter group's <see cref="ParamGroup.Lr"/> every time <see cref="Step"/> is called.
/// </summary>
/// <remarks>
/// <para>
/// Construction records each group's current learning rate as the group option <c>initial_lr</c>
/// (unless a scheduler already did) and sets the epoch-0 value; then call <see cref="Step"/> once
/// per epoch (or per batch, for per-step schedules) after <c>opt.Step()</c>:
/// <code>
/// var sched = new CosineAnnealingLr(opt, tMax: 100);
/// for (int epoch = 0; epoch &lt; 100; epoch++) { Train(); sched.Step(); }
/// </code>
/// </para>
/// <para>
/// Like PyTorch's, most schedules are chainable: a step multiplies the group's current rate by a factor
/// (or otherwise moves it from where it is), so two schedulers on one optimizer compose, and a rate
/// changed by hand keeps being scheduled from its new value.
/// </para>
/// </remarks>
public abstract class LrScheduler
{
    readonly double[] _baseLrs;
    readonly double[] _lastLr;

    private protected LrScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        var groups = optimizer.ParamGroups;
        _baseLrs = new double[groups.Count];
        _lastLr = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            _baseLrs[g] = groups[g].SetDefault("initial_lr", groups[g].Lr);
            _lastLr[g] = groups[g].Lr;
        }
        LastEpoch = -1;
    }

    /// <summary>The optimizer whose learning rates are scheduled.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The number of <see cref="Step"/> calls since construction; 0 right after it (PyTorch's <c>last_epoch</c>).</summary>
    public int LastEpoch { get; private protected set; }

    /// <summary>Each group's <c>initial_lr</c> when the scheduler was built.</summary>
    public IReadOnlyList<double> BaseLrs => _baseLrs;

    /// <summary>The learning rates the last step set, one per group.</summary>
    public IReadOnlyList<double> GetLastLr() => (double[])_lastLr.Clone();

    /// <summary>How many times <see cref="Step"/> ran, counting the one made by the constructor.</summary>
    private protected int StepCount { get; set; }

    /// <summary>True during the step the constructor makes.</summary>
    private protected bool IsInitial { get; private set; }

    /// <summary>Advances the schedule by one epoch and sets each group's learning rate.</summary>
    public virtual void Step()
    {
        StepCount++;
        UpdateLr(null);
    }

    /// <summary>The constructor's step, which sets the epoch-0 learning rates; call it last in a subclass's constructor.</summary>
    private protected void InitialStep()
    {
        StepCount = 0;
        IsInitial = true;
        try { Step(); }
        finally { IsInitial = false; }
    }

    /// <summary>
    /// Moves to the next epoch (<paramref name="epoch"/> null) with the chainable rule, or jumps to
    /// <paramref name="epoch"/> with the closed form where the schedule has one, as PyTorch's <c>_update_lr</c>.
    /// </summary>
    internal void UpdateLr(int? epoch)
    {
        var groups = Optimizer.ParamGroups;
        if (groups.Count != _baseLrs.Length)
            throw new InvalidOperationException(
                $"{GetType().Name}.Step: the optimizer has {groups.Count} parameter groups; the scheduler was built for {_baseLrs.Length}\n" +
                "hint: build the scheduler after adding every parameter group");
        LastEpoch = epoch ?? LastEpoch + 1;
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            double lr = epoch is not null && HasClosedForm ? ClosedFormLr(g) : GetLr(g, group);
            group.Lr = lr;
            _lastLr[g] = lr;
        }
    }

    /// <summary>The new learning rate of group <paramref name="g"/> at <see cref="LastEpoch"/>, from its current one (chainable form).</summary>
    private protected abstract double GetLr(int g, ParamGroup group);

    /// <summary>Whether <see cref="ClosedFormLr"/> is available.</summary>
    private protected virtual bool HasClosedForm => false;

    /// <summary>The learning rate of group <paramref name="g"/> at <see cref="LastEpoch"/> computed from <see cref="BaseLrs"/> alone.</summary>
    private protected virtual double ClosedFormLr(int g) => throw new NotSupportedException();

    // ---- state dict ------------------------------------------------------------------------

    /// <summary>
    /// The schedule's progress as 0-d tensors: <c>last_epoch</c>, <c>_step_count</c>,
    /// <c>base_lrs.{g}</c> and <c>_last_lr.{g}</c> (a sequential schedule adds
    /// <c>_schedulers.{k}.*</c>). The constructor's arguments are not saved: build the scheduler
    /// with the same ones, then load.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        Save(dict, "");
        return dict;
    }

    /// <summary>
    /// Restores the progress saved by <see cref="StateDict"/>; every missing, unexpected or malformed key
    /// is reported in one exception before anything changes. Load the optimizer's state first.
    /// </summary>
    /// <remarks>
    /// The saved rates are float32. When they agree with a replay of the schedule from
    /// <c>initial_lr</c> to <c>last_epoch</c> (the schedule alone drove the rates), the groups get the
    /// replay's exact double values, so a resumed run is bitwise identical to an uninterrupted one;
    /// otherwise the groups keep the rates the optimizer's state dict gave them, as in PyTorch.
    /// </remarks>
    /// <exception cref="ArgumentException">The dictionary does not fit this scheduler; the message lists each problem.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ValidateStateDict(stateDict);
        Load(stateDict, "");
        Resume(stateDict);
    }

    /// <summary>The checks of <see cref="LoadStateDict"/> without loading, so a checkpoint can be validated whole before anything changes.</summary>
    internal void ValidateStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var used = new HashSet<string>();
        Check(stateDict, "", problems, used);
        foreach (var key in stateDict.Keys)
            if (!used.Contains(key)) problems.Add($"unexpected key \"{key}\"");
        SchedulerState.ThrowIfAny(GetType().Name, problems);
    }

    internal virtual void Save(OrderedDictionary<string, Tensor> dict, string prefix)
    {
        dict.Add(prefix + "last_epoch", Tensor.Scalar(LastEpoch));
        dict.Add(prefix + "_step_count", Tensor.Scalar(StepCount));
        for (int g = 0; g < _baseLrs.Length; g++) dict.Add($"{prefix}base_lrs.{g}", Tensor.Scalar((float)_baseLrs[g]));
        for (int g = 0; g < _lastLr.Length; g++) dict.Add($"{prefix}_last_lr.{g}", Tensor.Scalar((float)_lastLr[g]));
    }

    internal virtual void Check(IReadOnlyDictionary<string, Tensor> dict, string prefix, List<string> problems, HashSet<string> used)
    {
        SchedulerState.Int(dict, prefix + "last_epoch", -1, problems, used);
        SchedulerState.Int(dict, prefix + "_step_count", 0, problems, used);
        for (int g = 0; g < _baseLrs.Length; g++) SchedulerState.Real(dict, $"{prefix}base_lrs.{g}", problems, used);
        for (int g = 0; g < _lastLr.Length; g++) SchedulerState.Real(dict, $"{prefix}_last_lr.{g}", problems, used);
    }

    internal virtual void Load(IReadOnlyDictionary<string, Tensor> dict, string prefix)
    {
        LastEpoch = (int)dict[prefix + "last_epoch"].Item();
        StepCount = (int)dict[prefix + "_step_count"].Item();
        for (int g = 0; g < _baseLrs.Length; g++) _baseLrs[g] = SchedulerState.Keep(_baseLrs[g], dict[$"{prefix}base_lrs.{g}"].Item());
        for (int g = 0; g < _lastLr.Length; g++) _lastLr[g] = dict[$"{prefix}_last_lr.{g}"].Item();
    }

    /// <summary>
    /// After loading: replays the schedule from the groups' <c>initial_lr</c> to <see cref="LastEpoch"/>
    /// and adopts the replay's exact rates if they round to the saved ones; otherwise restores what was there.
    /// </summary>
    void Resume(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var groups = Optimizer.ParamGroups;
        int target = LastEpoch, steps = StepCount;
        var saved = (double[])_lastLr.Clone();
        var snapshot = groups.Select(g => g.OptionNames.ToDictionary(o => o, o => g[o])).ToList();
        bool agrees;
        try
        {
            Restart();
            while (LastEpoch < target) Step();
            agrees = LastEpoch == target;
            for (int g = 0; g < groups.Count && agrees; g++) agrees = (float)groups[g].Lr == (float)saved[g];
        }
        catch (InvalidOperationException) { agrees = false; }
        if (!agrees)
        {
            for (int g = 0; g < groups.Count; g++)
                foreach (var (option, value) in snapshot[g]) groups[g][option] = value;
            Load(stateDict, "");
        }
        StepCount = steps;
    }

    /// <summary>Puts the schedule back where its constructor left it: rates at <c>initial_lr</c>, then the initial step.</summary>
    private protected virtual void Restart()
    {
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++) groups[g].Lr = groups[g]["initial_lr"];
        LastEpoch = -1;
        InitialStep();
    }

    /// <summary>Copies the groups' current rates into <see cref="GetLastLr"/>.</summary>
    private protected void RecordLastLr()
    {
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < _lastLr.Length && g < groups.Count; g++) _lastLr[g] = groups[g].Lr;
    }

    /// <summary>Used by <see cref="SequentialLr"/> to undo a sub-scheduler's initial step.</summary>
    internal void Undo() => LastEpoch--;

    /// <summary>Sets the counters, for <see cref="SequentialLr"/>'s replay.</summary>
    internal void ResetTo(int lastEpoch, int stepCount)
    {
        LastEpoch = lastEpoch;
        StepCount = stepCount;
    }

    /// <summary>The constructor's step, for <see cref="SequentialLr"/>.</summary>
    internal void RunInitialStep() => InitialStep();
}

/// <summary>Reading and checking the 0-d tensors of scheduler state dicts.</summary>
internal static class SchedulerState
{
    public static void Int(IReadOnlyDictionary<string, Tensor> d, string key, int min, List<string> problems, HashSet<string> used)
    {
        if (!Present(d, key, problems, used, out var t)) return;
        float v = t.Item();
        if (!(v >= min) || v != MathF.Floor(v) || v > int.MaxValue)
            problems.Add($"{key}: expected an integer >= {min}; got {v}");
    }

    public static void Real(IReadOnlyDictionary<string, Tensor> d, string key, List<string> problems, HashSet<string> used) =>
        Present(d, key, problems, used, out _);

    static bool Present(IReadOnlyDictionary<string, Tensor> d, string key, List<string> problems, HashSet<string> used, out Tensor t)
    {
        if (!d.TryGetValue(key, out t!) || t is null)
        {
            problems.Add($"missing key \"{key}\"");
            return false;
        }
        used.Add(key);
        if (t.Rank != 0)
        {
            problems.Add($"{key}: expected a 0-d tensor; got shape {t.ShapeString}");
            return false;
        }
        return true;
    }

    /// <summary>The double we hold when the saved float32 is its rounding, else the saved value.</summary>
    public static double Keep(double current, float saved) => (float)current == saved ? current : saved;

    public static void ThrowIfAny(string name, List<string> problems)
    {
        if (problems.Count == 0) return;
        var sb = new StringBuilder($"{name}.LoadStateDict: error(s) in loading the state dict:");
        foreach (var p in problems) sb.Append("\n  ").Append(p);
        sb.Append("\nhint: the state dict must come from a scheduler of the same kind over an optimizer with the same parameter groups");
        throw new ArgumentException(sb.ToString());
    }
}
