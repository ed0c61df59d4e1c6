using Onnx;
using AttrType = Onnx.AttributeProto.Types.AttributeType;

namespace Nabla.Onnx.Import;

/// <summary>Runs one node: its inputs (null where an optional input is absent) in, its outputs out.</summary>
internal delegate OnnxValue[] OpRun(OpContext context, OnnxValue?[] inputs);

/// <summary>What a running node may need from the module: the mode and the random stream.</summary>
internal sealed class OpContext
{
    public bool Training { get; init; }

    public Generator? Generator { get; init; }

    /// <summary>When set, every BatchNormalization's momentum in PyTorch's sense (the new batch's weight), instead of the file's.</summary>
    public double? BatchNormMomentum { get; init; }
}

/// <summary>
/// A node as an op builder sees it at load time: its attributes, read with ONNX's defaults and
/// checked, and the values of inputs that are constants (initializers or Constant nodes), which
/// ops whose attributes became inputs (Reshape's shape, Split's sizes, Pad's pads) need.
/// </summary>
internal sealed class NodeInfo(NodeProto node, int opset, Func<string, OnnxValue?> constant, Func<string, bool> isRead)
{
    readonly Dictionary<string, AttributeProto> _attributes = node.Attribute
        .GroupBy(a => a.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);

    public NodeProto Proto => node;

    public string OpType => node.OpType;

    public int Opset => opset;

    /// <summary>The node as errors name it: <c>Conv node 'conv1' (opset 8)</c>.</summary>
    public string Display => $"{node.OpType} node '{(node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault() ?? "?")}' (opset {opset})";

    public int InputCount => node.Input.Count;

    public bool HasInput(int i) => i < node.Input.Count && node.Input[i].Length > 0;

    public int OutputCount => node.Output.Count(o => o.Length > 0);

    /// <summary>Whether a node or the graph's outputs read output <paramref name="i"/> (optional outputs nothing reads are harmless).</summary>
    public bool OutputRead(int i) => i < node.Output.Count && node.Output[i].Length > 0 && isRead(node.Output[i]);

    /// <summary>The value of input <paramref name="i"/> when it is a constant, else null.</summary>
    public OnnxValue? ConstantInput(int i) => HasInput(i) ? constant(node.Input[i]) : null;

    /// <summary>Refuses attributes the op does not know (a newer or foreign variant of the op).</summary>
    public void Allow(params string[] names)
    {
        foreach (var name in _attributes.Keys)
            if (Array.IndexOf(names, name) < 0)
                throw Unsupported($"attribute '{name}' is not supported (supported: {(names.Length == 0 ? "none" : string.Join(", ", names))})");
    }

    public bool Has(string name) => _attributes.ContainsKey(name);

    public long Int(string name, long fallback) => _attributes.TryGetValue(name, out var a) ? Expect(a, AttrType.Int).I : fallback;

    public float Float(string name, float fallback) => _attributes.TryGetValue(name, out var a) ? Expect(a, AttrType.Float).F : fallback;

    public string String(string name, string fallback) =>
        _attributes.TryGetValue(name, out var a) ? Expect(a, AttrType.String).S.ToStringUtf8() : fallback;

    public long[]? Ints(string name) => _attributes.TryGetValue(name, out var a) ? [.. Expect(a, AttrType.Ints).Ints] : null;

    public float[]? Floats(string name) => _attributes.TryGetValue(name, out var a) ? [.. Expect(a, AttrType.Floats).Floats] : null;

    public TensorProto? TensorAttr(string name) => _attributes.TryGetValue(name, out var a) ? Expect(a, AttrType.Tensor).T : null;

    /// <summary>An attribute that must be one of <paramref name="allowed"/>.</summary>
    public long IntIn(string name, long fallback, params long[] allowed)
    {
        long v = Int(name, fallback);
        if (Array.IndexOf(allowed, v) < 0) throw Unsupported($"{name} = {v} is not supported (supported: {string.Join(", ", allowed)})");
        return v;
    }

    public OnnxImportException Unsupported(string what) => new($"{Display}: {what}");

    AttributeProto Expect(AttributeProto a, AttrType type)
    {
        // Files from old writers leave the type unset; the field that is filled tells.
        if (a.Type != type && a.Type != AttrType.Undefined)
            throw Unsupported($"attribute '{a.Name}' should be {type.ToString().ToUpperInvariant()}; it is {a.Type.ToString().ToUpperInvariant()}");
        return a;
    }
}
