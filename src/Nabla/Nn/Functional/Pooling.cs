using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-D max pooling, as <c>F.max_pool2d</c> (dilation 1, floor mode). Input (N, C, H, W) or
    /// (C, H, W); stride defaults to the kernel size; padding (at most half the kernel) counts as -inf.
    /// The gradient goes to the first maximum of each window.
    /// </summary>
    public static Tensor MaxPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (s, dims) = PoolShapeOf("max_pool2d", input, kernelSize, stride ?? kernelSize, padding);
        var y = new Tensor(dims, clear: false);
        if (!Tensor.Recording([input]) && !(s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 && s.PH == 0 && s.PW == 0))
        {
            // Nothing will back-propagate: no argmax to keep (2x2 windows have their own vectorized kernel, below).
            Pool2dKernel.MaxForwardNoIndex(s, input.Storage, y.Storage);
            return y;
        }
        var argmax = new Tensor(dims, clear: false);
        Pool2dKernel.MaxForward(s, input.Storage, y.Storage, argmax.Storage);
        return Tensor.Record(y, "max_pool2d", [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone(), clear: false);
            Pool2dKernel.MaxBackward(s, g.Storage, argmax.Storage, gx.Storage);
            return [gx];
        });
    }

    /// <summary>Max pooling with a square kernel; stride defaults to the kernel size.</summary>
    public static Tensor MaxPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0) =>
        MaxPool2d(input, (kernelSize, kernelSize), stride is { } st ? (st, st) : null, (padding, padding));

    /// <summary>
    /// 2-D average pooling, as <c>F.avg_pool2d</c> (floor mode). With <paramref name="countIncludePad"/>
    /// (PyTorch's default) the divisor is the whole window, padding included.
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool countIncludePad = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (s, dims) = PoolShapeOf("avg_pool2d", input, kernelSize, stride ?? kernelSize, padding);
        var y = new Tensor(dims, clear: false);
        Pool2dKernel.AvgForward(s, countIncludePad, input.Storage, y.Storage);
        return Tensor.Record(y, "avg_pool2d", [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone(), clear: false);
            Pool2dKernel.AvgBackward(s, countIncludePad, g.Storage, gx.Storage);
            return [gx];
        });
    }

    /// <summary>Average pooling with a square kernel; stride defaults to the kernel size.</summary>
    public static Tensor AvgPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true) =>
        AvgPool2d(input, (kernelSize, kernelSize), stride is { } st ? (st, st) : null, (padding, padding), countIncludePad);

    /// <summary>
    /// Average pooling to a fixed output size, as <c>F.adaptive_avg_pool2d</c>: output cell i covers
    /// input rows [floor(i H / OH), ceil((i + 1) H / OH)). Output size (1, 1) is global average pooling.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, (int H, int W) outputSize)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank is not (3 or 4))
            throw new ShapeException("adaptive_avg_pool2d", "input of shape (N, C, H, W) or (C, H, W)", input.ShapeString);
        if (outputSize.H < 1 || outputSize.W < 1)
            throw new ArgumentException($"adaptive_avg_pool2d: expected an output size of at least (1, 1); got ({outputSize.H}, {outputSize.W})", nameof(outputSize));
        int h = input.Shape[^2], w = input.Shape[^1];
        if (h < 1 || w < 1)
            throw new ShapeException("adaptive_avg_pool2d", "non-empty spatial dimensions", input.ShapeString);
        int planes = input.Numel / (h * w);
        int[] dims = [.. input.Dims[..^2], outputSize.H, outputSize.W];
        var y = new Tensor(dims, clear: false);
        Pool2dKernel.AdaptiveAvg(planes, h, w, outputSize.H, outputSize.W, input.Storage, y.Storage, backward: false);
        return Tensor.Record(y, "adaptive_avg_pool2d", [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone(), clear: false);
            Pool2dKernel.AdaptiveAvg(planes, h, w, outputSize.H, outputSize.W, g.Storage, gx.Storage, backward: true);
            return [gx];
        });
    }

    static (PoolShape, int[]) PoolShapeOf(string op, Tensor x, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding)
    {
        var (k, st, pad) = (kernelSize, stride, padding);
        if (k.H < 1 || k.W < 1)
            throw new ArgumentException($"{op}: expected kernel size >= 1; got ({k.H}, {k.W})", nameof(kernelSize));
        if (st.H < 1 || st.W < 1)
            throw new ArgumentException($"{op}: expected stride >= 1; got ({st.H}, {st.W})", nameof(stride));
        if (pad.H < 0 || pad.W < 0 || 2 * pad.H > k.H || 2 * pad.W > k.W)
            throw new ArgumentException($"{op}: expected padding between 0 and half the kernel size ({k.H / 2}, {k.W / 2}); got ({pad.H}, {pad.W})", nameof(padding));
        if (x.Rank is not (3 or 4))
            throw new ShapeException(op, "input of shape (N, C, H, W) or (C, H, W)", x.ShapeString);
        int h = x.Shape[^2], w = x.Shape[^1];
        int oh = (h + 2 * pad.H - k.H) / st.H + 1, ow = (w + 2 * pad.W - k.W) / st.W + 1;
        if (h + 2 * pad.H < k.H || w + 2 * pad.W < k.W)
            throw new ShapeException(op, $"a (padded) input at least as large as the kernel ({k.H} x {k.W})", x.ShapeString);
        int planes = 1;
        for (int i = 0; i < x.Rank - 2; i++) planes *= x.Shape[i];
        int[] dims = [.. x.Dims[..^2], oh, ow];
        return (new PoolShape(planes, h, w, k.H, k.W, st.H, st.W, pad.H, pad.W, oh, ow), dims);
    }
}
