using Google.Protobuf;
using Onnx;

namespace Nabla.Onnx.Import;

/// <summary>One node ready to run: its runner and the names it reads and writes.</summary>
/// <param name="Display">The node's name and type, for messages.</param>
/// <param name="OpType">The ONNX operator.</param>
/// <param name="Inputs">The values it reads ("" for an absent optional input).</param>
/// <param name="Outputs">The values it writes.</param>
/// <param name="Run">Its computation.</param>
/// <param name="Info">The node's attributes, for passes that rewrite the graph (inference folding); null outside the default domain.</param>
internal sealed record CompiledNode(string Display, string OpType, string[] Inputs, string[] Outputs, OpRun Run, NodeInfo? Info = null);

/// <summary>What an initializer is to the module: a trainable weight, a statistic, or a constant.</summary>
internal enum InitializerRole { Constant, Parameter, Buffer }

/// <summary>A parsed, checked, topologically ordered graph, with every node's runner built.</summary>
internal sealed class LoadedGraph
{
    public required CompiledNode[] Nodes { get; init; }

    public required Dictionary<string, OnnxValue> Initializers { get; init; }

    public required Dictionary<string, InitializerRole> Roles { get; init; }

    public required (string Name, int?[] Shape)[] Inputs { get; init; }

    public required string[] Outputs { get; init; }

    public required int Opset { get; init; }

    public required long IrVersion { get; init; }

    public required Dictionary<string, string> Metadata { get; init; }

    public required string Producer { get; init; }
}

/// <summary>
/// Reads an ONNX file into a <see cref="LoadedGraph"/>, refusing, with one message each, garbage
/// bytes, unsupported opsets, ops and attribute values, undefined tensors, values produced twice,
/// cycles, and initializers whose data does not match their shape.
/// </summary>
internal static class GraphLoader
{
    /// <param name="bytes">The file's content.</param>
    /// <param name="what">How errors name the model (its path).</param>
    /// <param name="modelDir">The folder external data may be read from; null refuses external data.</param>
    /// <param name="intInputs">Accept int64/int32/bool graph inputs too (ONNX's backend tests feed shapes, indices and masks that way).</param>
    public static LoadedGraph Load(byte[] bytes, string what, string? modelDir, bool intInputs = false)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxImportException($"{what}: not an ONNX model (the protobuf does not parse: {e.Message})", e);
        }
        if (model.IrVersion <= 0 || model.Graph is null)
            throw new OnnxImportException($"{what}: not an ONNX model ({(model.IrVersion <= 0 ? "no IR version" : "no graph")})");
        var opsets = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (opsets.Count == 0) throw new OnnxImportException($"{what}: the model imports no opset of ONNX's default domain");
        int opset = (int)opsets.Max(o => o.Version);
        if (opset < OpRegistry.MinOpset || opset > OpRegistry.MaxOpset)
            throw new OnnxImportException($"{what}: opset {opset} is not supported; Nabla imports opsets up to {OpRegistry.MaxOpset}");
        var domains = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in model.OpsetImport)
            if (!domains.TryAdd(o.Domain, o.Version) && domains[o.Domain] != o.Version)
                throw new OnnxImportException($"{what}: the model imports domain '{o.Domain}' twice, at opsets {domains[o.Domain]} and {o.Version}");
        var graph = model.Graph;

        var initializers = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            if (t.Name.Length == 0) throw new OnnxImportException($"{what}: an initializer has no name");
            if (initializers.ContainsKey(t.Name)) throw new OnnxImportException($"{what}: initializer '{t.Name}' is defined twice");
            initializers[t.Name] = TensorReader.Read(t, $"{what}: initializer '{t.Name}'", modelDir);
        }
        if (graph.SparseInitializer.Count > 0) throw new OnnxImportException($"{what}: sparse initializers are not supported");

        var inputs = new List<(string, int?[])>();
        foreach (var input in graph.Input)
        {
            if (initializers.ContainsKey(input.Name)) continue; // IR < 4 lists initializers as inputs too
            var tensorType = input.Type?.TensorType
                ?? throw new OnnxImportException($"{what}: input '{input.Name}' is not a tensor; Nabla imports tensor inputs");
            bool isInt = tensorType.ElemType is (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32 or (int)TensorProto.Types.DataType.Bool;
            if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float && !(intInputs && isInt))
                throw new OnnxImportException($"{what}: input '{input.Name}' has element type {((TensorProto.Types.DataType)tensorType.ElemType).ToString().ToUpperInvariant()}; Nabla imports float32 inputs");
            int?[] shape = tensorType.Shape is null ? [] : [.. tensorType.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? (int?)d.DimValue : null)];
            inputs.Add((input.Name, shape));
        }

        // Which values exist, and which node makes each.
        var defined = new HashSet<string>(initializers.Keys, StringComparer.Ordinal);
        foreach (var (name, _) in inputs) defined.Add(name);
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
            foreach (var o in graph.Node[i].Output.Where(o => o.Length > 0))
            {
                if (defined.Contains(o) || !producer.TryAdd(o, i))
                    throw new OnnxImportException($"{what}: value '{o}' is defined twice (by {Name(graph.Node[i])} and before)");
            }
        for (int i = 0; i < graph.Node.Count; i++)
            foreach (var input in graph.Node[i].Input.Where(v => v.Length > 0))
                if (!defined.Contains(input) && !producer.ContainsKey(input))
                    throw new OnnxImportException($"{what}: {Name(graph.Node[i])} reads '{input}', which no node, graph input or initializer defines");
        foreach (var output in graph.Output)
            if (!defined.Contains(output.Name) && !producer.ContainsKey(output.Name))
                throw new OnnxImportException($"{what}: graph output '{output.Name}' is not defined by any node, input or initializer");
        if (graph.Output.Count == 0) throw new OnnxImportException($"{what}: the graph has no output");

        var order = TopologicalOrder(graph, producer, what);

        // Constants known at load time: initializers and Constant nodes (needed by ops whose attributes became inputs).
        var constants = new Dictionary<string, OnnxValue>(initializers, StringComparer.Ordinal);
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal);
        var nodes = new List<CompiledNode>();
        foreach (int i in order)
        {
            var proto = graph.Node[i];
            int version = (int)(domains.TryGetValue(proto.Domain, out long v) ? v : opset);
            var info = new NodeInfo(proto, proto.Domain is "" or "ai.onnx" ? opset : version, name => constants.GetValueOrDefault(name), read.Contains);
            var run = OpRegistry.Build(info, proto.Domain);
            if (proto.OpType == "Constant" && proto.Domain is "" or "ai.onnx")
                constants[proto.Output[0]] = run(new OpContext(), [])[0];
            nodes.Add(new CompiledNode(info.Display, proto.OpType, [.. proto.Input], [.. proto.Output], run, proto.Domain is "" or "ai.onnx" ? info : null));
        }

        return new LoadedGraph
        {
            Nodes = [.. nodes],
            Initializers = initializers,
            Roles = Roles(nodes, initializers),
            Inputs = [.. inputs],
            Outputs = [.. graph.Output.Select(o => o.Name)],
            Opset = opset,
            IrVersion = model.IrVersion,
            Metadata = model.MetadataProps.GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
            Producer = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
        };
    }

    static string Name(NodeProto n) => $"{n.OpType} node '{(n.Name.Length > 0 ? n.Name : n.Output.FirstOrDefault() ?? "?")}'";

    /// <summary>Kahn's algorithm, keeping the file's order among ready nodes; what is left over lies on a cycle.</summary>
    static List<int> TopologicalOrder(GraphProto graph, Dictionary<string, int> producer, string what)
    {
        int n = graph.Node.Count;
        var pending = new int[n];
        var consumers = new List<int>[n];
        for (int i = 0; i < n; i++) consumers[i] = [];
        for (int i = 0; i < n; i++)
            foreach (var input in graph.Node[i].Input.Where(v => v.Length > 0).Distinct(StringComparer.Ordinal))
                if (producer.TryGetValue(input, out int p))
                {
                    pending[i]++;
                    consumers[p].Add(i);
                }
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < n; i++) if (pending[i] == 0) ready.Enqueue(i, i);
        var order = new List<int>(n);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(i);
            foreach (int c in consumers[i])
                if (--pending[c] == 0) ready.Enqueue(c, c);
        }
        if (order.Count < n)
        {
            var stuck = Enumerable.Range(0, n).Where(i => pending[i] > 0).Take(5).Select(i => Name(graph.Node[i]));
            throw new OnnxImportException($"{what}: the graph has a cycle through {string.Join(", ", stuck)}");
        }
        return order;
    }

    /// <summary>
    /// Float initializers consumed as weights are parameters: the weights and biases of Conv and Gemm,
    /// the scales and shifts of BatchNormalization, InstanceNormalization and LayerNormalization,
    /// either operand of MatMul when it is constant, and any constant of rank 1 or more multiplied or
    /// added to the data (a bias, a learned scale), seen through Transpose, Reshape, Unsqueeze,
    /// Squeeze and Identity (PyTorch writes Linear on 3-D inputs as MatMul by a transposed weight;
    /// GroupNorm's affine is reshaped). BatchNormalization's running mean and variance are buffers.
    /// Everything else stays a constant: a mean image that is subtracted, a divisor, a scalar.
    /// </summary>
    static Dictionary<string, InitializerRole> Roles(List<CompiledNode> nodes, Dictionary<string, OnnxValue> initializers)
    {
        var roles = initializers.ToDictionary(kv => kv.Key, _ => InitializerRole.Constant, StringComparer.Ordinal);
        // Values that are an initializer moved around: value -> the initializer.
        var source = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in nodes)
            if (n.OpType is "Transpose" or "Reshape" or "Unsqueeze" or "Squeeze" or "Identity" && n.Inputs.Length > 0 && n.Outputs.Length > 0
                && (initializers.ContainsKey(n.Inputs[0]) || source.ContainsKey(n.Inputs[0])))
                source[n.Outputs[0]] = source.GetValueOrDefault(n.Inputs[0], n.Inputs[0]);
        void Mark(CompiledNode n, int i, InitializerRole role, bool vectorsOnly = false)
        {
            if (i >= n.Inputs.Length) return;
            string name = source.GetValueOrDefault(n.Inputs[i], n.Inputs[i]);
            if (!initializers.TryGetValue(name, out var v) || !v.IsFloat || roles[name] == InitializerRole.Parameter) return;
            if (vectorsOnly && v.Rank == 0) return;
            roles[name] = role;
        }
        foreach (var n in nodes)
        {
            switch (n.OpType)
            {
                case "Conv" or "Gemm" or "InstanceNormalization" or "LayerNormalization":
                    Mark(n, 1, InitializerRole.Parameter);
                    Mark(n, 2, InitializerRole.Parameter);
                    break;
                case "BatchNormalization":
                    Mark(n, 1, InitializerRole.Parameter);
                    Mark(n, 2, InitializerRole.Parameter);
                    Mark(n, 3, InitializerRole.Buffer);
                    Mark(n, 4, InitializerRole.Buffer);
                    break;
                case "MatMul":
                    Mark(n, 0, InitializerRole.Parameter);
                    Mark(n, 1, InitializerRole.Parameter);
                    break;
                case "Add" or "Mul":
                    Mark(n, 0, InitializerRole.Parameter, vectorsOnly: true);
                    Mark(n, 1, InitializerRole.Parameter, vectorsOnly: true);
                    break;
            }
        }
        return roles;
    }
}
