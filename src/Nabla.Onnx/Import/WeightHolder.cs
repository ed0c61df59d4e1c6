using Nabla.Nn;

namespace Nabla.Onnx.Import;

/// <summary>
/// A module that only holds weights, so an imported graph's dotted initializer names
/// (<c>layer1.0.conv1.weight</c>) become the same state-dict keys. It has no forward of its own.
/// </summary>
internal sealed class WeightHolder : Module
{
    readonly Dictionary<string, WeightHolder> _children = new(StringComparer.Ordinal);
    readonly HashSet<string> _leaves = new(StringComparer.Ordinal);

    /// <summary>
    /// Registers a weight under its graph name: <c>layer1.0.conv1.weight</c> goes into nested
    /// holders so the state-dict key is the name itself; a name that cannot nest (an empty part, a
    /// clash with a weight already placed) is registered here with its dots replaced by underscores.
    /// </summary>
    public void Place(string name, Parameter? p, Nn.Buffer? b)
    {
        var parts = name.Split('.');
        if (parts.All(s => s.Length > 0) && CanHold(parts))
        {
            Add(parts, p, b);
            return;
        }
        string flat = name.Replace('.', '_'), unique = flat.Length == 0 ? "_" : flat;
        for (int i = 1; !CanHold([unique]); i++) unique = $"{flat}_{i}";
        Add([unique], p, b);
    }

    /// <summary>Each weight and holder directly in this one, with its name.</summary>
    public IEnumerable<(string Name, object Entry)> Entries() =>
        NamedParameters().Where(e => !e.Name.Contains('.', StringComparison.Ordinal)).Select(e => (e.Name, (object)e.Parameter))
            .Concat(NamedBuffers().Where(e => !e.Name.Contains('.', StringComparison.Ordinal)).Select(e => (e.Name, (object)e.Buffer)))
            .Concat(NamedChildren().Select(e => (e.Name, (object)e.Module)));

    bool CanHold(ReadOnlySpan<string> path)
    {
        if (path.Length == 1) return !_leaves.Contains(path[0]) && !_children.ContainsKey(path[0]);
        if (_leaves.Contains(path[0])) return false;
        return !_children.TryGetValue(path[0], out var child) || child.CanHold(path[1..]);
    }

    void Add(ReadOnlySpan<string> path, Parameter? p, Nn.Buffer? b)
    {
        if (path.Length == 1)
        {
            if (p is not null) Register(path[0], p);
            else Register(path[0], b!);
            _leaves.Add(path[0]);
            return;
        }
        if (!_children.TryGetValue(path[0], out var child))
            _children[path[0]] = child = Register(path[0], new WeightHolder());
        child.Add(path[1..], p, b);
    }

    protected override Tensor ForwardCore(Tensor input) =>
        throw new NotSupportedException("a weight holder of an imported ONNX graph has no forward; call the OnnxModule");
}
