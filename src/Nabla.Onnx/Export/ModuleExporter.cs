using Nabla.Nn;
using Onnx;
using static Nabla.Onnx.Export.GraphBuilder;

namespace Nabla.Onnx.Export;

/// <summary>A value of the graph being built: its name and the shape it has for the traced input.</summary>
/// <param name="Name">The ONNX value name.</param>
/// <param name="Shape">Its shape for the example input.</param>
/// <param name="BatchFirst">Whether dimension 0 is still the free batch dimension N.</param>
internal readonly record struct Value(string Name, int[] Shape, bool BatchFirst)
{
    public int Rank => Shape.Length;
}

/// <summary>
/// Writes a module tree as ONNX nodes, layer by layer, in evaluation mode. Each layer's output
/// shape is found by running that layer on zeros of its input's shape, so attributes that depend
/// on sizes (Reshape targets, adaptive pooling windows) are exact.
/// </summary>
internal sealed class ModuleExporter(GraphBuilder g, OnnxExportOptions options)
{
    /// <summary>Exports <paramref name="module"/> (at <paramref name="path"/> in the model) applied to <paramref name="x"/>.</summary>
    public Value Export(Module module, string path, Value x) => module switch
    {
        Sequential seq => ExportSequential(seq, path, x),
        BasicBlock block => ExportBasicBlock(block, path, x),
        Linear linear => ExportLinear(linear, path, x),
        Conv2d conv => ExportConv(conv, null, path, x),
        BatchNormBase bn => ExportBatchNorm(bn, path, x),
        InstanceNorm2d norm => ExportInstanceNorm(norm, path, x),
        LayerNorm norm => ExportLayerNorm(norm, path, x),
        GroupNorm norm => ExportGroupNorm(norm, path, x),
        Relu => Unary("Relu", module, path, x),
        Sigmoid => Unary("Sigmoid", module, path, x),
        Tanh => Unary("Tanh", module, path, x),
        LeakyRelu lrelu => Unary("LeakyRelu", module, path, x, Float("alpha", lrelu.NegativeSlope)),
        Elu elu => Unary("Elu", module, path, x, Float("alpha", elu.Alpha)),
        Gelu gelu => ExportGelu(gelu, path, x),
        Softplus softplus => ExportSoftplus(softplus, path, x),
        Softmax softmax => Unary("Softmax", module, path, x, Int("axis", softmax.Dim)),
        LogSoftmax logSoftmax => Unary("LogSoftmax", module, path, x, Int("axis", logSoftmax.Dim)),
        Maxout maxout => ExportMaxout(maxout, path, x),
        MaxPool2d pool => ExportPool("MaxPool", pool, path, x, pool.KernelSize, pool.Stride, pool.Padding),
        AvgPool2d pool => ExportPool("AveragePool", pool, path, x, pool.KernelSize, pool.Stride, pool.Padding,
            Int("count_include_pad", pool.CountIncludePad ? 1 : 0)),
        AdaptiveAvgPool2d pool => ExportAdaptiveAvgPool(pool, path, x),
        Flatten flatten => ExportFlatten(flatten, path, x),
        Dropout dropout => ExportDropout(dropout.P, dropout.Inverted, path, x),
        Dropout2d dropout => ExportDropout(dropout.P, dropout.Inverted, path, x),
        Identity => x,
        _ => throw Unsupported(module, path, "it has no ONNX form"),
    };

    // ---- containers -------------------------------------------------------------------------

    Value ExportSequential(Sequential seq, string path, Value x)
    {
        for (int i = 0; i < seq.Count; i++)
        {
            string child = Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (options.FoldBatchNorm && seq[i] is Conv2d conv && i + 1 < seq.Count && seq[i + 1] is BatchNorm2d bn && bn.TrackRunningStats)
            {
                x = ExportConv(conv, bn, child, x);
                i++;
            }
            else x = Export(seq[i], child, x);
        }
        return x;
    }

    Value ExportBasicBlock(BasicBlock block, string path, Value x)
    {
        var parts = block.NamedChildren().ToDictionary(c => c.Name, c => c.Module, StringComparer.Ordinal);
        var h = ConvBn((Conv2d)parts["conv1"], (BatchNorm2d)parts["bn1"], Join(path, "conv1"), Join(path, "bn1"), x);
        h = h with { Name = g.Node("Relu", Join(path, "relu"), [h.Name]) }; // the shape is bn1's
        h = ConvBn((Conv2d)parts["conv2"], (BatchNorm2d)parts["bn2"], Join(path, "conv2"), Join(path, "bn2"), h);
        var shortcut = x;
        if (parts.TryGetValue("downsample", out var down))
        {
            var ds = (Sequential)down;
            string dsPath = Join(path, "downsample");
            shortcut = ConvBn((Conv2d)ds[0], (BatchNorm2d)ds[1], Join(dsPath, "0"), Join(dsPath, "1"), x);
        }
        var sum = h with { Name = g.Node("Add", path, [h.Name, shortcut.Name]) };
        return sum with { Name = g.Node("Relu", Join(path, "relu"), [sum.Name]) };
    }

    Value ConvBn(Conv2d conv, BatchNorm2d bn, string convPath, string bnPath, Value x) =>
        options.FoldBatchNorm && bn.TrackRunningStats
            ? ExportConv(conv, bn, convPath, x)
            : ExportBatchNorm(bn, bnPath, ExportConv(conv, null, convPath, x));

    // ---- linear and convolution --------------------------------------------------------------

    Value ExportLinear(Linear linear, string path, Value x)
    {
        var y = Trace(linear, path, x);
        string w = Param(path, "weight", linear.Weight);
        string? b = linear.Bias is { } bias ? Param(path, "bias", bias) : null;
        if (x.Rank == 2)
            return y with { Name = g.Node("Gemm", path, b is null ? [x.Name, w] : [x.Name, w, b], Float("alpha", 1), Float("beta", 1), Int("transB", 1)) };
        // Gemm takes matrices only; other ranks multiply by the transposed weight, as PyTorch exports them.
        string wt = g.Node("Transpose", path, [w], Ints("perm", 1, 0));
        string mm = g.Node("MatMul", path, [x.Name, wt]);
        return y with { Name = b is null ? mm : g.Node("Add", path, [mm, b]) };
    }

    /// <summary>A convolution; with <paramref name="bn"/>, the batch norm that follows is folded into its weights.</summary>
    Value ExportConv(Conv2d conv, BatchNorm2d? bn, string path, Value x)
    {
        RequireBatched(conv, path, x, 4, "(N, C, H, W)");
        var y = Trace(conv, path, x);
        if (bn is not null) y = Trace(bn, path, y);
        string w, b = "";
        if (bn is null)
        {
            w = Param(path, "weight", conv.Weight);
            if (conv.Bias is { } bias) b = Param(path, "bias", bias);
        }
        else
        {
            var (fw, fb) = BatchNormFolding.Fold(conv, bn);
            w = g.Initializer(Join(path, "weight"), fw, conv.Weight.Shape);
            b = g.Initializer(Join(path, "bias"), fb, [conv.OutChannels]);
        }
        var attrs = new[]
        {
            Ints("kernel_shape", conv.KernelSize.H, conv.KernelSize.W),
            Ints("strides", conv.Stride.H, conv.Stride.W),
            Ints("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W),
            Ints("dilations", conv.Dilation.H, conv.Dilation.W),
            Int("group", conv.Groups),
        };
        return y with { Name = g.Node("Conv", path, b.Length == 0 ? [x.Name, w] : [x.Name, w, b], attrs) };
    }

    // ---- normalization ------------------------------------------------------------------------

    Value ExportBatchNorm(BatchNormBase bn, string path, Value x)
    {
        if (!bn.TrackRunningStats)
            throw Unsupported(bn, path, "it has no running statistics, so in evaluation it normalizes with each batch's own statistics, " +
                "which ONNX's BatchNormalization cannot do; train it with track_running_stats");
        RequireBatched(bn, path, x, bn is BatchNorm2d ? 4 : 2, bn is BatchNorm2d ? "(N, C, H, W)" : "(N, C) or (N, C, L)");
        var y = Trace(bn, path, x);
        return y with { Name = BatchNormalization(path, x.Name, bn.NumFeatures, bn.Weight, bn.Bias, bn.RunningMean!, bn.RunningVar!, bn.Eps, bn.Momentum) };
    }

    string BatchNormalization(string path, string x, int channels, Parameter? weight, Parameter? bias, Nn.Buffer mean, Nn.Buffer var, double eps, double? momentum)
    {
        string scale = weight is not null ? Param(path, "weight", weight) : Filled(path, "weight", 1f, channels);
        string shift = bias is not null ? Param(path, "bias", bias) : Filled(path, "bias", 0f, channels);
        string m = g.Initializer(Join(path, "running_mean"), mean.Data.Data, mean.Data.Shape);
        string v = g.Initializer(Join(path, "running_var"), var.Data.Data, var.Data.Shape);
        var attrs = new List<AttributeProto> { Float("epsilon", eps) };
        // ONNX's momentum weighs the old statistic, PyTorch's the new one.
        if (momentum is { } mo) attrs.Add(Float("momentum", 1 - mo));
        return g.Node("BatchNormalization", path, [x, scale, shift, m, v], [.. attrs]);
    }

    Value ExportInstanceNorm(InstanceNorm2d norm, string path, Value x)
    {
        RequireBatched(norm, path, x, 4, "(N, C, H, W)");
        var y = Trace(norm, path, x);
        int c = x.Shape[1];
        if (norm.TrackRunningStats) // evaluation with running statistics: batch norm's formula per channel
            return y with { Name = BatchNormalization(path, x.Name, c, norm.Weight, norm.Bias, norm.RunningMean!, norm.RunningVar!, norm.Eps, norm.Momentum) };
        string scale = norm.Weight is { } w ? Param(path, "weight", w) : Filled(path, "weight", 1f, c);
        string shift = norm.Bias is { } b ? Param(path, "bias", b) : Filled(path, "bias", 0f, c);
        return y with { Name = g.Node("InstanceNormalization", path, [x.Name, scale, shift], Float("epsilon", norm.Eps)) };
    }

    Value ExportLayerNorm(LayerNorm norm, string path, Value x)
    {
        var y = Trace(norm, path, x);
        var shape = norm.NormalizedShape.ToArray();
        if (x.BatchFirst && shape.Length >= x.Rank)
            throw Unsupported(norm, path, "it would normalize over the batch dimension, which the exported model leaves free");
        string scale = norm.Weight is { } w ? Param(path, "weight", w) : Filled(path, "weight", 1f, shape);
        var inputs = new List<string> { x.Name, scale };
        if (norm.Bias is { } b) inputs.Add(Param(path, "bias", b));
        return y with { Name = g.Node("LayerNormalization", path, inputs, Int("axis", -shape.Length), Float("epsilon", norm.Eps)) };
    }

    /// <summary>
    /// Opset 17 has no GroupNormalization (it came in 18): the groups become the channels of an
    /// InstanceNormalization over (N, G, rest), then the per-channel affine is applied.
    /// </summary>
    Value ExportGroupNorm(GroupNorm norm, string path, Value x)
    {
        RequireBatched(norm, path, x, 2, "(N, C, ...)");
        var y = Trace(norm, path, x);
        int groups = norm.NumGroups;
        string grouped = g.Node("Reshape", path, [x.Name, g.Int64s(Join(path, "grouped_shape"), 0, groups, -1)]);
        string normed = g.Node("InstanceNormalization", path,
            [grouped, Filled(path, "group_scale", 1f, groups), Filled(path, "group_bias", 0f, groups)], Float("epsilon", norm.Eps));
        string back = g.Node("Reshape", path, [normed, g.Int64s(Join(path, "shape"), [0, .. x.Shape[1..].Select(d => (long)d)])]);
        if (norm.Weight is { } weight && norm.Bias is { } bias)
        {
            // (C) → (C, 1, ..., 1) so it broadcasts over the positions of each channel.
            long[] perChannel = [norm.NumChannels, .. Enumerable.Repeat(1L, x.Rank - 2)];
            string w = g.Node("Reshape", path, [Param(path, "weight", weight), g.Int64s(Join(path, "channel_shape"), perChannel)]);
            string b = g.Node("Reshape", path, [Param(path, "bias", bias), g.Int64s(Join(path, "channel_shape"), perChannel)]);
            back = g.Node("Add", path, [g.Node("Mul", path, [back, w]), b]);
        }
        return y with { Name = back };
    }

    // ---- activations --------------------------------------------------------------------------

    Value Unary(string op, Module module, string path, Value x, params AttributeProto[] attrs)
    {
        var y = Trace(module, path, x);
        return y with { Name = g.Node(op, path, [x.Name], attrs) };
    }

    /// <summary>Opset 17 has no Gelu (it came in 20): written out as PyTorch writes it for older opsets.</summary>
    Value ExportGelu(Gelu gelu, string path, Value x)
    {
        var y = Trace(gelu, path, x);
        string inner;
        if (gelu.Approximate == "tanh")
        {
            // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
            string cube = g.Node("Mul", path, [g.Node("Mul", path, [x.Name, x.Name]), x.Name]);
            string poly = g.Node("Add", path, [x.Name, g.Node("Mul", path, [cube, g.Constant(Join(path, "coefficient"), 0.044715f)])]);
            inner = g.Node("Tanh", path, [g.Node("Mul", path, [poly, g.Constant(Join(path, "sqrt_2_over_pi"), (float)Math.Sqrt(2 / Math.PI))])]);
        }
        else
        {
            // 0.5 x (1 + erf(x / sqrt(2)))
            inner = g.Node("Erf", path, [g.Node("Div", path, [x.Name, g.Constant(Join(path, "sqrt_2"), (float)Math.Sqrt(2))])]);
        }
        string onePlus = g.Node("Add", path, [inner, g.Constant(Join(path, "one"), 1f)]);
        string half = g.Node("Mul", path, [x.Name, g.Constant(Join(path, "half"), 0.5f)]);
        return y with { Name = g.Node("Mul", path, [half, onePlus]) };
    }

    /// <summary>ONNX's Softplus has neither beta nor threshold: log(1 + e^(beta x)) / beta, and x where beta x &gt; threshold.</summary>
    Value ExportSoftplus(Softplus softplus, string path, Value x)
    {
        var y = Trace(softplus, path, x);
        string bx = softplus.Beta == 1 ? x.Name : g.Node("Mul", path, [x.Name, g.Constant(Join(path, "beta"), (float)softplus.Beta)]);
        string soft = g.Node("Softplus", path, [bx]);
        if (softplus.Beta != 1) soft = g.Node("Div", path, [soft, g.Constant(Join(path, "beta"), (float)softplus.Beta)]);
        string above = g.Node("Greater", path, [bx, g.Constant(Join(path, "threshold"), (float)softplus.Threshold)]);
        return y with { Name = g.Node("Where", path, [above, x.Name, soft]) };
    }

    /// <summary>Maxout through Reshape to (..., units, pieces) and ReduceMax over the pieces.</summary>
    Value ExportMaxout(Maxout maxout, string path, Value x)
    {
        var y = Trace(maxout, path, x);
        long[] shape = [.. Enumerable.Repeat(0L, x.Rank - 1), -1, maxout.Pieces];
        string pieces = g.Node("Reshape", path, [x.Name, g.Int64s(Join(path, "pieces_shape"), shape)]);
        return y with { Name = g.Node("ReduceMax", path, [pieces], Ints("axes", -1), Int("keepdims", 0)) };
    }

    // ---- pooling, reshaping, dropout ------------------------------------------------------------

    Value ExportPool(string op, Module pool, string path, Value x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding,
        params AttributeProto[] extra)
    {
        RequireBatched(pool, path, x, 4, "(N, C, H, W)");
        var y = Trace(pool, path, x);
        AttributeProto[] attrs =
        [
            Ints("kernel_shape", kernel.H, kernel.W), Ints("strides", stride.H, stride.W),
            Ints("pads", padding.H, padding.W, padding.H, padding.W), .. extra,
        ];
        return y with { Name = g.Node(op, path, [x.Name], attrs) };
    }

    Value ExportAdaptiveAvgPool(AdaptiveAvgPool2d pool, string path, Value x)
    {
        RequireBatched(pool, path, x, 4, "(N, C, H, W)");
        var y = Trace(pool, path, x);
        var (oh, ow) = pool.OutputSize;
        if (oh == 1 && ow == 1) return y with { Name = g.Node("GlobalAveragePool", path, [x.Name]) };
        int h = x.Shape[2], w = x.Shape[3];
        if (h % oh != 0 || w % ow != 0)
            throw Unsupported(pool, path, $"its windows on a {h}x{w} input to {oh}x{ow} outputs differ in size, which no ONNX pooling node expresses");
        return y with
        {
            Name = g.Node("AveragePool", path, [x.Name], Ints("kernel_shape", h / oh, w / ow), Ints("strides", h / oh, w / ow)),
        };
    }

    Value ExportFlatten(Flatten flatten, string path, Value x)
    {
        var y = Trace(flatten, path, x);
        int start = flatten.StartDim < 0 ? flatten.StartDim + x.Rank : flatten.StartDim;
        int end = flatten.EndDim < 0 ? flatten.EndDim + x.Rank : flatten.EndDim;
        if (end == x.Rank - 1 && start == 1) // ONNX Flatten always makes a matrix
            return y with { Name = g.Node("Flatten", path, [x.Name], Int("axis", start)) };
        // Reshape: 0 copies a leading dimension (the free batch among them), -1 is the merged one.
        long[] shape = [.. Enumerable.Repeat(0L, start), -1, .. x.Shape[(end + 1)..].Select(d => (long)d)];
        return y with
        {
            Name = g.Node("Reshape", path, [x.Name, g.Int64s(Join(path, "shape"), shape)]),
            BatchFirst = x.BatchFirst && start > 0,
        };
    }

    /// <summary>Dropout is the identity in evaluation; classic (non-inverted) dropout scales by 1 - p there.</summary>
    Value ExportDropout(double p, bool inverted, string path, Value x) =>
        inverted ? x : x with { Name = g.Node("Mul", path, [x.Name, g.Constant(Join(path, "keep"), (float)(1 - p))]) };

    // ---- helpers ---------------------------------------------------------------------------------

    /// <summary>The shape <paramref name="module"/> gives for <paramref name="x"/>, by running it on zeros.</summary>
    static Value Trace(Module module, string path, Value x)
    {
        try
        {
            using var noGrad = Autograd.NoGrad();
            var output = module.Forward(Tensor.Zeros(x.Shape));
            return new Value("", output.Shape.ToArray(), x.BatchFirst);
        }
        catch (ArgumentException e)
        {
            throw new OnnxExportException($"ONNX export: '{Display(path)}' ({module.GetType().Name}) does not accept its input of shape " +
                $"{ShapeException.Str(x.Shape)}: {e.Message}", e);
        }
    }

    static void RequireBatched(Module module, string path, Value x, int rank, string expected)
    {
        if (!x.BatchFirst || x.Rank < rank || (rank == 4 && x.Rank != 4))
            throw Unsupported(module, path, $"the exported model gives it input of shape {ShapeException.Str(x.Shape)} " +
                $"where it needs a batched input {expected} with the batch first");
    }

    string Param(string path, string name, Parameter p) => g.Initializer(Join(path, name), p.Data.Data, p.Shape);

    string Filled(string path, string name, float value, params int[] dims)
    {
        var data = new float[dims.Aggregate(1, (a, d) => a * d)];
        Array.Fill(data, value);
        return g.Initializer(Join(path, name), data, dims);
    }

    static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    static string Display(string path) => path.Length == 0 ? "(model)" : path;

    static OnnxExportException Unsupported(Module module, string path, string why) =>
        new($"ONNX export: '{Display(path)}' ({module.GetType().Name}) cannot be exported: {why}. " +
            $"Exportable layers: {OnnxExport.SupportedLayers}");
}
