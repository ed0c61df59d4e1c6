using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Nabla.Onnx.Export;

/// <summary>
/// Appends nodes and initializers to an ONNX graph, giving every node and value a unique name
/// derived from the module path that produced it (<c>/features.0/Conv</c>,
/// <c>/features.0/Conv_output</c>), as PyTorch's exporter names them.
/// </summary>
internal sealed class GraphBuilder
{
    readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new() { Name = "nabla" };

    /// <summary>How many nodes of each op type the graph holds.</summary>
    public SortedDictionary<string, int> OpCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds one node with one output and returns the output's name.</summary>
    public string Node(string op, string path, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string name = Unique($"/{path}/{op}");
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(Unique(name + "_output"));
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        OpCounts[op] = OpCounts.GetValueOrDefault(op) + 1;
        return node.Output[0];
    }

    /// <summary>Adds a float initializer (a weight, a statistic or a constant) under <paramref name="name"/>.</summary>
    public string Initializer(string name, ReadOnlySpan<float> values, ReadOnlySpan<int> dims)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in dims) t.Dims.Add(d);
        // Raw little-endian bytes, which every ONNX reader accepts and which keep the file small.
        t.RawData = BitConverter.IsLittleEndian
            ? ByteString.CopyFrom(MemoryMarshal.AsBytes(values))
            : throw new PlatformNotSupportedException("ONNX export writes little-endian raw data");
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>A float constant of any shape; a scalar for no dims.</summary>
    public string Constant(string name, float value) => Initializer(name, [value], []);

    /// <summary>Adds an int64 initializer (a shape or a list of axes).</summary>
    public string Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Renames a value everywhere it is produced or consumed.</summary>
    public void Rename(string from, string to)
    {
        foreach (var node in Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
        }
        _names.Add(to);
    }

    /// <summary>Whether a node produces <paramref name="value"/> (rather than it being the graph input or an initializer).</summary>
    public bool IsNodeOutput(string value) => Graph.Node.Any(n => n.Output.Contains(value));

    /// <summary>Reserves a name (the graph's input) so no node or initializer takes it.</summary>
    public void Reserve(string name) => _names.Add(name);

    string Unique(string name)
    {
        if (_names.Add(name)) return name;
        for (int i = 1; ; i++)
            if (_names.Add($"{name}_{i}")) return $"{name}_{i}";
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, double value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
