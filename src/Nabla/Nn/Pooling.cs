namespace Nabla.Nn;

/// <summary>
/// 2-D max pooling, as <c>nn.MaxPool2d</c>: each output is the largest value of its kernel window.
/// Input (N, C, H, W) or (C, H, W); the stride defaults to the kernel size.
/// </summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding)) { }

    /// <summary>Creates the layer with per-direction sizes.</summary>
    public MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding)
    {
        PoolChecks.Check("MaxPool2d", kernelSize, stride ?? kernelSize, padding);
        (KernelSize, Stride, Padding) = (kernelSize, stride ?? kernelSize, padding);
    }

    /// <summary>Window size.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Implicit -inf padding.</summary>
    public (int H, int W) Padding { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        PoolChecks.Input($"MaxPool2d(kernel_size={Conv2d.Pair(KernelSize)})", input, KernelSize, Padding);
        return Functional.MaxPool2d(input, KernelSize, Stride, Padding);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={Conv2d.Pair(KernelSize)}, stride={Conv2d.Pair(Stride)}, padding={Conv2d.Pair(Padding)}, dilation=1, ceil_mode=False";
}

/// <summary>
/// 2-D average pooling, as <c>nn.AvgPool2d</c>. With <c>countIncludePad</c> (the default) padded
/// zeros count in the divisor.
/// </summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), countIncludePad) { }

    /// <summary>Creates the layer with per-direction sizes.</summary>
    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding, bool countIncludePad = true)
    {
        PoolChecks.Check("AvgPool2d", kernelSize, stride ?? kernelSize, padding);
        (KernelSize, Stride, Padding, CountIncludePad) = (kernelSize, stride ?? kernelSize, padding, countIncludePad);
    }

    /// <summary>Window size.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Implicit zero padding.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Whether padding counts in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        PoolChecks.Input($"AvgPool2d(kernel_size={Conv2d.Pair(KernelSize)})", input, KernelSize, Padding);
        return Functional.AvgPool2d(input, KernelSize, Stride, Padding, CountIncludePad);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"kernel_size={Conv2d.Pair(KernelSize)}, stride={Conv2d.Pair(Stride)}, padding={Conv2d.Pair(Padding)}";
}

/// <summary>
/// Average pooling to a fixed output size whatever the input size, as <c>nn.AdaptiveAvgPool2d</c>;
/// output size 1 is the global average pooling that ends ResNets.
/// </summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer with a square output.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize)) { }

    /// <summary>Creates the layer.</summary>
    public AdaptiveAvgPool2d((int H, int W) outputSize)
    {
        if (outputSize.H < 1 || outputSize.W < 1)
            throw new ArgumentException($"AdaptiveAvgPool2d: expected an output size of at least (1, 1); got ({outputSize.H}, {outputSize.W})", nameof(outputSize));
        OutputSize = outputSize;
    }

    /// <summary>The output's height and width.</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        PoolChecks.Input($"AdaptiveAvgPool2d(output_size={Conv2d.Pair(OutputSize)})", input, (1, 1), (0, 0));
        return Functional.AdaptiveAvgPool2d(input, OutputSize);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={Conv2d.Pair(OutputSize)}";
}

static class PoolChecks
{
    public static void Check(string layer, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding)
    {
        var (k, s, p) = (kernelSize, stride, padding);
        if (k.H < 1 || k.W < 1)
            throw new ArgumentException($"{layer}: expected kernel_size >= 1; got ({k.H}, {k.W})", nameof(kernelSize));
        if (s.H < 1 || s.W < 1)
            throw new ArgumentException($"{layer}: expected stride >= 1; got ({s.H}, {s.W})", nameof(stride));
        if (p.H < 0 || p.W < 0 || 2 * p.H > k.H || 2 * p.W > k.W)
            throw new ArgumentException($"pad should be at most half of effective kernel size, but got pad=({p.H}, {p.W}), kernel_size=({k.H}, {k.W})", nameof(padding));
    }

    /// <summary>Rank 3 or 4, and a window of <paramref name="kernelSize"/> fits in the input padded by <paramref name="padding"/>.</summary>
    public static void Input(string layer, Tensor x, (int H, int W) kernelSize, (int H, int W) padding)
    {
        const string shape = "input of shape (N, C, H, W) or (C, H, W)";
        if (x.Rank is not (3 or 4))
            throw ShapeException.ForLayer(layer, shape, x.ShapeString);
        int minH = Math.Max(kernelSize.H - 2 * padding.H, 1), minW = Math.Max(kernelSize.W - 2 * padding.W, 1);
        if (x.Shape[^2] < minH || x.Shape[^1] < minW)
            throw ShapeException.ForLayer(layer, $"{shape} with H >= {minH} and W >= {minW}", x.ShapeString);
    }
}
