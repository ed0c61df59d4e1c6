namespace Nabla.Nn;

/// <summary>
/// What <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> share, as PyTorch's
/// <c>_BatchNorm</c>: gamma and beta, the running statistics, and the choice between batch and
/// running statistics. See <see cref="Functional.BatchNorm"/> for the formula.
/// </summary>
/// <remarks>
/// <para>
/// Parameters: weight (gamma, ones) and bias (beta, zeros), of shape (C), when
/// <see cref="Affine"/>. Buffers, when <see cref="TrackRunningStats"/>: running_mean (zeros),
/// running_var (ones) and num_batches_tracked (a zero-dimensional count, incremented by each
/// training forward). State-dict keys are PyTorch's.
/// </para>
/// <para>
/// Training normalizes with the batch's statistics and folds them into the running ones
/// (momentum 0.1 weights the new batch; momentum null gives the cumulative moving average, factor
/// 1 / num_batches_tracked). Evaluation normalizes with the running statistics, so one example's
/// output does not depend on the rest of its batch, and updates nothing. A layer without running
/// statistics always uses the batch's.
/// </para>
/// </remarks>
public abstract class BatchNormBase : Module
{
    /// <summary>Creates the layer; see the derived classes.</summary>
    private protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures < 1)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures,
                $"{GetType().Name}: expected num_features >= 1; got {numFeatures}");
        NormArgs.CheckEps(GetType().Name, eps);
        if (momentum is { } m) NormArgs.CheckMomentum(GetType().Name, m);
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
            NumBatchesTracked = Register("num_batches_tracked", new Buffer(Tensor.Scalar(0f)));
        }
    }

    /// <summary>The number of channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance inside the square root (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>The weight of a new batch in the running statistics (default 0.1); null for the cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>Whether the layer learns gamma and beta.</summary>
    public bool Affine { get; }

    /// <summary>Whether the layer keeps running statistics for evaluation.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>gamma (C), initialized to ones; null without <see cref="Affine"/>.</summary>
    public Parameter? Weight { get; }

    /// <summary>beta (C), initialized to zeros; null without <see cref="Affine"/>.</summary>
    public Parameter? Bias { get; }

    /// <summary>The running mean (C); null without <see cref="TrackRunningStats"/>.</summary>
    public Buffer? RunningMean { get; }

    /// <summary>The running (unbiased) variance (C); null without <see cref="TrackRunningStats"/>.</summary>
    public Buffer? RunningVar { get; }

    /// <summary>The number of training batches seen, a zero-dimensional tensor; null without <see cref="TrackRunningStats"/>.</summary>
    public Buffer? NumBatchesTracked { get; }

    /// <summary>Resets the running statistics to mean 0, variance 1 and no batches counted, as <c>reset_running_stats</c>.</summary>
    public void ResetRunningStats()
    {
        RunningMean?.Data.Span.Clear();
        RunningVar?.Data.Span.Fill(1f);
        NumBatchesTracked?.Data.Span.Clear();
    }

    /// <summary>The layer as printed in errors, e.g. <c>BatchNorm2d(32)</c>.</summary>
    private protected string LayerName => $"{GetType().Name}({NumFeatures})";

    /// <summary>Whether the input's shape is one this layer accepts (channel count included).</summary>
    private protected abstract bool Accepts(Tensor input);

    /// <summary>The accepted shapes, in words, e.g. <c>input of shape (N, 32, H, W)</c>.</summary>
    private protected abstract string ExpectedInput { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => ForwardCore(input, Fusion.None);

    /// <summary>
    /// The layer, or fused with what follows when a container asks: relu(this(input)) in one pass over
    /// the output (<see cref="Fusion.Relu"/>, see <c>Functional.BatchNormRelu</c>), or
    /// max_pool2d(relu(this(input)), 2) as one operation (<see cref="Fusion.ReluMaxPool2"/>, where
    /// <c>Functional.CanFusePool</c> accepts the input). The same values as the layers one after the other.
    /// </summary>
    private protected override Tensor ForwardCore(Tensor input, Fusion fusion)
    {
        if (!Accepts(input)) throw ShapeException.ForLayer(LayerName, ExpectedInput, input.ShapeString);
        bool useBatchStats = IsTraining || !TrackRunningStats;
        if (IsTraining) Functional.CheckMoreThanOneValuePerChannel(LayerName, input, layer: true);
        double factor = Momentum ?? 0.0;
        if (IsTraining && NumBatchesTracked is { } count)
        {
            count.Data.Span[0] += 1;
            if (Momentum is null) factor = 1.0 / count.Data.Span[0];
        }
        return fusion switch
        {
            Fusion.Relu => Functional.BatchNormRelu(input, RunningMean, RunningVar, Weight, Bias, useBatchStats, factor, Eps),
            Fusion.ReluMaxPool2 => Functional.BatchNormReluMaxPool2(input, RunningMean, RunningVar, Weight, Bias, useBatchStats, factor, Eps),
            _ => Functional.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, useBatchStats, factor, Eps),
        };
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={PyFormat.Float(Eps)}, momentum={(Momentum is { } m ? PyFormat.Float(m) : "None")}, " +
        $"affine={PyFormat.Bool(Affine)}, track_running_stats={PyFormat.Bool(TrackRunningStats)}";
}

/// <summary>
/// Batch normalization over (N, C) or (N, C, L), as <c>nn.BatchNorm1d</c>: per feature
/// y = (x - mean) / sqrt(var + eps) * gamma + beta, with the batch's statistics in training and the
/// running ones in evaluation (see <see cref="BatchNormBase"/>).
/// </summary>
public sealed class BatchNorm1d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">The number of features (channels) C.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="momentum">The weight of a new batch in the running statistics; null for the cumulative average.</param>
    /// <param name="affine">Learn gamma (ones) and beta (zeros).</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in evaluation.</param>
    public BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override bool Accepts(Tensor input) => input.Rank is 2 or 3 && input.Shape[1] == NumFeatures;

    private protected override string ExpectedInput => $"input of shape (N, {NumFeatures}) or (N, {NumFeatures}, L)";
}

/// <summary>
/// Batch normalization over (N, C, H, W), as <c>nn.BatchNorm2d</c>: per channel, over the batch and
/// all positions, y = (x - mean) / sqrt(var + eps) * gamma + beta, with the batch's statistics in
/// training and the running ones in evaluation (see <see cref="BatchNormBase"/>).
/// </summary>
public sealed class BatchNorm2d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numFeatures">The number of channels C.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <param name="momentum">The weight of a new batch in the running statistics; null for the cumulative average.</param>
    /// <param name="affine">Learn gamma (ones) and beta (zeros).</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in evaluation.</param>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override bool Accepts(Tensor input) => input.Rank == 4 && input.Shape[1] == NumFeatures;

    private protected override string ExpectedInput => $"input of shape (N, {NumFeatures}, H, W)";
}
