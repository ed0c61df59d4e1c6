namespace Nabla.Optim;

/// <summary>Whether <see cref="ReduceLrOnPlateau"/> watches a metric that should fall or rise.</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>How <see cref="ReduceLrOnPlateau"/> decides that a metric improved on the best so far.</summary>
public enum ThresholdMode
{
    /// <summary>By a fraction: better than best · (1 ∓ threshold).</summary>
    Rel,

    /// <summary>By an amount: better than best ∓ threshold.</summary>
    Abs,
}

/// <summary>
/// Cuts the learning rate by <c>factor</c> when a metric has stopped improving for more than
/// <c>patience</c> epochs, as <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c>. Call
/// <see cref="Step(double)"/> once per epoch with the validation metric.
/// </summary>
/// <remarks>
/// <para>Each call with metric a:</para>
/// <code>
/// 1. if a is better than best by the threshold: best ← a, bad ← 0;  else bad ← bad + 1
/// 2. if cooling down: cooldown ← cooldown − 1, bad ← 0   (bad epochs right after a cut do not count)
/// 3. if bad &gt; patience: for each group, new ← max(lr · factor, minLr);
///                         lr ← new if lr − new &gt; eps;  cooldown ← cooldownEpochs;  bad ← 0
/// </code>
/// <para>
/// "Better" in Min mode with Rel thresholds means a &lt; best · (1 − threshold); with Abs,
/// a &lt; best − threshold (Max mode mirrors both). With patience 0 the first epoch that fails to
/// improve cuts the rate. Defaults: Min, factor 0.1, patience 10, threshold 1e-4, Rel, cooldown 0,
/// minLr 0, eps 1e-8.
/// </para>
/// </remarks>
public sealed class ReduceLrOnPlateau
{
    readonly double[] _minLrs;
    readonly double[] _lastLr;
    readonly double[] _baseLrs;
    readonly int[] _reductions;

    /// <summary>Watches a metric and cuts every group's rate when it plateaus; the floor <paramref name="minLr"/> applies to all groups.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="mode">Whether the metric should fall (Min) or rise (Max).</param>
    /// <param name="factor">The factor of each cut; below 1.</param>
    /// <param name="patience">The number of epochs without improvement tolerated before a cut.</param>
    /// <param name="threshold">How much better than the best a metric must be to count as an improvement.</param>
    /// <param name="thresholdMode">Whether the threshold is relative or absolute.</param>
    /// <param name="cooldown">The number of epochs after a cut during which bad epochs are not counted.</param>
    /// <param name="minLr">The floor of the learning rate.</param>
    /// <param name="eps">The smallest cut that is applied.</param>
    public ReduceLrOnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : this(optimizer, Enumerable.Repeat(minLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), mode, factor, patience,
            threshold, thresholdMode, cooldown, eps) { }

    /// <summary>Watches a metric and cuts every group's rate when it plateaus, with one floor per group.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="minLrs">The floor of each group's learning rate.</param>
    /// <param name="mode">Whether the metric should fall (Min) or rise (Max).</param>
    /// <param name="factor">The factor of each cut; below 1.</param>
    /// <param name="patience">The number of epochs without improvement tolerated before a cut.</param>
    /// <param name="threshold">How much better than the best a metric must be to count as an improvement.</param>
    /// <param name="thresholdMode">Whether the threshold is relative or absolute.</param>
    /// <param name="cooldown">The number of epochs after a cut during which bad epochs are not counted.</param>
    /// <param name="eps">The smallest cut that is applied.</param>
    public ReduceLrOnPlateau(Optimizer optimizer, IReadOnlyList<double> minLrs, PlateauMode mode = PlateauMode.Min,
        double factor = 0.1, int patience = 10, double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel,
        int cooldown = 0, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(minLrs);
        if (!(factor < 1.0)) throw new ArgumentOutOfRangeException(nameof(factor), "Factor should be < 1.0.");
        if (patience < 0)
            throw new ArgumentOutOfRangeException(nameof(patience), $"ReduceLrOnPlateau: expected patience >= 0; got {patience}");
        if (cooldown < 0)
            throw new ArgumentOutOfRangeException(nameof(cooldown), $"ReduceLrOnPlateau: expected cooldown >= 0; got {cooldown}");
        var groups = optimizer.ParamGroups;
        if (minLrs.Count != groups.Count)
            throw new ArgumentException($"expected {groups.Count} min_lrs, got {minLrs.Count}", nameof(minLrs));
        Optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Eps = eps;
        _minLrs = [.. minLrs];
        _lastLr = groups.Select(g => g.Lr).ToArray();
        _baseLrs = [.. _lastLr];
        _reductions = new int[groups.Count];
        Best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Whether the metric should fall or rise.</summary>
    public PlateauMode Mode { get; }

    /// <summary>The factor of each cut.</summary>
    public double Factor { get; }

    /// <summary>The number of bad epochs tolerated before a cut.</summary>
    public int Patience { get; }

    /// <summary>The improvement threshold.</summary>
    public double Threshold { get; }

    /// <summary>Whether the threshold is relative or absolute.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>The number of epochs after a cut during which bad epochs are ignored.</summary>
    public int Cooldown { get; }

    /// <summary>The smallest cut that is applied.</summary>
    public double Eps { get; }

    /// <summary>The floor of each group's learning rate.</summary>
    public IReadOnlyList<double> MinLrs => _minLrs;

    /// <summary>The best metric seen so far (±infinity before the first step).</summary>
    public double Best { get; internal set; }

    /// <summary>The number of consecutive epochs without improvement.</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>The epochs of cooldown left.</summary>
    public int CooldownCounter { get; private set; }

    /// <summary>Whether the scheduler is cooling down after a cut.</summary>
    public bool InCooldown => CooldownCounter > 0;

    /// <summary>The number of <see cref="Step(double)"/> calls.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The learning rates after the last step, one per group.</summary>
    public IReadOnlyList<double> GetLastLr() => (double[])_lastLr.Clone();

    /// <summary>Records one epoch's <paramref name="metric"/> and cuts the rates if it has plateaued.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else NumBadEpochs++;

        if (InCooldown)
        {
            CooldownCounter--;
            NumBadEpochs = 0;
        }

        if (NumBadEpochs > Patience)
        {
            ReduceLr();
            CooldownCounter = Cooldown;
            NumBadEpochs = 0;
        }
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < _lastLr.Length && g < groups.Count; g++) _lastLr[g] = groups[g].Lr;
    }

    void ReduceLr()
    {
        var groups = Optimizer.ParamGroups;
        if (groups.Count != _minLrs.Length)
            throw new InvalidOperationException(
                $"ReduceLrOnPlateau.Step: the optimizer has {groups.Count} parameter groups; the scheduler was built for {_minLrs.Length}\n" +
                "hint: build the scheduler after adding every parameter group");
        for (int g = 0; g < groups.Count; g++)
        {
            double oldLr = groups[g].Lr;
            double newLr = Math.Max(oldLr * Factor, _minLrs[g]);
            if (oldLr - newLr > Eps)
            {
                groups[g].Lr = newLr;
                _reductions[g]++;
            }
        }
    }

    bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1.0 - Threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - Threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (Threshold + 1.0),
        _ => a > best + Threshold,
    };

    // ---- state dict ------------------------------------------------------------------------

    /// <summary>
    /// The progress as 0-d tensors: <c>last_epoch</c>, <c>best</c>, <c>num_bad_epochs</c>,
    /// <c>cooldown_counter</c>, and per group <c>_last_lr.{g}</c> and <c>num_reductions.{g}</c> (the
    /// number of cuts applied, from which the exact rate is recomputed on load).
    /// </summary>
    /// <remarks><c>best</c> is stored as float32, so a metric within float32 rounding of the threshold
    /// may be judged differently after resuming.</remarks>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>
        {
            { "last_epoch", Tensor.Scalar(LastEpoch) },
            { "best", Tensor.Scalar((float)Best) },
            { "num_bad_epochs", Tensor.Scalar(NumBadEpochs) },
            { "cooldown_counter", Tensor.Scalar(CooldownCounter) },
        };
        for (int g = 0; g < _lastLr.Length; g++) d.Add($"_last_lr.{g}", Tensor.Scalar((float)_lastLr[g]));
        for (int g = 0; g < _reductions.Length; g++) d.Add($"num_reductions.{g}", Tensor.Scalar(_reductions[g]));
        return d;
    }

    /// <summary>The checks of <see cref="LoadStateDict"/> without loading, so a checkpoint can be validated whole before anything changes.</summary>
    internal void ValidateStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var used = new HashSet<string>();
        SchedulerState.Int(stateDict, "last_epoch", 0, problems, used);
        SchedulerState.Real(stateDict, "best", problems, used);
        SchedulerState.Int(stateDict, "num_bad_epochs", 0, problems, used);
        SchedulerState.Int(stateDict, "cooldown_counter", 0, problems, used);
        for (int g = 0; g < _lastLr.Length; g++) SchedulerState.Real(stateDict, $"_last_lr.{g}", problems, used);
        for (int g = 0; g < _reductions.Length; g++) SchedulerState.Int(stateDict, $"num_reductions.{g}", 0, problems, used);
        foreach (var key in stateDict.Keys)
            if (!used.Contains(key)) problems.Add($"unexpected key \"{key}\"");
        SchedulerState.ThrowIfAny(nameof(ReduceLrOnPlateau), problems);
    }

    /// <summary>
    /// Restores the progress saved by <see cref="StateDict"/>, after the optimizer's; every problem is
    /// reported in one exception before anything changes. When the saved rates equal the constructor's
    /// rates cut <c>num_reductions</c> times, the groups get those exact double values.
    /// </summary>
    /// <exception cref="ArgumentException">The dictionary does not fit this scheduler; the message lists each problem.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ValidateStateDict(stateDict);

        LastEpoch = (int)stateDict["last_epoch"].Item();
        Best = SchedulerState.Keep(Best, stateDict["best"].Item());
        NumBadEpochs = (int)stateDict["num_bad_epochs"].Item();
        CooldownCounter = (int)stateDict["cooldown_counter"].Item();
        var groups = Optimizer.ParamGroups;
        for (int g = 0; g < _lastLr.Length; g++)
        {
            float saved = stateDict[$"_last_lr.{g}"].Item();
            _reductions[g] = (int)stateDict[$"num_reductions.{g}"].Item();
            double lr = _baseLrs[g];
            for (int k = 0, applied = 0; applied < _reductions[g] && k < 100_000; k++)
            {
                double next = Math.Max(lr * Factor, _minLrs[g]);
                if (lr - next > Eps) { lr = next; applied++; }
                else break;
            }
            _lastLr[g] = (float)lr == saved ? lr : saved;
            if (g < groups.Count && (float)groups[g].Lr == saved) groups[g].Lr = _lastLr[g];
        }
    }
}
