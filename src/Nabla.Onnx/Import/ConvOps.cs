namespace Nabla.Onnx.Import;

/// <summary>Conv, BatchNormalization, Gemm and MatMul on Nabla's differentiable ops.</summary>
internal static class ConvOps
{
    /// <summary>
    /// Conv over 1 or 2 spatial dimensions: explicit pads (asymmetric ones by padding first),
    /// auto_pad computed per call from the input's size, strides, dilations, group. A 1-D
    /// convolution runs as a 2-D one of height 1.
    /// </summary>
    public static OpRun Conv(NodeInfo n)
    {
        n.Allow("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        var geometry = PoolGeometry.Read(n, n.Ints("kernel_shape"), allowCeil: false);
        long group = n.Int("group", 1);
        if (group < 1) throw n.Unsupported($"group = {group}; it must be at least 1");
        if (n.ConstantInput(1) is { } w && w.Rank is not (3 or 4))
            throw n.Unsupported($"a weight of rank {w.Rank}; Nabla imports 1-D and 2-D convolutions (rank 3 or 4 weights)");
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            var weight = inputs[1]!.AsTensor();
            var bias = inputs.Length > 2 ? inputs[2]?.AsTensor() : null;
            if (x.Rank != weight.Rank || x.Rank is not (3 or 4))
                throw new OnnxImportException($"{n.Display}: expects input and weight of the same rank, 3 or 4; got {x.ShapeString} and {weight.ShapeString}");
            bool oneD = x.Rank == 3;
            if (oneD)
            {
                x = x.Unsqueeze(2);
                weight = weight.Unsqueeze(2);
            }
            var kernel = (weight.Shape[2], weight.Shape[3]);
            var g = geometry.Resolve(n, x, kernel, oneD, ceil: false);
            if (g.PadBegin != g.PadEnd)
            {
                x = x.Pad([g.PadBegin.W, g.PadEnd.W, g.PadBegin.H, g.PadEnd.H]);
                g = g with { PadBegin = (0, 0), PadEnd = (0, 0) };
            }
            var y = Nn.Functional.Conv2d(x, weight, bias, g.Stride, g.PadBegin, g.Dilation, (int)group);
            return [OnnxValue.Of(oneD ? y.Squeeze(2) : y)];
        };
    }

    /// <summary>
    /// BatchNormalization in every 5-input form: version 7's <c>spatial</c> (1 only), version 14's
    /// <c>training_mode</c> (0 only: the module's own mode decides). In training mode the module uses
    /// the batch's statistics and updates the running ones with ONNX's momentum (the old statistic's weight).
    /// </summary>
    public static OpRun BatchNorm(NodeInfo n, int version)
    {
        string[] allowed = version switch
        {
            7 => ["epsilon", "momentum", "spatial"],
            < 14 => ["epsilon", "momentum"],
            _ => ["epsilon", "momentum", "training_mode"],
        };
        n.Allow(allowed);
        if (version == 7) n.IntIn("spatial", 1, 1);
        if (version >= 14 && n.Int("training_mode", 0) != 0)
            throw n.Unsupported("training_mode = 1 is not supported (supported: 0); train the imported module with Train() instead");
        if (n.InputCount != 5) throw n.Unsupported($"{n.InputCount} inputs; BatchNormalization takes X, scale, B, mean, var");
        if (n.OutputRead(1) || n.OutputRead(2) || n.OutputRead(3) || n.OutputRead(4))
            throw n.Unsupported("the optional outputs (running and saved statistics) are not supported");
        double eps = n.Float("epsilon", 1e-5f);
        double momentum = 1 - n.Float("momentum", 0.9f);
        return (ctx, inputs) =>
        {
            var y = Nn.Functional.BatchNorm(inputs[0]!.AsTensor(), inputs[3]!.AsTensor(), inputs[4]!.AsTensor(), inputs[1]!.AsTensor(), inputs[2]!.AsTensor(),
                training: ctx.Training, momentum: ctx.BatchNormMomentum ?? momentum, eps: eps);
            return [OnnxValue.Of(y)];
        };
    }

    /// <summary>Gemm: alpha op(A) op(B) + beta C, C broadcasting to the result.</summary>
    public static OpRun Gemm(NodeInfo n)
    {
        n.Allow("alpha", "beta", "transA", "transB", "broadcast");
        float alpha = n.Float("alpha", 1), beta = n.Float("beta", 1);
        bool transA = n.IntIn("transA", 0, 0, 1) == 1, transB = n.IntIn("transB", 0, 0, 1) == 1;
        return (_, inputs) =>
        {
            var a = inputs[0]!.AsTensor();
            var b = inputs[1]!.AsTensor();
            if (a.Rank != 2 || b.Rank != 2)
                throw new OnnxImportException($"{n.Display}: expects matrices A and B; got {a.ShapeString} and {b.ShapeString}");
            if (transA) a = a.Transpose(0, 1);
            if (transB) b = b.Transpose(0, 1);
            var y = a.MatMul(b);
            if (alpha != 1) y *= alpha;
            if (inputs.Length > 2 && inputs[2] is { } c && beta != 0)
                y += beta == 1 ? c.AsTensor() : c.AsTensor() * beta;
            return [OnnxValue.Of(y)];
        };
    }

    /// <summary>MatMul with numpy's rules (1-D operands, batch broadcasting).</summary>
    public static OpRun MatMul(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) => [OnnxValue.Of(inputs[0]!.AsTensor().MatMul(inputs[1]!.AsTensor()))];
    }
}
