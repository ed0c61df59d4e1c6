namespace Nabla.Nn;

/// <summary>
/// The residual basic block of ResNet (He et al., 2015), as torchvision's <c>BasicBlock</c>:
/// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), with 3x3 convolutions without bias
/// (batch norm's shift makes a bias redundant). Where the shape changes (a stride or a new channel
/// count) the shortcut is a 1x1 convolution with the same stride followed by batch norm
/// (<c>downsample</c>), otherwise the identity.
/// </summary>
/// <remarks>
/// Why it trains: the block learns a residual F(x) added to x, so the identity is the easy default
/// and gradients reach early layers through the sum unchanged, which lets very deep networks train.
/// State-dict keys are torchvision's: <c>conv1.weight</c>, <c>bn1.running_mean</c>,
/// <c>downsample.0.weight</c>, <c>downsample.1.weight</c>, ... Shapes: (N, inChannels, H, W) to
/// (N, outChannels, H / stride, W / stride).
/// </remarks>
public sealed class BasicBlock : Module
{
    readonly Conv2d _conv1, _conv2;
    readonly BatchNorm2d _bn1, _bn2;
    readonly Sequential? _downsample;

    /// <summary>Creates the block.</summary>
    public BasicBlock(int inChannels, int outChannels, int stride = 1, Generator? generator = null)
    {
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentException($"BasicBlock: expected positive channel counts; got in_channels = {inChannels}, out_channels = {outChannels}");
        if (stride < 1)
            throw new ArgumentException($"BasicBlock: expected stride >= 1; got {stride}", nameof(stride));
        (InChannels, OutChannels, Stride) = (inChannels, outChannels, stride);
        _conv1 = Register("conv1", new Conv2d(inChannels, outChannels, 3, stride, 1, bias: false, generator: generator));
        _bn1 = Register("bn1", new BatchNorm2d(outChannels));
        _conv2 = Register("conv2", new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false, generator: generator));
        _bn2 = Register("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
            _downsample = Register("downsample", new Sequential(
                new Conv2d(inChannels, outChannels, 1, stride, bias: false, generator: generator), new BatchNorm2d(outChannels)));
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Stride of the first convolution and of the shortcut.</summary>
    public int Stride { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw ShapeException.ForLayer($"BasicBlock({InChannels}, {OutChannels})", $"input of shape (N, {InChannels}, H, W)", input.ShapeString);
        var h = _bn1.HasHooks ? _bn1.Forward(_conv1.Forward(input)).Relu() : _bn1.Forward(_conv1.Forward(input), Fusion.Relu);
        h = _bn2.Forward(_conv2.Forward(h));
        var shortcut = _downsample is null ? input : _downsample.Forward(input);
        return (h + shortcut).Relu();
    }
}
