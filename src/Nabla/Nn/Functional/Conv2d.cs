using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as every deep-learning library computes it), as
    /// <c>F.conv2d</c>. Shapes: input (N, C, H, W), weight (O, C / groups, KH, KW), bias (O) or
    /// null; output (N, O, OH, OW) with OH = floor((H + 2 padding - dilation (KH - 1) - 1) / stride) + 1.
    /// </summary>
    /// <remarks>
    /// Runs as im2col + GEMM per image (see <c>Conv2dKernel</c>); 1x1 stride-1 convolutions skip the
    /// im2col. Backward: dW = sum over images of dY cols^T, dX = col2im(W^T dY), db = sums of dY.
    /// </remarks>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var s = ConvShapeOf(input, weight, bias, stride, padding, dilation, groups);
        var y = new Tensor([s.N, s.O, s.OH, s.OW], clear: false);
        if (y.Numel > 0) Conv2dKernel.Forward(s, input.Storage, weight.Storage, bias?.Storage, y.Storage);

        Tensor[] inputs = bias is null ? [input, weight] : [input, weight, bias];
        return Tensor.Record(y, "conv2d", inputs, g =>
        {
            var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
            var gw = weight.RequiresGrad ? new Tensor((int[])weight.Dims.Clone(), clear: false) : null;
            var gb = bias is not null && bias.RequiresGrad ? new Tensor([s.O], clear: false) : null;
            if (y.Numel > 0) Conv2dKernel.Backward(s, input.Storage, weight.Storage, g.Storage, gx?.Storage, gw?.Storage, gb?.Storage);
            else
            {
                gx?.Span.Clear();
                gw?.Span.Clear();
                gb?.Span.Clear();
            }
            return bias is null ? [gx, gw] : [gx, gw, gb];
        });
    }

    /// <summary>2-D convolution with the same stride, padding and dilation in both directions.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0,
        int dilation = 1, int groups = 1) =>
        Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    static ConvShape ConvShapeOf(Tensor x, Tensor w, Tensor? b, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups)
    {
        if (stride.H < 1 || stride.W < 1)
            throw new ArgumentException($"conv2d: expected stride >= 1; got ({stride.H}, {stride.W})", nameof(stride));
        if (padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"conv2d: expected padding >= 0; got ({padding.H}, {padding.W})", nameof(padding));
        if (dilation.H < 1 || dilation.W < 1)
            throw new ArgumentException($"conv2d: expected dilation >= 1; got ({dilation.H}, {dilation.W})", nameof(dilation));
        if (groups < 1)
            throw new ArgumentException($"conv2d: expected groups >= 1; got {groups}", nameof(groups));
        if (w.Rank != 4)
            throw new ShapeException("conv2d", "a weight of shape (out_channels, in_channels / groups, kH, kW)", w.ShapeString);
        int o = w.Shape[0], cg = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3];
        if (o % groups != 0)
            throw new ShapeException("conv2d", $"out_channels divisible by groups ({groups})", $"weight {w.ShapeString}");
        if (x.Rank != 4 || x.Shape[1] != cg * groups)
            throw new ShapeException("conv2d", $"input of shape (N, {cg * groups}, H, W)", x.ShapeString,
                x.Rank == 4 ? $"the weight {w.ShapeString} with groups = {groups} takes {cg * groups} input channels" : null);
        if (b is not null && (b.Rank != 1 || b.Shape[0] != o))
            throw new ShapeException("conv2d", $"a bias of shape [{o}]", b.ShapeString);
        var s = new ConvShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], o, kh, kw,
            stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        int effH = dilation.H * (kh - 1) + 1, effW = dilation.W * (kw - 1) + 1;
        if (x.Shape[2] + 2 * padding.H < effH || x.Shape[3] + 2 * padding.W < effW)
            throw new ShapeException("conv2d", $"a padded input at least as large as the kernel ({effH} x {effW} with dilation)",
                $"input {x.ShapeString} with padding ({padding.H}, {padding.W})");
        if ((long)s.K * s.P > 1L << 28)
            throw new ShapeException("conv2d", "at most 2^28 elements in one image's column matrix",
                $"{s.K} x {s.P} for input {x.ShapeString} and weight {w.ShapeString}");
        return s;
    }
}
