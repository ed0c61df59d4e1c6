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

    /// <summary>Whether <paramref name="path"/> can be added without clashing with what is here.</summary>
    public bool CanHold(ReadOnlySpan<string> path)
    {
        if (path.Length == 1) return !_leaves.Contains(path[0]) && !_children.ContainsKey(path[0]);
        if (_leaves.Contains(path[0])) return false;
        return !_children.TryGetValue(path[0], out var child) || child.CanHold(path[1..]);
    }

    public void Add(ReadOnlySpan<string> path, Parameter? p, Nn.Buffer? b)
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
