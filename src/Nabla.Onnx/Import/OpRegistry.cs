namespace Nabla.Onnx.Import;

/// <summary>
/// The ONNX ops Nabla imports, each registered by (op type, since_version) and resolved as
/// <c>onnx.defs.get_schema</c> does: the version with the largest since_version not above the
/// model's opset. Every builder reads and checks its node's attributes at load time, so an
/// unsupported op or attribute value is refused before any forward pass.
/// </summary>
internal static class OpRegistry
{
    public const int MinOpset = 1, MaxOpset = 17; // an op older than its first registered version is refused by node

    static readonly Dictionary<string, (int Since, Func<NodeInfo, OpRun> Build)[]> Ops = new(StringComparer.Ordinal)
    {
        ["Conv"] = [(1, ConvOps.Conv)],
        ["BatchNormalization"] = [(7, n => ConvOps.BatchNorm(n, 7)), (9, n => ConvOps.BatchNorm(n, 9)), (14, n => ConvOps.BatchNorm(n, 14)), (15, n => ConvOps.BatchNorm(n, 15))],
        ["MaxPool"] = [(1, n => PoolOps.Pool(n, max: true, 1)), (8, n => PoolOps.Pool(n, max: true, 8)), (10, n => PoolOps.Pool(n, max: true, 10)), (11, n => PoolOps.Pool(n, max: true, 11)), (12, n => PoolOps.Pool(n, max: true, 12))],
        ["AveragePool"] = [(1, n => PoolOps.Pool(n, max: false, 1)), (7, n => PoolOps.Pool(n, max: false, 7)), (10, n => PoolOps.Pool(n, max: false, 10)), (11, n => PoolOps.Pool(n, max: false, 11))],
        ["GlobalAveragePool"] = [(1, PoolOps.GlobalAveragePool)],
        ["Gemm"] = [(7, ConvOps.Gemm), (9, ConvOps.Gemm), (11, ConvOps.Gemm), (13, ConvOps.Gemm)],
        ["MatMul"] = [(1, ConvOps.MatMul), (9, ConvOps.MatMul), (13, ConvOps.MatMul)],
        ["Relu"] = [(6, n => ElementwiseOps.Unary(n, Tensor.Relu)), (13, n => ElementwiseOps.Unary(n, Tensor.Relu)), (14, n => ElementwiseOps.Unary(n, Tensor.Relu))],
        ["LeakyRelu"] = [(6, ElementwiseOps.LeakyRelu), (16, ElementwiseOps.LeakyRelu)],
        ["Sigmoid"] = [(6, n => ElementwiseOps.Unary(n, Tensor.Sigmoid)), (13, n => ElementwiseOps.Unary(n, Tensor.Sigmoid))],
        ["Tanh"] = [(6, n => ElementwiseOps.Unary(n, Tensor.Tanh)), (13, n => ElementwiseOps.Unary(n, Tensor.Tanh))],
        ["Elu"] = [(6, ElementwiseOps.Elu)],
        ["Softmax"] = [(1, n => ElementwiseOps.Softmax(n, log: false, 1)), (11, n => ElementwiseOps.Softmax(n, log: false, 11)), (13, n => ElementwiseOps.Softmax(n, log: false, 13))],
        ["LogSoftmax"] = [(1, n => ElementwiseOps.Softmax(n, log: true, 1)), (11, n => ElementwiseOps.Softmax(n, log: true, 11)), (13, n => ElementwiseOps.Softmax(n, log: true, 13))],
        ["Add"] = [(7, n => ElementwiseOps.Binary(n, '+')), (13, n => ElementwiseOps.Binary(n, '+')), (14, n => ElementwiseOps.Binary(n, '+'))],
        ["Sub"] = [(7, n => ElementwiseOps.Binary(n, '-')), (13, n => ElementwiseOps.Binary(n, '-')), (14, n => ElementwiseOps.Binary(n, '-'))],
        ["Mul"] = [(7, n => ElementwiseOps.Binary(n, '*')), (13, n => ElementwiseOps.Binary(n, '*')), (14, n => ElementwiseOps.Binary(n, '*'))],
        ["Div"] = [(7, n => ElementwiseOps.Binary(n, '/')), (13, n => ElementwiseOps.Binary(n, '/')), (14, n => ElementwiseOps.Binary(n, '/'))],
        ["Clip"] = [(6, n => ElementwiseOps.Clip(n, 6)), (11, n => ElementwiseOps.Clip(n, 11)), (12, n => ElementwiseOps.Clip(n, 11)), (13, n => ElementwiseOps.Clip(n, 11))],
        ["Dropout"] = [(7, n => ElementwiseOps.Dropout(n, 7)), (10, n => ElementwiseOps.Dropout(n, 10)), (12, n => ElementwiseOps.Dropout(n, 12)), (13, n => ElementwiseOps.Dropout(n, 12))],
        ["Identity"] = [(1, ShapeOps.Identity), (13, ShapeOps.Identity), (14, ShapeOps.Identity), (16, ShapeOps.Identity)],
        ["Flatten"] = [(1, ShapeOps.Flatten), (9, ShapeOps.Flatten), (11, ShapeOps.Flatten), (13, ShapeOps.Flatten)],
        ["Reshape"] = [(5, n => ShapeOps.Reshape(n, 5)), (13, n => ShapeOps.Reshape(n, 13)), (14, n => ShapeOps.Reshape(n, 14))],
        ["Transpose"] = [(1, ShapeOps.Transpose), (13, ShapeOps.Transpose)],
        ["Concat"] = [(4, ShapeOps.Concat), (11, ShapeOps.Concat), (13, ShapeOps.Concat)],
        ["Split"] = [(2, n => ShapeOps.Split(n, 2)), (11, n => ShapeOps.Split(n, 11)), (13, n => ShapeOps.Split(n, 13))],
        ["Squeeze"] = [(1, n => ShapeOps.Squeeze(n, 1)), (11, n => ShapeOps.Squeeze(n, 11)), (13, n => ShapeOps.Squeeze(n, 13))],
        ["Unsqueeze"] = [(1, n => ShapeOps.Unsqueeze(n, 1)), (11, n => ShapeOps.Unsqueeze(n, 11)), (13, n => ShapeOps.Unsqueeze(n, 13))],
        ["Shape"] = [(1, n => ShapeOps.Shape(n, 1)), (13, n => ShapeOps.Shape(n, 1)), (15, n => ShapeOps.Shape(n, 15))],
        ["Gather"] = [(1, ShapeOps.Gather), (11, ShapeOps.Gather), (13, ShapeOps.Gather)],
        ["Constant"] = [(1, ShapeOps.Constant), (9, ShapeOps.Constant), (11, ShapeOps.Constant), (12, ShapeOps.Constant), (13, ShapeOps.Constant)],
        ["Pad"] = [(2, n => ShapeOps.Pad(n, 2)), (11, n => ShapeOps.Pad(n, 11)), (13, n => ShapeOps.Pad(n, 11))],
        ["ReduceMean"] = [(1, ReduceMean), (11, ReduceMean), (13, ReduceMean)],
        ["ReduceMax"] = [(1, ReduceMax), (11, ReduceMax), (12, ReduceMax), (13, ReduceMax)],
        ["InstanceNormalization"] = [(6, NormOps.InstanceNorm)],
        ["LayerNormalization"] = [(17, NormOps.LayerNorm)],
        ["Erf"] = [(9, NormOps.Erf), (13, NormOps.Erf)],
        ["Softplus"] = [(1, NormOps.Softplus)],
        ["Greater"] = [(7, NormOps.Greater), (9, NormOps.Greater), (13, NormOps.Greater)],
        ["Where"] = [(9, NormOps.Where), (16, NormOps.Where)],
    };

    static OpRun ReduceMean(NodeInfo n) => ShapeOps.Reduce(n, (x, dims, keep) => x.Mean(dims, keep));

    static OpRun ReduceMax(NodeInfo n) => ShapeOps.Reduce(n, (x, dims, keep) => x.Amax(dims, keep));

    /// <summary>The supported op types, as errors list them.</summary>
    public static string Supported => string.Join(", ", Ops.Keys.Order(StringComparer.Ordinal));

    /// <summary>The op types with their versions, for docs.</summary>
    public static IEnumerable<(string Op, int[] Versions)> Table => Ops.Select(kv => (kv.Key, kv.Value.Select(v => v.Since).ToArray()));

    /// <summary>The inputs an op cannot do without, by version where it changed (attributes that became inputs).</summary>
    static int RequiredInputs(string op, int version) => op switch
    {
        "Conv" or "Gemm" or "MatMul" or "Add" or "Sub" or "Mul" or "Div" or "Gather" or "Greater" or "LayerNormalization" => 2,
        "Reshape" => 2,
        "Unsqueeze" => version >= 13 ? 2 : 1,
        "Pad" => version >= 11 ? 2 : 1,
        "BatchNormalization" => 5,
        "InstanceNormalization" or "Where" => 3,
        "Constant" => 0,
        _ => 1,
    };

    /// <summary>Builds the runner of <paramref name="node"/>, or refuses it with the op, node, opset and the supported set.</summary>
    public static OpRun Build(NodeInfo node, string domain)
    {
        if (domain is not ("" or "ai.onnx"))
            throw node.Unsupported($"domain '{domain}' is not supported; Nabla imports ONNX's default domain (ops: {Supported})");
        if (!Ops.TryGetValue(node.OpType, out var versions))
            throw node.Unsupported($"op {node.OpType} is not supported; supported ops: {Supported}");
        int best = -1;
        for (int i = 0; i < versions.Length; i++)
            if (versions[i].Since <= node.Opset && (best < 0 || versions[i].Since > versions[best].Since)) best = i;
        if (best < 0)
            throw node.Unsupported($"op {node.OpType} has no version before opset {versions.Min(v => v.Since)} in Nabla's importer");
        int since = versions[best].Since, required = RequiredInputs(node.OpType, since);
        for (int i = 0; i < required; i++)
            if (!node.HasInput(i)) throw node.Unsupported($"input {i} is missing; {node.OpType} needs {required} input{(required == 1 ? "" : "s")}");
        if (node.OpType == "Concat" && !Enumerable.Range(0, node.InputCount).Any(node.HasInput))
            throw node.Unsupported("no inputs; Concat needs at least one");
        if (node.Proto.Output.Count == 0 || node.Proto.Output[0].Length == 0) throw node.Unsupported("no output");
        return versions[best].Build(node);
    }
}
