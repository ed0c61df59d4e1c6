namespace Nabla.Onnx.Import;

/// <summary>
/// InstanceNormalization, LayerNormalization and the element-wise ops Nabla's own exports use
/// (Erf for exact GELU, Softplus, Greater and Where for Softplus's threshold),
/// so every exported model imports back.
/// </summary>
internal static class NormOps
{
    /// <summary>(x - mean) / sqrt(var + eps) over <paramref name="dims"/> (biased variance), differentiably.</summary>
    static Tensor Standardize(Tensor x, int[] dims, double eps)
    {
        var centred = x - x.Mean(dims, keepDim: true);
        var variance = (centred * centred).Mean(dims, keepDim: true);
        return centred / Tensor.Sqrt(variance + (float)eps);
    }

    /// <summary>InstanceNormalization: each (sample, channel) over its positions, then scale and B per channel.</summary>
    public static OpRun InstanceNorm(NodeInfo n)
    {
        n.Allow("epsilon");
        double eps = n.Float("epsilon", 1e-5f);
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            if (x.Rank < 3) throw new OnnxImportException($"{n.Display}: expects (N, C, D1, ...); got {x.ShapeString}");
            int[] perChannel = [x.Shape[1], .. Enumerable.Repeat(1, x.Rank - 2)];
            var y = Standardize(x, [.. Enumerable.Range(2, x.Rank - 2)], eps);
            return [OnnxValue.Of(y * inputs[1]!.AsTensor().Reshape(perChannel) + inputs[2]!.AsTensor().Reshape(perChannel))];
        };
    }

    /// <summary>
    /// LayerNormalization (opset 17): over the dimensions from <c>axis</c> on, then Scale and optional B
    /// broadcast; the optional outputs are the mean and 1 / sqrt(var + eps), with the normalized dimensions kept as 1.
    /// </summary>
    public static OpRun LayerNorm(NodeInfo n)
    {
        n.Allow("axis", "epsilon", "stash_type");
        long axis = n.Int("axis", -1);
        double eps = n.Float("epsilon", 1e-5f);
        n.IntIn("stash_type", 1, 1);
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            long a = axis < 0 ? axis + x.Rank : axis;
            if (a < 0 || a >= x.Rank) throw new OnnxImportException($"{n.Display}: axis {axis} is out of range for input {x.ShapeString}");
            int[] dims = [.. Enumerable.Range((int)a, x.Rank - (int)a)];
            var mean = x.Mean(dims, keepDim: true);
            var centred = x - mean;
            var invStd = 1f / Tensor.Sqrt((centred * centred).Mean(dims, keepDim: true) + (float)eps);
            var y = centred * invStd * inputs[1]!.AsTensor();
            if (inputs.Length > 2 && inputs[2] is { } b) y += b.AsTensor();
            return [OnnxValue.Of(y), OnnxValue.Of(mean), OnnxValue.Of(invStd)];
        };
    }

    /// <summary>
    /// erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, far inside the tests'
    /// tolerance), written with Nabla's differentiable ops so gradients flow.
    /// </summary>
    public static OpRun Erf(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) =>
        {
            var x = inputs[0]!.AsTensor();
            var ax = Tensor.Abs(x);
            var t = 1f / (1f + 0.3275911f * ax);
            var poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
            var magnitude = 1f - poly * Tensor.Exp(-(x * x));
            return [OnnxValue.Of(Tensor.Where(Tensor.Lt(x, 0f), -magnitude, magnitude))];
        };
    }

    public static OpRun Softplus(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) => [OnnxValue.Of(Nn.Functional.Softplus(inputs[0]!.AsTensor()))];
    }

    /// <summary>Greater, as a float mask of 0 and 1 (Nabla has no bool tensors); Where accepts it.</summary>
    public static OpRun Greater(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) => [OnnxValue.Of(Tensor.Gt(inputs[0]!.AsTensor(), inputs[1]!.AsTensor()))];
    }

    public static OpRun Where(NodeInfo n)
    {
        n.Allow();
        return (_, inputs) => [OnnxValue.Of(Tensor.Where(inputs[0]!.AsTensor(), inputs[1]!.AsTensor(), inputs[2]!.AsTensor()))];
    }
}
