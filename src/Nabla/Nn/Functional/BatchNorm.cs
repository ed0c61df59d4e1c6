using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// Batch normalization, as <c>F.batch_norm</c>: each channel is normalized by a mean and a
    /// variance, then scaled by <paramref name="weight"/> (gamma) and shifted by <paramref name="bias"/>
    /// (beta). Shapes: input (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)); the other tensors (C).
    /// </summary>
    /// <remarks>
    /// <para>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta, with eps inside the square root.
    /// In training the mean and the biased variance (divided by M = N * L or N * H * W) are the
    /// current batch's; the running statistics, when given, are updated in place:
    /// running_mean = (1 - momentum) running_mean + momentum mean and running_var = (1 - momentum)
    /// running_var + momentum var_unbiased (divided by M - 1). Momentum 0.1 weights the new batch, the
    /// opposite convention to Keras's 0.99. In evaluation the running statistics are used and left alone.
    /// </para>
    /// <para>
    /// Why two modes: normalizing with the batch's own statistics keeps each layer's input
    /// distribution steady while the layers below change, and its gradient flows through the mean and
    /// variance (so the network cannot undo the normalization by shifting its activations). At test
    /// time one example must not depend on the others in its batch, and a batch may hold one example,
    /// so the fixed running averages, estimated during training, stand in for the batch's.
    /// </para>
    /// <para>
    /// Fused kernels, channel by channel (in parallel over channels for large inputs): forward takes
    /// the mean, then the squared deviations from it (two passes, not E[x^2] - E[x]^2), then writes
    /// the output in one sweep. Backward makes one pass for Σ dy and Σ dy (x - mean) and one writing
    /// dx = (gamma invstd / M) (M dy - Σ dy - x̂ Σ dy x̂), with dgamma = Σ dy x̂ and dbeta = Σ dy.
    /// Only the per-channel mean and 1/sqrt(var + eps) are saved: x̂ is recomputed from the input
    /// (which the graph holds anyway), which costs one subtraction and one multiplication per element
    /// instead of an activation-sized buffer written in forward and read back in backward.
    /// The running statistics get no gradient.
    /// </para>
    /// </remarks>
    /// <param name="input">The input (N, C, *).</param>
    /// <param name="runningMean">The running mean (C), updated in place in training; may be null in training.</param>
    /// <param name="runningVar">The running variance (C), updated in place in training; may be null in training.</param>
    /// <param name="weight">gamma (C), or null for 1.</param>
    /// <param name="bias">beta (C), or null for 0.</param>
    /// <param name="training">Use the batch's statistics (and update the running ones) rather than the running ones.</param>
    /// <param name="momentum">The weight of the new batch in the running statistics.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <exception cref="ShapeException">The input has fewer than 2 dimensions, a per-channel tensor is not of
    /// shape (C), or training gets one value per channel.</exception>
    /// <exception cref="ArgumentException">Evaluation without running statistics.</exception>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null,
        Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: false);

    /// <summary>
    /// relu(batch_norm(...)) as one operation: the ReLU is applied to each run of the output while it
    /// is still in cache, which saves a full read and write of the activation in the forward pass
    /// (BatchNorm2d followed by ReLU is the commonest pair in convolutional networks). Backward masks
    /// the gradient by the saved output and continues as batch norm's.
    /// </summary>
    internal static Tensor BatchNormRelu(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true);

    /// <summary>
    /// max_pool2d(relu(batch_norm(...)), 2) as one operation, for (N, C, H, W) input with H * W at
    /// least 16: the normalized, rectified activation is never written to memory. The forward pass
    /// reads the input twice (statistics, then normalize-rectify-pool) and writes only the pooled
    /// output and its argmax; backward sends each pooled gradient to its window's maximum where it
    /// was positive and runs batch norm's backward plane by plane. The values equal those of the
    /// three layers one after the other (the gradient's sums are taken in another order).
    /// </summary>
    internal static Tensor BatchNormReluMaxPool2(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true, pool: true);

    /// <summary>Whether <see cref="BatchNormReluMaxPool2"/> takes this input: (N, C, H, W) with planes of at least 16 pixels, H and W at least 2.</summary>
    internal static bool CanFusePool(Tensor input) =>
        input.Rank == 4 && input.Dims[2] >= 2 && input.Dims[3] >= 2 && input.Dims[2] * input.Dims[3] >= BatchNormKernel.MinRun;

    static Tensor BatchNormCore(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight,
        Tensor? bias, bool training, double momentum, double eps, bool relu, bool pool = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        const string op = "batch_norm";
        if (input.Rank < 2)
            throw new ShapeException(op, "input of shape (N, C, *) with at least 2 dimensions", input.ShapeString);
        int c = input.Dims[1];
        CheckPerChannel(op, "running_mean", runningMean, c);
        CheckPerChannel(op, "running_var", runningVar, c);
        CheckPerChannel(op, "weight", weight, c);
        CheckPerChannel(op, "bias", bias, c);
        if (!training && runningMean is null)
            throw new ArgumentException("batch_norm: running_mean must be defined in evaluation mode", nameof(runningMean));
        if (!training && runningVar is null)
            throw new ArgumentException("batch_norm: running_var must be defined in evaluation mode", nameof(runningVar));
        if (training) CheckMoreThanOneValuePerChannel(op, input);

        Tensor? argmax = null;
        int[] outDims = (int[])input.Dims.Clone();
        BatchNormKernel.Pooling? pooling = null;
        if (pool)
        {
            if (!CanFusePool(input))
                throw new ShapeException("batch_norm_relu_max_pool2d", "input of shape (N, C, H, W) with H, W >= 2 and H * W >= 16", input.ShapeString);
            (outDims[2], outDims[3]) = (input.Dims[2] / 2, input.Dims[3] / 2);
            argmax = new Tensor((int[])outDims.Clone(), clear: false);
            pooling = new BatchNormKernel.Pooling(input.Dims[2], input.Dims[3], argmax.Storage);
        }
        var plan = new BatchNormKernel.Plan(input.Storage, input.Dims[0], c, TrailingSize(input, 2), weight?.Storage, bias?.Storage, training, relu, pooling);
        var y = new Tensor(outDims, clear: false);
        if (!training)
        {
            var rm = runningMean!.Storage;
            var rv = runningVar!.Storage;
            for (int i = 0; i < c; i++)
            {
                plan.Mean[i] = rm[i];
                plan.InvStd[i] = (float)(1 / Math.Sqrt(rv[i] + eps));
            }
        }
        BatchNormKernel.Forward(plan, y.Storage, eps, momentum, training ? runningMean?.Storage : null, training ? runningVar?.Storage : null);

        Tensor[] inputs = AffineInputs(input, weight, bias);
        return Tensor.Record(y, pool ? "batch_norm_relu_max_pool2d" : relu ? "batch_norm_relu" : "batch_norm", inputs, g =>
        {
            if (relu && !pool && !plan.ChannelRuns)
            {
                // The gradient passes where the output is positive (ReLU's rule on the saved output);
                // channel runs mask it run by run inside the backward sweeps instead.
                var masked = new Tensor((int[])g.Dims.Clone(), clear: false);
                Kernels.Activation.ReluBackward(y.Storage, g.Storage, masked.Storage);
                g = masked;
            }
            var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
            var gw = weight is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
            var gb = bias is { RequiresGrad: true } ? new Tensor([c], clear: false) : null;
            BatchNormKernel.Backward(plan, g.Storage, gx?.Storage, gw?.Storage, gb?.Storage,
                reluOutput: relu && !pool && plan.ChannelRuns ? y.Storage : null, pooledOutput: pool ? y.Storage : null);
            return AffineGrads(inputs, gx, gw, gb, weight, bias);
        });
    }

    /// <summary>
    /// Batch statistics need two values per channel: with one the variance is 0 and every output is
    /// beta. PyTorch refuses such a training batch; it is typically an epoch's last, partial batch.
    /// </summary>
    /// <param name="op">The function or, with <paramref name="layer"/>, the layer (<c>BatchNorm2d(3)</c>) named in the error.</param>
    /// <param name="input">The training input.</param>
    /// <param name="layer">Word the error as a layer's (<c>BatchNorm2d(3) expects ...</c>).</param>
    internal static void CheckMoreThanOneValuePerChannel(string op, Tensor input, bool layer = false)
    {
        if (input.Rank >= 2 && (long)input.Dims[0] * TrailingSize(input, 2) == 1)
        {
            const string expected = "more than 1 value per channel when training";
            const string hint = "a batch of one sample has no batch statistics; drop the last partial batch or call Eval()";
            string actual = $"input size {input.ShapeString}";
            throw layer ? ShapeException.ForLayer(op, expected, actual, hint) : new ShapeException(op, expected, actual, hint);
        }
    }

    static void CheckPerChannel(string op, string name, Tensor? t, int channels)
    {
        if (t is not null && (t.Rank != 1 || t.Dims[0] != channels))
            throw new ShapeException(op, $"{name} of shape [{channels}] (one value per channel)", t.ShapeString);
    }

    /// <summary>The product of the dimensions from <paramref name="start"/> on (1 when there are none).</summary>
    static int TrailingSize(Tensor t, int start)
    {
        int s = 1;
        for (int i = start; i < t.Rank; i++) s *= t.Dims[i];
        return s;
    }
}
