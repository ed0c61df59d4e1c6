namespace Nabla.Nn;

/// <summary>
/// A 2-D convolution layer, as <c>nn.Conv2d</c>. Weight (out_channels, in_channels / groups, kH,
/// kW), bias (out_channels); input (N, in_channels, H, W), output (N, out_channels, OH, OW) with
/// OH = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1.
/// </summary>
/// <remarks>
/// PyTorch's default initialization: weight and bias uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)],
/// fan_in = in_channels / groups * kH * kW. For ReLU networks <c>Init.KaimingNormal(mode: FanMode.FanOut,
/// nonlinearity: Nonlinearity.Relu)</c> is the usual choice (as torchvision's ResNet).
/// </remarks>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer with square kernel, stride, padding and dilation.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, Init? init = null, Generator? generator = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation),
            groups, bias, init, generator) { }

    /// <summary>Creates the layer with per-direction sizes.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups = 1, bool bias = true, Init? init = null, Generator? generator = null)
    {
        if (groups <= 0)
            throw new ArgumentException("groups must be a positive integer", nameof(groups));
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentException($"Conv2d: expected positive channel counts; got in_channels = {inChannels}, out_channels = {outChannels}");
        if (inChannels % groups != 0)
            throw new ArgumentException("in_channels must be divisible by groups", nameof(inChannels));
        if (outChannels % groups != 0)
            throw new ArgumentException("out_channels must be divisible by groups", nameof(outChannels));
        if (kernelSize.H < 1 || kernelSize.W < 1)
            throw new ArgumentException($"Conv2d: expected kernel_size >= 1; got ({kernelSize.H}, {kernelSize.W})", nameof(kernelSize));
        if (stride.H < 1 || stride.W < 1)
            throw new ArgumentException($"Conv2d: expected stride >= 1; got ({stride.H}, {stride.W})", nameof(stride));
        if (padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"Conv2d: expected padding >= 0; got ({padding.H}, {padding.W})", nameof(padding));
        if (dilation.H < 1 || dilation.W < 1)
            throw new ArgumentException($"Conv2d: expected dilation >= 1; got ({dilation.H}, {dilation.W})", nameof(dilation));
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation, Groups) =
            (inChannels, outChannels, kernelSize, stride, padding, dilation, groups);
        Weight = Register("weight", new Parameter(Tensor.Zeros(outChannels, inChannels / groups, kernelSize.H, kernelSize.W)));
        (init ?? Init.KaimingUniform(a: Math.Sqrt(5))).Fill(Weight, generator);
        if (bias)
        {
            Bias = Register("bias", new Parameter(Tensor.Zeros(outChannels)));
            double bound = 1 / Math.Sqrt(Init.Fans(Weight.Shape).FanIn);
            Init.Uniform(-bound, bound).Fill(Bias, generator);
        }
        else RegisterNone("bias");
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height and width.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Zero padding on each side.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Spacing between kernel taps.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Channel groups: each output channel sees in_channels / groups inputs.</summary>
    public int Groups { get; }

    /// <summary>The weight, (out_channels, in_channels / groups, kH, kW).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, (out_channels), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        string name = $"Conv2d({InChannels}, {OutChannels})";
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw ShapeException.ForLayer(name, $"input of shape (N, {InChannels}, H, W)", input.ShapeString);
        // The dilated kernel must fit in the padded input, or there is no output position at all.
        int effH = Dilation.H * (KernelSize.H - 1) + 1, effW = Dilation.W * (KernelSize.W - 1) + 1;
        int minH = effH - 2 * Padding.H, minW = effW - 2 * Padding.W;
        if (input.Shape[2] < minH || input.Shape[3] < minW)
            throw ShapeException.ForLayer(name, $"input of shape (N, {InChannels}, H, W) with H >= {minH} and W >= {minW}", input.ShapeString,
                $"the {effH}x{effW} kernel (dilation included) must fit in the input padded by {Pair(Padding)}");
        return Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={Pair(KernelSize)}, stride={Pair(Stride)}";
        if (Padding != (0, 0)) s += $", padding={Pair(Padding)}";
        if (Dilation != (1, 1)) s += $", dilation={Pair(Dilation)}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias is null) s += ", bias=False";
        return s;
    }

    internal static string Pair((int H, int W) p) => $"({p.H}, {p.W})";
}
