using Nabla.Nn;

namespace Nabla.Onnx.Import;

/// <summary>
/// The graph rewritten for inference (<see cref="OnnxModule"/>'s <c>ForInference</c>): each Conv whose
/// only reader is a BatchNormalization with constant statistics becomes one convolution with the
/// normalization folded into its weights, a Relu that is the only reader of a convolution's result
/// is applied as the convolution writes it, a convolution whose only reader is an Add followed only by a
/// Relu (a residual block's end) adds the other input and clamps as it writes (run where the Add was), and
/// any other Add whose only reader is a Relu adds and clamps in one pass. Every other node runs as loaded.
/// </summary>
internal static class InferenceFolding
{
    public static (CompiledNode[] Nodes, List<string> Plan) Fold(CompiledNode[] nodes, IReadOnlyCollection<string> graphOutputs, Func<string, Tensor?> constant)
    {
        var readers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < nodes.Length; i++)
            foreach (var input in nodes[i].Inputs.Where(v => v.Length > 0))
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(i);
        // The node that alone reads value v (and v is not a graph output), or -1.
        int OnlyReader(string v) =>
            !graphOutputs.Contains(v) && readers.TryGetValue(v, out var r) && r.Count == 1 ? r[0] : -1;

        var skip = new bool[nodes.Length];
        // A Conv fused with the Add + Relu after it runs where the Add did, once the Add's other input exists.
        var deferred = new Dictionary<int, CompiledNode>();
        var result = new List<CompiledNode>();
        var plan = new List<string>();
        int folded = 0, fusedRelu = 0, addRelu = 0, convAddRelu = 0, convs = 0;
        for (int i = 0; i < nodes.Length; i++)
        {
            if (skip[i])
            {
                if (deferred.Remove(i, out var fused)) result.Add(fused);
                continue;
            }
            var node = nodes[i];
            if (node.OpType == "Conv" && node.Info is { } info && ConvWeights(node, constant) is var (w, b))
            {
                convs++;
                string output = node.Outputs[0];
                double[]? scale = null, shift = null;
                int bnAt = OnlyReader(output);
                if (bnAt >= 0 && nodes[bnAt] is { OpType: "BatchNormalization", Info: { } bnInfo } bn && bn.Inputs[0] == output
                    && BatchNormAffine(bn, bnInfo, constant, w.Shape[0]) is var (sc, sh))
                {
                    (scale, shift) = (sc, sh);
                    skip[bnAt] = true;
                    output = bn.Outputs[0];
                    folded++;
                }
                bool relu = false;
                int reluAt = OnlyReader(output);
                if (reluAt >= 0 && nodes[reluAt].OpType == "Relu" && nodes[reluAt].Inputs[0] == output)
                {
                    skip[reluAt] = true;
                    output = nodes[reluAt].Outputs[0];
                    relu = true;
                    fusedRelu++;
                }
                int addAt = relu ? -1 : OnlyReader(output);
                if (addAt > i && !skip[addAt] && nodes[addAt] is { OpType: "Add" } add && add.Inputs.Length == 2 && add.Inputs.Contains(output) && add.Inputs[0] != add.Inputs[1]
                    && OnlyReader(add.Outputs[0]) is int after and >= 0 && nodes[after].OpType == "Relu" && nodes[after].Inputs[0] == add.Outputs[0])
                {
                    // Conv (+ BatchNormalization) → Add → Relu: the add and ReLU as the convolution writes its output.
                    skip[addAt] = skip[after] = true;
                    convAddRelu++;
                    var conv = new FoldedGraphConv(info, w, b, scale, shift, relu: false);
                    string other = add.Inputs[0] == output ? add.Inputs[1] : add.Inputs[0];
                    var addRun = add.Run;
                    deferred[addAt] = node with
                    {
                        Display = node.Display + (scale is null ? "" : " + BatchNormalization") + " + " + add.Display + " + Relu",
                        Inputs = [node.Inputs[0], other], Outputs = [nodes[after].Outputs[0]],
                        Run = (ctx, args) =>
                        {
                            var x = args[0]!.AsTensor();
                            var residual = args[1]!.AsTensor();
                            if (conv.RunAddRelu(x, residual) is { } y) return [OnnxValue.Of(y)];
                            // The residual broadcasts: the Add as loaded, then the Relu.
                            var h = OnnxValue.Of(conv.Run(x));
                            var sum = addRun(ctx, add.Inputs[0] == output ? [h, args[1]] : [args[1], h])[0];
                            return [OnnxValue.Of(Tensor.Relu(sum.AsTensor()))];
                        },
                    };
                    continue;
                }
                if (scale is not null || relu || node.Inputs.Length > 1)
                {
                    var conv = new FoldedGraphConv(info, w, b, scale, shift, relu);
                    result.Add(node with { Display = node.Display + (scale is null ? "" : " + BatchNormalization") + (relu ? " + Relu" : ""),
                        Inputs = [node.Inputs[0]], Outputs = [output], Run = (_, args) => [OnnxValue.Of(conv.Run(args[0]!.AsTensor()))] });
                    continue;
                }
            }
            if (node.OpType == "Add" && OnlyReader(node.Outputs[0]) is int r and >= 0 && nodes[r].OpType == "Relu" && nodes[r].Inputs[0] == node.Outputs[0])
            {
                skip[r] = true;
                addRelu++;
                var original = node.Run;
                result.Add(node with
                {
                    Display = node.Display + " + Relu", Outputs = [nodes[r].Outputs[0]],
                    Run = (ctx, args) =>
                    {
                        var a = args[0]!.AsTensor();
                        var c = args[1]!.AsTensor();
                        if (!a.SameShape(c)) return [OnnxValue.Of(Tensor.Relu(original(ctx, args)[0].AsTensor()))];
                        var y = new Tensor((int[])a.Dims.Clone(), clear: false);
                        Kernels.Activation.AddRelu(a.Data, c.Data, y.Span);
                        return [OnnxValue.Of(y)];
                    },
                });
                continue;
            }
            result.Add(node);
        }
        plan.Add($"{convs} Conv: {folded} with their BatchNormalization folded in, {fusedRelu} with their Relu fused, {convAddRelu} with the Add + Relu after them; " +
                 $"{addRelu} other Add + Relu fused; " +
                 $"{result.Count} nodes run instead of {nodes.Length}");
        return ([.. result], plan);
    }

    /// <summary>A Conv's constant 2-D weight and bias, or null (a computed weight, or a 1-D convolution).</summary>
    static (Tensor W, Tensor? B)? ConvWeights(CompiledNode node, Func<string, Tensor?> constant)
    {
        var w = constant(node.Inputs[1]);
        if (w is null || w.Rank != 4) return null;
        Tensor? b = null;
        if (node.Inputs.Length > 2 && node.Inputs[2].Length > 0 && (b = constant(node.Inputs[2])) is null) return null;
        return (w, b);
    }

    /// <summary>The per-channel scale and shift of an inference-mode BatchNormalization with constant inputs, or null.</summary>
    static (double[] Scale, double[] Shift)? BatchNormAffine(CompiledNode bn, NodeInfo info, Func<string, Tensor?> constant, int channels)
    {
        if (bn.Inputs.Length != 5 || bn.Outputs.Skip(1).Any(o => o.Length > 0)) return null; // no running or saved statistics read
        var values = bn.Inputs.Skip(1).Select(constant).ToArray();
        if (values.Any(v => v is null || v.Numel != channels)) return null;
        return InferencePlanner.Affine(values[0]!.ToArray(), values[1]!.ToArray(), values[2]!.ToArray(), values[3]!.ToArray(), info.Float("epsilon", 1e-5f));
    }

    /// <summary>
    /// A graph Conv with folded weights: its window resolved per input size (auto_pad); unequal pads before
    /// and after read as padding by the direct kernels where they run, else applied by padding the input
    /// first, as the loaded node does.
    /// </summary>
    sealed class FoldedGraphConv(NodeInfo info, Tensor w, Tensor? b, double[]? scale, double[]? shift, bool relu)
    {
        readonly PoolGeometry _geometry = PoolGeometry.Read(info, info.Ints("kernel_shape"), allowCeil: false);
        readonly int _group = (int)info.Int("group", 1);
        readonly float[] _w = w.ToArray();
        readonly float[]? _b = b?.ToArray();
        readonly int[] _shape = [.. w.Shape];
        readonly Dictionary<Window, FoldedConv> _byWindow = [];

        public Tensor Run(Tensor x) => Apply(x, null)!;

        /// <summary>ReLU(conv(x) + residual), or null when the residual is not of the output's shape.</summary>
        public Tensor? RunAddRelu(Tensor x, Tensor residual) => Apply(x, residual);

        Tensor? Apply(Tensor x, Tensor? residual)
        {
            var window = _geometry.Resolve(info, x, (_shape[2], _shape[3]), oneD: false, ceil: false);
            if (residual is not null && (residual.Rank != 4 || residual.Shape[0] != x.Shape[0] || residual.Shape[1] != _shape[0]
                || (residual.Shape[2], residual.Shape[3]) != window.Output))
                return null;
            if (window.PadBegin != window.PadEnd)
            {
                // The direct kernels pad as they read; the other paths take x padded first.
                var start = Conv(window with { PadEnd = window.PadBegin });
                if (start.RunDirectPaddedMoreAtEnd(x, window.PadEnd.H - window.PadBegin.H, window.PadEnd.W - window.PadBegin.W, residual) is { } y) return y;
                x = x.Pad([window.PadBegin.W, window.PadEnd.W, window.PadBegin.H, window.PadEnd.H]);
                window = window with { PadBegin = (0, 0), PadEnd = (0, 0) };
            }
            var conv = Conv(window);
            return residual is null ? conv.Run(x) : conv.RunAddRelu(x, residual);
        }

        /// <summary>The folded convolution for a window with equal pads before and after, made once per window.</summary>
        FoldedConv Conv(Window window)
        {
            var key = window with { Output = (0, 0) };
            if (!_byWindow.TryGetValue(key, out var conv))
                _byWindow[key] = conv = FoldedConv.Of(_w, _b, _shape, _group, window.Stride, window.PadBegin, window.Dilation, scale, shift, relu);
            return conv;
        }
    }
}
