using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// The base of the optimizers, as <c>torch.optim.Optimizer</c>: it holds the parameter groups and the
/// per-parameter state (moment averages, momentum buffers, step counts), clears gradients, and saves
/// and restores that state as a flat dictionary of tensors so a training run can be resumed exactly.
/// </summary>
/// <remarks>
/// <para>
/// A training step is <c>opt.ZeroGrad(); loss.Backward(); opt.Step();</c>. <see cref="Step"/> skips
/// every parameter whose gradient is null (frozen, or not reached by the loss). State buffers are
/// allocated on a parameter's first step; later steps allocate nothing. Each parameter is updated in
/// one fused vectorized pass over its arrays (PyTorch's CPU path makes one pass per operation), split
/// across <see cref="Threading.NumThreads"/> threads for large parameters with bitwise the same result.
/// </para>
/// <para>
/// Parameters are numbered in order across the groups, as PyTorch numbers them in its state dict;
/// see <see cref="StateDict"/> for the keys.
/// </para>
/// </remarks>
public abstract partial class Optimizer
{
    readonly List<ParamGroup> _groups = [];
    readonly List<Parameter> _params = [];
    readonly List<ParamState?> _state = [];
    readonly HashSet<Parameter> _seen = new(ReferenceEqualityComparer.Instance);
    readonly KeyValuePair<string, double>[] _defaults;
    readonly Action<string, double> _check;
    readonly StateSlot[] _slots;
    readonly bool _countsSteps;

    /// <summary>The name used in error messages (<c>Adam</c>, <c>Sgd</c>).</summary>
    private protected abstract string Name { get; }

    private protected Optimizer(IEnumerable<ParamGroup> groups, KeyValuePair<string, double>[] defaults,
        Action<string, double> check, StateSlot[] slots, bool countsSteps)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _defaults = defaults;
        _check = check;
        _slots = slots;
        _countsSteps = countsSteps;
        var list = groups.ToList();
        if (list.Count == 0 || list.TrueForAll(g => g is not null && g.Params.Count == 0))
            throw new ArgumentException("optimizer got an empty parameter list", nameof(groups));
        foreach (var g in list) AddParamGroup(g);
    }

    private protected static ParamGroup[] OneGroup(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return [new ParamGroup(parameters)];
    }

    /// <summary>The parameter groups; change a group's <see cref="ParamGroup.Lr"/> to change its learning rate.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The hyper-parameters given to the constructor, which groups inherit unless they override them.</summary>
    public IReadOnlyDictionary<string, double> Defaults => _defaults.ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>
    /// Adds a group, filling in the options it does not set from the constructor's, as PyTorch's
    /// <c>add_param_group</c>. Useful to unfreeze layers while fine-tuning.
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        int g = _groups.Count;
        if (_groups.Contains(group))
            throw new ArgumentException($"{Name}: param group {g} was already added", nameof(group));
        foreach (var option in group.OptionNames)
        {
            if (!Array.Exists(_defaults, kv => kv.Key == option))
                throw new ArgumentException(
                    $"{Name}: param group {g} sets {option}, which {Name} does not use; its options are " +
                    string.Join(", ", _defaults.Select(kv => kv.Key)), nameof(group));
            _check(option, group[option]);
        }
        var mine = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in group.Params)
        {
            if (!mine.Add(p))
                throw new ArgumentException($"{Name}: param group {g} contains a parameter more than once", nameof(group));
            if (_seen.Contains(p))
                throw new ArgumentException("some parameters appear in more than one parameter group", nameof(group));
        }
        foreach (var (option, value) in _defaults) group.SetDefault(option, value);
        foreach (var p in group.Params)
        {
            _seen.Add(p);
            _params.Add(p);
            _state.Add(null);
        }
        _groups.Add(group);
    }

    /// <summary>
    /// Clears the gradient of every parameter: in place by default, keeping the gradient buffers so the
    /// next backward pass allocates nothing; with <paramref name="setToNone"/>, drops them.
    /// </summary>
    public void ZeroGrad(bool setToNone = false)
    {
        for (int i = 0; i < _params.Count; i++) _params[i].ZeroGrad(setToNone);
    }

    /// <summary>
    /// PyTorch's check of a hyper-parameter, by name (each name means the same in every optimizer):
    /// "Invalid learning rate: -0.1" and its relatives.
    /// </summary>
    private protected static void CheckOption(string option, double value)
    {
        switch (option)
        {
            case "lr" when !(value >= 0):
                throw Py.Invalid("lr", $"Invalid learning rate: {PyFormat.Float(value)}");
            case "eps" when !(value >= 0):
                throw Py.Invalid("eps", $"Invalid epsilon value: {PyFormat.Float(value)}");
            case "momentum" when !(value >= 0):
                throw Py.Invalid("momentum", $"Invalid momentum value: {PyFormat.Float(value)}");
            case "weight_decay" when !(value >= 0):
                throw Py.Invalid("weightDecay", $"Invalid weight_decay value: {PyFormat.Float(value)}");
            case "alpha" when !(value >= 0):
                throw Py.Invalid("alpha", $"Invalid alpha value: {PyFormat.Float(value)}");
            case "beta1" when !(value >= 0 && value < 1):
                throw Py.Invalid("beta1", $"Invalid beta parameter at index 0: {PyFormat.Float(value)}");
            case "beta2" when !(value >= 0 && value < 1):
                throw Py.Invalid("beta2", $"Invalid beta parameter at index 1: {PyFormat.Float(value)}");
        }
    }

    /// <summary>
    /// Performs one update of every parameter that has a gradient. The walk is written once, here
    /// (groups, then their parameters, numbered across groups; a parameter without a gradient is
    /// skipped; its gradient's shape is checked); each optimizer supplies only its update of one
    /// parameter, <see cref="Update"/>.
    /// </summary>
    public void Step()
    {
        int index = 0;
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            var ps = group.Params;
            for (int j = 0; j < ps.Count; j++, index++)
            {
                var p = ps[j];
                if (GradOf(p, index) is not { } grad) continue;
                Update(p, grad, StateAt(index), group);
            }
        }
    }

    /// <summary>
    /// Updates one parameter from its gradient with the group's hyper-parameters: allocates the
    /// state buffers it needs on first use, then runs the optimizer's fused pass over the arrays.
    /// </summary>
    private protected abstract void Update(Parameter p, Tensor grad, ParamState state, ParamGroup group);

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder(Name).Append(" (");
        for (int g = 0; g < _groups.Count; g++)
        {
            sb.Append("\nParameter Group ").Append(g);
            foreach (var option in _groups[g].OptionNames)
                sb.Append("\n    ").Append(option).Append(": ").Append(_groups[g][option].ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.Append("\n)").ToString();
    }

    // ---- for the subclasses' Update ---------------------------------------------------------

    /// <summary>The gradient of <paramref name="p"/> (number <paramref name="index"/>), checked against its shape; null to skip it.</summary>
    Tensor? GradOf(Parameter p, int index)
    {
        var grad = p.Grad;
        if (grad is null) return null;
        if (!grad.Shape.SequenceEqual(p.Shape))
            throw new ShapeException($"{Name}.Step", $"the gradient of parameter {index} to have its shape {p.Data.ShapeString}",
                grad.ShapeString, "a gradient was assigned by hand with the wrong shape");
        return grad;
    }

    /// <summary>The state of parameter <paramref name="index"/>, created (empty) on first use.</summary>
    ParamState StateAt(int index) => _state[index] ??= new ParamState(_slots.Length);

    /// <summary>A zero-filled buffer shaped like <paramref name="p"/>.</summary>
    private protected static Tensor ZerosLike(Parameter p) => Tensor.ZerosLike(p.Data);
}

/// <summary>A state buffer an optimizer keeps per parameter, named as in PyTorch's state dict.</summary>
/// <param name="Name">The key, e.g. <c>exp_avg</c>.</param>
/// <param name="Required">Whether every parameter that has state must have this buffer (false when it is created lazily).</param>
internal readonly record struct StateSlot(string Name, bool Required);

/// <summary>The state of one parameter: its step count and its buffers, in the optimizer's slot order.</summary>
internal sealed class ParamState(int slots)
{
    /// <summary>The number of steps taken (kept in double, as PyTorch's bias corrections use it).</summary>
    public double Step;

    /// <summary>The buffers; null until allocated.</summary>
    public readonly Tensor?[] Buffers = new Tensor?[slots];
}
