using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// A set of parameters an optimizer updates with the same hyper-parameters, as an entry of PyTorch's
/// <c>optimizer.param_groups</c>: a group may override the optimizer's learning rate, weight decay and
/// its other numeric hyper-parameters (<c>momentum</c>, <c>beta1</c>, <c>eps</c>, ...); options it does
/// not set take the optimizer's defaults.
/// </summary>
/// <remarks>
/// <para>
/// The usual reason for groups is that weight decay should shrink weight matrices and convolution
/// kernels but not biases or normalization scales (decaying a bias pulls the layer's output towards
/// zero for no regularizing benefit); <see cref="SplitByRank(Module, double)"/> builds those two groups as
/// nanoGPT does:
/// <code>
/// var opt = new AdamW(ParamGroup.SplitByRank(model, weightDecay: 0.1), lr: 6e-4);
/// </code>
/// </para>
/// <para>
/// Options are doubles under PyTorch's names (<c>lr</c>, <c>weight_decay</c>, <c>momentum</c>,
/// <c>dampening</c>, <c>beta1</c>, <c>beta2</c>, <c>eps</c>, <c>alpha</c>); schedulers add their own
/// (<c>initial_lr</c>, <c>max_lr</c>, ...). Every option is saved in the optimizer's state dict.
/// </para>
/// </remarks>
public sealed class ParamGroup
{
    internal readonly List<Parameter> Params;
    readonly Dictionary<string, double> _options = [];
    readonly List<string> _order = [];

    /// <summary>A group of <paramref name="parameters"/>, overriding whichever options are given.</summary>
    /// <param name="parameters">The parameters (not buffers) to update together.</param>
    /// <param name="lr">The learning rate, or null for the optimizer's.</param>
    /// <param name="weightDecay">The weight decay, or null for the optimizer's.</param>
    /// <param name="momentum">Sgd and RmsProp: the momentum factor.</param>
    /// <param name="dampening">Sgd: the dampening of the momentum.</param>
    /// <param name="beta1">Adam and AdamW: the decay of the first-moment average.</param>
    /// <param name="beta2">Adam and AdamW: the decay of the second-moment average.</param>
    /// <param name="eps">Adam, AdamW and RmsProp: the term added to the denominator.</param>
    /// <param name="alpha">RmsProp: the smoothing constant.</param>
    public ParamGroup(IEnumerable<Parameter> parameters, double? lr = null, double? weightDecay = null,
        double? momentum = null, double? dampening = null, double? beta1 = null, double? beta2 = null,
        double? eps = null, double? alpha = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Params = [];
        foreach (var p in parameters)
        {
            if (p is null) throw new ArgumentException("ParamGroup: expected parameters; got a null entry", nameof(parameters));
            Params.Add(p);
        }
        if (lr is { } a) this["lr"] = a;
        if (weightDecay is { } b) this["weight_decay"] = b;
        if (momentum is { } c) this["momentum"] = c;
        if (dampening is { } d) this["dampening"] = d;
        if (beta1 is { } e) this["beta1"] = e;
        if (beta2 is { } f) this["beta2"] = f;
        if (eps is { } g) this["eps"] = g;
        if (alpha is { } h) this["alpha"] = h;
    }

    /// <summary>The parameters of the group, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => Params;

    /// <summary>The learning rate; schedulers set it before each step.</summary>
    public double Lr
    {
        get => this["lr"];
        set => this["lr"] = value;
    }

    /// <summary>The weight decay.</summary>
    public double WeightDecay
    {
        get => this["weight_decay"];
        set => this["weight_decay"] = value;
    }

    /// <summary>An option by its PyTorch name (<c>lr</c>, <c>momentum</c>, <c>beta1</c>, <c>initial_lr</c>, ...).</summary>
    /// <exception cref="KeyNotFoundException">The group has no such option.</exception>
    public double this[string option]
    {
        get
        {
            if (_options.TryGetValue(option, out double v)) return v;
            throw new KeyNotFoundException(
                $"ParamGroup: expected one of the options {string.Join(", ", _order)}; got \"{option}\"");
        }
        set
        {
            ArgumentNullException.ThrowIfNull(option);
            if (_options.TryAdd(option, value)) _order.Add(option);
            else _options[option] = value;
        }
    }

    /// <summary>Whether the group has <paramref name="option"/>.</summary>
    public bool Has(string option) => _options.ContainsKey(option);

    /// <summary>The option's value, or false when the group lacks it.</summary>
    public bool TryGet(string option, out double value) => _options.TryGetValue(option, out value);

    /// <summary>The names of the group's options, in the order they were set.</summary>
    public IReadOnlyList<string> OptionNames => _order;

    /// <summary>Sets <paramref name="option"/> unless the group already has it, as Python's <c>dict.setdefault</c>.</summary>
    internal double SetDefault(string option, double value)
    {
        if (_options.TryGetValue(option, out double v)) return v;
        this[option] = value;
        return value;
    }

    /// <summary>
    /// Two groups from <paramref name="namedParameters"/>: those of rank 2 or more (weight matrices,
    /// convolution kernels, embeddings) with <paramref name="weightDecay"/>, and those of rank 0 or 1
    /// (biases, normalization scales and shifts) with weight decay 0, as nanoGPT's
    /// <c>configure_optimizers</c>. Frozen parameters (<see cref="Parameter.RequiresGrad"/> false) are left out.
    /// </summary>
    public static ParamGroup[] SplitByRank(IEnumerable<(string Name, Parameter Parameter)> namedParameters, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (_, p) in namedParameters)
        {
            if (!p.RequiresGrad) continue;
            (p.Shape.Length >= 2 ? decay : noDecay).Add(p);
        }
        return [new ParamGroup(decay, weightDecay: weightDecay), new ParamGroup(noDecay, weightDecay: 0)];
    }

    /// <summary>The decay and no-decay groups of <paramref name="module"/>'s parameters; see <see cref="SplitByRank(IEnumerable{ValueTuple{string, Parameter}}, double)"/>.</summary>
    public static ParamGroup[] SplitByRank(Module module, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(module);
        return SplitByRank(module.NamedParameters(), weightDecay);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ParamGroup({Params.Count} parameters; {string.Join(", ", _order.Select(k => $"{k}: {_options[k]}"))})";
}
