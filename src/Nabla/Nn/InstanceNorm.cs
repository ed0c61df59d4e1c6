namespace Nabla.Nn;

/// <summary>
/// Instance normalization over (N, C, H, W) or (C, H, W), as <c>nn.InstanceNorm2d</c>: every channel
/// of every sample is normalized over its own H * W positions. See <see cref="Functional.InstanceNorm"/>.
/// </summary>
/// <remarks>
/// PyTorch's defaults differ from batch norm's: no affine parameters and no running statistics.
/// With <see cref="Affine"/>, weight (ones) and bias (zeros) of shape (C); with
/// <see cref="TrackRunningStats"/>, buffers running_mean (zeros), running_var (ones) and
/// num_batches_tracked (kept for PyTorch's state-dict keys; instance norm does not count batches).
/// Training, or a layer without running statistics, uses each instance's statistics (and updates
/// the running ones); evaluation with running statistics uses them.
/// </remarks>
public sealed class InstanceNorm2d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">The number of channels C.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="momentum">The weight of the new statistics in the running ones.</param>
    /// <param name="affine">Learn per-channel gamma (ones) and beta (zeros).</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in evaluation.</param>
    public InstanceNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = false, bool trackRunningStats = false)
    {
        if (numFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, $"InstanceNorm2d: expected num_features >= 1; got {numFeatures}");
        NormArgs.CheckEps("InstanceNorm2d", eps);
        NormArgs.CheckMomentum("InstanceNorm2d", momentum);
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            Weight = Register("weight", new Parameter(Tensor.Ones(numFeatures)));
            Bias = Register("bias", new Parameter(Tensor.Zeros(numFeatures)));
        }
        else
        {
            RegisterNone("weight");
            RegisterNone("bias");
        }
        if (trackRunningStats)
        {
            RunningMean = Register("running_mean", new Buffer(Tensor.Zeros(numFeatures)));
            RunningVar = Register("running_var", new Buffer(Tensor.Ones(numFeatures)));
            // As PyTorch's _InstanceNorm: registered, so state dicts have PyTorch's keys, and never
            // incremented, since instance norm's momentum is always a number (batch norm counts
            // batches only for its cumulative average, momentum = None).
            Register("num_batches_tracked", new Buffer(Tensor.Scalar(0f)));
        }
    }

    /// <summary>The number of channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance inside the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>The weight of the new statistics in the running ones (default 0.1).</summary>
    public double Momentum { get; }

    /// <summary>Whether the layer learns gamma and beta (default false).</summary>
    public bool Affine { get; }

    /// <summary>Whether the layer keeps running statistics for evaluation (default false).</summary>
    public bool TrackRunningStats { get; }

    /// <summary>gamma (C), initialized to ones; or null.</summary>
    public Parameter? Weight { get; }

    /// <summary>beta (C), initialized to zeros; or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>The running mean (C), or null.</summary>
    public Buffer? RunningMean { get; }

    /// <summary>The running variance (C), or null.</summary>
    public Buffer? RunningVar { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        // Without parameters or statistics the channel count is not used; PyTorch only warns then.
        bool channelsMatter = Affine || TrackRunningStats;
        if (input.Rank is not (3 or 4) || (channelsMatter && input.Shape[input.Rank - 3] != NumFeatures))
            throw ShapeException.ForLayer($"InstanceNorm2d({NumFeatures})",
                $"input of shape (N, {NumFeatures}, H, W) or ({NumFeatures}, H, W)", input.ShapeString);
        bool useInputStats = IsTraining || !TrackRunningStats;
        if (useInputStats && input.Shape[^1] * input.Shape[^2] == 1)
            throw ShapeException.ForLayer($"InstanceNorm2d({NumFeatures})", "more than 1 spatial element when training", $"input size {input.ShapeString}",
                "instance statistics are taken over the positions of one channel of one sample");
        bool unbatched = input.Rank == 3;
        var x = unbatched ? input.Unsqueeze(0) : input;
        var y = Functional.InstanceNorm(x, RunningMean, RunningVar, Weight, Bias,
            useInputStats, Momentum, Eps);
        return unbatched ? y.Squeeze(0) : y;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={PyFormat.Float(Eps)}, momentum={PyFormat.Float(Momentum)}, " +
        $"affine={PyFormat.Bool(Affine)}, track_running_stats={PyFormat.Bool(TrackRunningStats)}";
}
