using System.Collections;
using System.Globalization;

namespace Nabla.Nn;

/// <summary>
/// Modules applied one after another, each to the previous one's output, as <c>nn.Sequential</c>.
/// Children are named "0", "1", ... so state-dict keys read <c>0.weight</c>, <c>3.bias</c>.
/// </summary>
public sealed class Sequential : Module, IEnumerable<Module>
{
    readonly List<Module> _layers = [];

    /// <summary>Creates the chain from <paramref name="layers"/>.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var l in layers) Add(l);
    }

    /// <summary>Appends a module; returns this container.</summary>
    public Sequential Add(Module layer)
    {
        _layers.Add(Register(_layers.Count.ToString(CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <summary>The number of modules.</summary>
    public int Count => _layers.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++)
        {
            // Linear or batch norm followed by ReLU runs as one fused operation (the same values, one
            // memory pass less).
            // A module with hooks runs alone, so each hook sees its own module's output.
            bool reluNext = i + 1 < _layers.Count && _layers[i + 1] is Relu { HasHooks: false } && !_layers[i].HasHooks;
            if (reluNext && _layers[i] is BatchNormBase bnp && i + 2 < _layers.Count
                && _layers[i + 2] is MaxPool2d { KernelSize: (2, 2), Stride: (2, 2), Padding: (0, 0), HasHooks: false } && Functional.CanFusePool(x))
            {
                // Batch norm, ReLU and 2x2 max pooling: the normalized activation is never stored.
                x = bnp.Forward(x, Fusion.ReluMaxPool2);
                i += 2;
            }
            else if (reluNext && _layers[i] is BatchNormBase bn)
            {
                x = bn.Forward(x, Fusion.Relu);
                i++;
            }
            else if (reluNext && _layers[i] is Linear linear)
            {
                x = linear.Forward(x, Fusion.Relu);
                i++;
            }
            else x = _layers[i].Forward(x);
        }
        return x;
    }

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// A list of modules whose parameters belong to the owner, as <c>nn.ModuleList</c>; it has no
/// forward of its own: the owner decides how to call them.
/// </summary>
public sealed class ModuleList : Module, IEnumerable<Module>
{
    readonly List<Module> _items = [];

    /// <summary>Creates the list from <paramref name="modules"/>.</summary>
    public ModuleList(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module; returns this list.</summary>
    public ModuleList Add(Module module)
    {
        _items.Add(Register(_items.Count.ToString(CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => _items[index];

    /// <summary>Always throws: a module list is a container, not a layer.</summary>
    protected override Tensor ForwardCore(Tensor input) =>
        throw new NotSupportedException("ModuleList has no Forward: call its modules in the owner's forward, or use Sequential");

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
