using Nabla.Kernels;

namespace Nabla.Nn;

/// <summary>
/// The stateless forms of the layers, as <c>torch.nn.functional</c>: each takes its weights and its
/// mode (<c>training</c>) as arguments, so a caller can, say, run dropout while batch norm stays in
/// evaluation mode (Monte Carlo dropout).
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// y = x W^T + b, as <c>F.linear</c>. Shapes: input (..., in), weight (out, in), bias (out) or
    /// null; output (..., out).
    /// </summary>
    /// <remarks>
    /// One GEMM with W read transposed in place (no materialized transpose), the bias written into
    /// the output first so the GEMM accumulates onto it. Backward: dX = dY W, dW = dY^T X and
    /// db = the column sums of dY.
    /// </remarks>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) => LinearCore(input, weight, bias, relu: false);

    /// <summary>
    /// relu(x W^T + b) as one operation: the bias is added by the GEMM (written into the output
    /// first) and the ReLU applied to the output in the same call, so the activation is not read and
    /// written a second time; backward masks the gradient by the saved output.
    /// </summary>
    internal static Tensor LinearRelu(Tensor input, Tensor weight, Tensor? bias) => LinearCore(input, weight, bias, relu: true);

    static Tensor LinearCore(Tensor input, Tensor weight, Tensor? bias, bool relu)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2)
            throw new ShapeException("linear", "a weight of shape (out_features, in_features)", weight.ShapeString);
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (input.Rank == 0 || input.Shape[^1] != inF)
            throw new ShapeException("linear", $"input of shape (..., {inF})", input.ShapeString,
                input.Rank > 0 ? $"the weight has {inF} input features; the input's last dimension has {input.Shape[^1]}" : null);
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new ShapeException("linear", $"a bias of shape [{outF}]", bias.ShapeString);

        int rows = input.Numel / Math.Max(1, inF);
        if (inF == 0) rows = NumelOfLeading(input);
        int[] outDims = [.. input.Dims[..^1], outF];
        var y = new Tensor(outDims, clear: bias is null && inF == 0);
        var ys = y.Storage;
        if (bias is not null)
            for (int r = 0; r < rows; r++) bias.Storage.AsSpan().CopyTo(ys.AsSpan(r * outF, outF));
        if (inF > 0 && rows > 0 && outF > 0)
            Gemm.Sgemm(false, true, rows, outF, inF, 1f, input.Storage, inF, weight.Storage, inF,
                bias is null ? 0f : 1f, ys, outF);

        if (relu) Kernels.Activation.Relu(ys, ys);

        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        return Tensor.Record(y, relu ? "linear_relu" : "linear", inputs, g =>
        {
            if (relu)
            {
                var masked = new Tensor((int[])g.Dims.Clone(), clear: false);
                Kernels.Activation.ReluBackward(y.Storage, g.Storage, masked.Storage);
                g = masked;
            }
            Tensor? gx = null, gw = null, gb = null;
            if (input.RequiresGrad)
            {
                gx = new Tensor((int[])input.Dims.Clone(), clear: outF == 0);
                if (outF > 0 && rows > 0 && inF > 0)
                    Gemm.Sgemm(false, false, rows, inF, outF, 1f, g.Storage, outF, weight.Storage, inF, 0f, gx.Storage, inF);
            }
            if (weight.RequiresGrad)
            {
                gw = new Tensor([outF, inF], clear: rows == 0);
                if (outF > 0 && rows > 0 && inF > 0)
                    Gemm.Sgemm(true, false, outF, inF, rows, 1f, g.Storage, outF, input.Storage, inF, 0f, gw.Storage, inF);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                gb = new Tensor([outF]);
                var gbs = gb.Storage.AsSpan();
                for (int r = 0; r < rows; r++)
                    System.Numerics.Tensors.TensorPrimitives.Add(gbs, g.Storage.AsSpan(r * outF, outF), gbs);
            }
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    static int NumelOfLeading(Tensor t)
    {
        int n = 1;
        for (int i = 0; i < t.Rank - 1; i++) n *= t.Shape[i];
        return n;
    }
}
