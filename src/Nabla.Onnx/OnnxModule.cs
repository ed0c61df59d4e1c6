using Nabla.Nn;
using Nabla.Onnx.Import;

namespace Nabla.Onnx;

/// <summary>
/// An ONNX model as a trainable Nabla <see cref="Module"/>: its graph runs node by node with Nabla's
/// differentiable ops, so autograd, <c>Train()</c>/<c>Eval()</c> (batch-norm statistics, dropout),
/// optimizers, <c>StateDict()</c> and checkpoints work on it as on any module.
/// </summary>
/// <remarks>
/// <para>
/// Float initializers consumed as weights (Conv and Gemm weights and biases, BatchNormalization's
/// scale and bias, MatMul's constant operand) become <see cref="Parameter"/>s named as in the graph;
/// running means and variances become <see cref="Nn.Buffer"/>s. A name with dots (<c>layer1.0.conv1.weight</c>,
/// as PyTorch and Nabla export them) becomes the same state-dict key.
/// </para>
/// <para>
/// Ops are resolved by (op type, since_version) for the model's opset (up to 17), as
/// <c>onnx.defs.get_schema</c> does, and every node's attributes are checked at load time: an
/// unsupported op or attribute value is refused by <see cref="Load(string)"/> with an
/// <see cref="OnnxImportException"/> naming the op, node, opset and the supported set.
/// </para>
/// <para>
/// <see cref="Module.Forward(Tensor)"/> feeds the graph's one input and returns <see cref="Output"/>; any
/// intermediate value can be asked for by name with <see cref="Run(Tensor, string[])"/>, and <see cref="WithOutput"/>
/// cuts the graph there (sharing the weights), to put a new head on a pretrained network. The first
/// dimension of the input is taken as the batch: it may differ from the size the file declares.
/// </para>
/// </remarks>
public sealed class OnnxModule : Module, IInferencePreparable
{
    readonly LoadedGraph _graph;
    readonly Dictionary<string, Parameter> _allParameters; // of the whole graph, shared by every cut of it
    readonly Dictionary<string, Nn.Buffer> _allBuffers;
    readonly CompiledNode[] _nodes; // only the nodes the output needs, in order
    readonly Dictionary<string, int> _lastUse;

    OnnxModule(LoadedGraph graph, Dictionary<string, Parameter> parameters, Dictionary<string, Nn.Buffer> buffers, string output)
    {
        _graph = graph;
        Output = output;
        _allParameters = parameters;
        _allBuffers = buffers;
        _nodes = Needed(graph.Nodes, [output]);
        var used = _nodes.SelectMany(n => n.Inputs).Append(output).ToHashSet(StringComparer.Ordinal);
        // Placed in the graph's initializer order, so the state dict follows the file; the tree's
        // top level becomes this module's own weights and holders.
        var tree = new WeightHolder();
        foreach (var name in graph.Initializers.Keys.Where(used.Contains))
        {
            if (parameters.TryGetValue(name, out var p)) tree.Place(name, p, null);
            else if (buffers.TryGetValue(name, out var b)) tree.Place(name, null, b);
        }
        foreach (var (name, entry) in tree.Entries())
        {
            switch (entry)
            {
                case Parameter p: Register(name, p); break;
                case Nn.Buffer b: Register(name, b); break;
                default: Register(name, (Module)entry); break;
            }
        }
        _lastUse = LastUse(_nodes);
    }

    /// <summary>Loads an ONNX file. External data is read only from files inside the model's own folder.</summary>
    /// <exception cref="OnnxImportException">The file is not a model Nabla can import; the message says why.</exception>
    public static OnnxModule Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        byte[] bytes;
        try
        {
            // Bounded: a device that never ends is refused at protobuf's 2 GB limit instead of filling memory.
            bytes = Nabla.Data.BoundedFile.ReadAllBytes(path, int.MaxValue, "ONNX");
        }
        catch (Nabla.Data.DataFormatException e)
        {
            throw new OnnxImportException($"{e.Message} (protobuf's limit)", e);
        }
        return Create(GraphLoader.Load(bytes, path, Path.GetDirectoryName(Path.GetFullPath(path))));
    }

    /// <summary>Loads an ONNX model from its bytes (external data is refused).</summary>
    public static OnnxModule Load(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(GraphLoader.Load(model, "ONNX model", modelDir: null));
    }

    /// <summary>Loads a file whose inputs may be int64 too, for ONNX's backend tests (which feed shapes and indices as inputs).</summary>
    internal static OnnxModule LoadForBackendTest(string path) =>
        Create(GraphLoader.Load(File.ReadAllBytes(path), path, Path.GetDirectoryName(Path.GetFullPath(path)), intInputs: true));

    /// <summary>Runs on values of either kind (float tensors, int64 arrays): the backend tests' entry.</summary>
    internal Dictionary<string, OnnxValue> RunValues(Dictionary<string, OnnxValue> inputs, string[] outputs) =>
        Execute(inputs, outputs, Needed(_graph.Nodes, outputs));

    static OnnxModule Create(LoadedGraph graph)
    {
        var parameters = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        var buffers = new Dictionary<string, Nn.Buffer>(StringComparer.Ordinal);
        foreach (var (name, role) in graph.Roles)
        {
            if (role == InitializerRole.Parameter) parameters[name] = new Parameter(graph.Initializers[name].Float!);
            else if (role == InitializerRole.Buffer) buffers[name] = new Nn.Buffer(graph.Initializers[name].Float!);
        }
        var module = new OnnxModule(graph, parameters, buffers, graph.Outputs[0]);
        module.Eval(); // an ONNX file describes inference; Train() switches to fine-tuning
        return module;
    }

    /// <summary>The value <see cref="Module.Forward(Tensor)"/> returns: the graph's first output unless cut by <see cref="WithOutput"/>.</summary>
    public string Output { get; }

    /// <summary>The graph's inputs (initializers excluded) with their declared shapes (null where a dimension is free).</summary>
    public IReadOnlyList<(string Name, int?[] Shape)> Inputs => _graph.Inputs;

    /// <summary>The graph's declared outputs.</summary>
    public IReadOnlyList<string> GraphOutputs => _graph.Outputs;

    /// <summary>Every value a node computes, in execution order: the names <see cref="Run(Tensor, string[])"/> and <see cref="WithOutput"/> accept.</summary>
    public IReadOnlyList<string> ValueNames => [.. _graph.Nodes.SelectMany(n => n.Outputs).Where(o => o.Length > 0)];

    /// <summary>The op types of the nodes <see cref="Module.Forward(Tensor)"/> runs, in order.</summary>
    public IReadOnlyList<string> Ops => [.. _nodes.Select(n => n.OpType)];

    /// <summary>The model's default-domain opset.</summary>
    public int Opset => _graph.Opset;

    /// <summary>The file's IR version.</summary>
    public long IrVersion => _graph.IrVersion;

    /// <summary>The producer named in the file (e.g. <c>CNTK 2.6</c>, <c>Nabla 1.0.0</c>).</summary>
    public string Producer => _graph.Producer;

    /// <summary>The model's <c>metadata_props</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _graph.Metadata;

    /// <summary>
    /// Whether inputs may have other sizes after the channel dimension than the file declares (only
    /// the rank and the channels are then checked): a convolutional network cut before its fixed-size
    /// layers (<see cref="WithOutput"/>) runs at any image size its strides allow. Default false.
    /// </summary>
    public bool AnyImageSize { get; set; }

    /// <summary>
    /// When set, the momentum every BatchNormalization node updates its running statistics with in
    /// training mode, in PyTorch's sense (the new batch's weight: running = (1 − m) running + m batch),
    /// instead of the file's own. Fine-tuning on a new domain needs the running statistics to follow
    /// the new data: a file's momentum can be far slower than PyTorch's 0.1 (ML.NET's ResNet-18
    /// carries CNTK's 0.988, a weight of 0.012 per batch), which leaves evaluation-mode statistics
    /// that the trained weights never saw. Default null: the file's.
    /// </summary>
    public double? BatchNormMomentum
    {
        get => _batchNormMomentum;
        set
        {
            if (value is double m && !(m > 0 && m <= 1))
                throw new ArgumentOutOfRangeException(nameof(value), m, "OnnxModule.BatchNormMomentum: expected a momentum in (0, 1]");
            _batchNormMomentum = value;
        }
    }

    double? _batchNormMomentum;

    /// <summary>
    /// A module computing the value <paramref name="valueName"/> instead (a feature layer of a
    /// pretrained network), with only the nodes it needs. It shares this module's parameters and buffers.
    /// </summary>
    public OnnxModule WithOutput(string valueName)
    {
        CheckValue(valueName);
        var cut = new OnnxModule(_graph, _allParameters, _allBuffers, valueName) { AnyImageSize = AnyImageSize, BatchNormMomentum = BatchNormMomentum };
        cut.Train(IsTraining);
        return cut;
    }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        if (_graph.Inputs.Length != 1)
            throw new InvalidOperationException($"OnnxModule: the graph has {_graph.Inputs.Length} inputs ({string.Join(", ", _graph.Inputs.Select(i => i.Name))}); call Run with each by name");
        return Execute(new Dictionary<string, OnnxValue>(StringComparer.Ordinal) { [_graph.Inputs[0].Name] = OnnxValue.Of(input) }, [Output], _nodes)[Output].AsTensor();
    }

    /// <summary>
    /// Runs the graph on named inputs and returns the named values (graph outputs or any
    /// intermediate value), recording autograd as <see cref="Module.Forward(Tensor)"/> does.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs, params string[] outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Length == 0) outputs = [Output];
        foreach (var o in outputs) CheckValue(o);
        foreach (var (name, _) in _graph.Inputs)
            if (!inputs.ContainsKey(name)) throw new ArgumentException($"OnnxModule.Run: input '{name}' is missing", nameof(inputs));
        var values = inputs.ToDictionary(kv => kv.Key, kv => OnnxValue.Of(kv.Value), StringComparer.Ordinal);
        return Execute(values, outputs, Needed(_graph.Nodes, outputs)).ToDictionary(kv => kv.Key, kv => kv.Value.AsTensor(), StringComparer.Ordinal);
    }

    /// <summary>Runs on one input and returns the named intermediate or output values.</summary>
    public IReadOnlyDictionary<string, Tensor> Run(Tensor input, params string[] outputs)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_graph.Inputs.Length != 1)
            throw new InvalidOperationException($"OnnxModule: the graph has {_graph.Inputs.Length} inputs; pass them by name");
        return Run(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_graph.Inputs[0].Name] = input }, outputs);
    }

    /// <summary>
    /// The graph prepared for inference (through <see cref="Module.ForInference"/>): each Conv followed
    /// only by a BatchNormalization is one convolution with the normalization folded into its weights,
    /// Relus are fused into the convolution or Add before them, and the weights are re-laid once. The
    /// weights are read now: prepare again after changing them.
    /// </summary>
    (Func<Tensor, Tensor> Run, IReadOnlyList<string> Plan) IInferencePreparable.PrepareForInference(int[] sampleShape)
    {
        if (_graph.Inputs.Length != 1)
            throw new InvalidOperationException($"OnnxModule: the graph has {_graph.Inputs.Length} inputs; ForInference prepares single-input graphs");
        var (nodes, plan) = InferenceFolding.Fold(_nodes, [Output], Constant);
        string input = _graph.Inputs[0].Name;
        return (x => Execute(new Dictionary<string, OnnxValue>(StringComparer.Ordinal) { [input] = OnnxValue.Of(x) }, [Output], nodes, training: false)[Output].AsTensor(), plan);
    }

    /// <summary>The current value of an initializer (a weight, a statistic or a constant), or null for a computed value.</summary>
    Tensor? Constant(string name) =>
        _allParameters.TryGetValue(name, out var p) ? p.Data
        : _allBuffers.TryGetValue(name, out var b) ? b.Data
        : _graph.Initializers.TryGetValue(name, out var c) && c.Float is { } f ? f : null;

    void CheckValue(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_graph.Nodes.Any(n => n.Outputs.Contains(name)) && !_graph.Inputs.Any(i => i.Name == name) && !_graph.Initializers.ContainsKey(name))
        {
            var close = ValueNames.Where(v => v.Contains(name, StringComparison.OrdinalIgnoreCase)).Take(5).ToList();
            throw new ArgumentException($"OnnxModule: the graph has no value '{name}'{(close.Count > 0 ? $" (did you mean {string.Join(", ", close)}?)" : "")}", nameof(name));
        }
    }

    Dictionary<string, OnnxValue> Execute(Dictionary<string, OnnxValue> inputs, string[] outputs, CompiledNode[] nodes, bool? training = null)
    {
        var env = new Dictionary<string, OnnxValue>(StringComparer.Ordinal);
        foreach (var (name, declared) in _graph.Inputs)
        {
            if (!inputs.TryGetValue(name, out var x)) continue;
            CheckInput(name, declared, x.Shape, AnyImageSize);
            env[name] = x;
        }
        var keep = outputs.ToHashSet(StringComparer.Ordinal);
        var context = new OpContext { Training = training ?? IsTraining, BatchNormMomentum = BatchNormMomentum };
        var lastUse = ReferenceEquals(nodes, _nodes) ? _lastUse : LastUse(nodes);
        for (int i = 0; i < nodes.Length; i++)
        {
            var node = nodes[i];
            var args = new OnnxValue?[node.Inputs.Length];
            for (int j = 0; j < args.Length; j++)
                args[j] = node.Inputs[j].Length == 0 ? null : Value(env, node.Inputs[j]);
            OnnxValue[] results;
            try
            {
                long t0 = OpProfiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                results = node.Run(context, args);
                if (t0 != 0) OpProfiler.Add("onnx." + node.Display[(node.Display.IndexOf(' ', StringComparison.Ordinal) + 1)..], t0);
            }
            catch (ArgumentException e)
            {
                throw new OnnxImportException($"{node.Display}: {e.Message}", e);
            }
            for (int j = 0; j < node.Outputs.Length && j < results.Length; j++)
                if (node.Outputs[j].Length > 0) env[node.Outputs[j]] = results[j];
            // Drop what no later node reads, so large activations can be collected during inference.
            foreach (var input in node.Inputs)
                if (input.Length > 0 && lastUse.TryGetValue(input, out int last) && last == i && !keep.Contains(input)) env.Remove(input);
        }
        return outputs.ToDictionary(o => o, o => Value(env, o), StringComparer.Ordinal);
    }

    OnnxValue Value(Dictionary<string, OnnxValue> env, string name)
    {
        if (env.TryGetValue(name, out var v)) return v;
        if (_allParameters.TryGetValue(name, out var p)) return OnnxValue.Of(p.Data);
        if (_allBuffers.TryGetValue(name, out var b)) return OnnxValue.Of(b.Data);
        if (_graph.Initializers.TryGetValue(name, out var c)) return c;
        throw new OnnxImportException($"OnnxModule: value '{name}' was not computed (input missing?)");
    }

    static void CheckInput(string name, int?[] declared, int[] shape, bool anyImageSize)
    {
        int checkedDims = anyImageSize ? Math.Min(2, shape.Length) : shape.Length;
        bool fits = declared.Length == 0 || (shape.Length == declared.Length && Enumerable.Range(1, checkedDims - 1).All(i => declared[i] is not int d || d == shape[i]));
        if (!fits)
            throw new ShapeException("OnnxModule", $"input '{name}' of shape [{string.Join(", ", declared.Select((d, i) => i == 0 ? "N" : d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"))}]", ShapeException.Str(shape));
    }

    static Dictionary<string, int> LastUse(CompiledNode[] nodes)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Length; i++)
            foreach (var input in nodes[i].Inputs) last[input] = i;
        return last;
    }

    /// <summary>The nodes that <paramref name="outputs"/> depend on, in execution order.</summary>
    static CompiledNode[] Needed(CompiledNode[] nodes, IEnumerable<string> outputs)
    {
        var needed = outputs.ToHashSet(StringComparer.Ordinal);
        var keep = new bool[nodes.Length];
        for (int i = nodes.Length - 1; i >= 0; i--)
        {
            if (!nodes[i].Outputs.Any(needed.Contains)) continue;
            keep[i] = true;
            foreach (var input in nodes[i].Inputs) needed.Add(input);
        }
        return [.. nodes.Where((_, i) => keep[i])];
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"opset={Opset}, nodes={_nodes.Length}, inputs=[{string.Join(", ", _graph.Inputs.Select(i => i.Name))}], output={Output}";
}
