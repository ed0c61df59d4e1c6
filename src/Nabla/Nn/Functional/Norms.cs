using System.Numerics.Tensors;

using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// Layer normalization, as <c>F.layer_norm</c>: every sample is normalized over its last
    /// dimensions (those of <paramref name="normalizedShape"/>), then scaled and shifted element by
    /// element. Shapes: input (*, normalized_shape...); weight and bias normalized_shape.
    /// </summary>
    /// <remarks>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta, with the mean and the biased variance of each
    /// sample's D = prod(normalized_shape) values. Unlike batch norm the statistics never mix samples,
    /// so training and evaluation compute the same thing and a batch of one is fine (why transformers
    /// and recurrent networks use it). Fused kernels, row by row: two passes for the statistics and one
    /// writing the output; backward one pass for Σ gamma dy and Σ gamma dy (x - mean) (accumulating
    /// dgamma and dbeta as it goes) and one writing dx. x̂ is recomputed from the input and the saved
    /// per-row mean and 1/sqrt(var + eps).
    /// </remarks>
    /// <param name="input">The input (*, normalized_shape...).</param>
    /// <param name="normalizedShape">The trailing dimensions to normalize over.</param>
    /// <param name="weight">gamma, of shape normalized_shape, or null for 1.</param>
    /// <param name="bias">beta, of shape normalized_shape, or null for 0.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <exception cref="ShapeException">The input does not end in normalized_shape, or weight or bias does not have it.</exception>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        const string op = "layer_norm";
        string shape = ShapeException.Str(normalizedShape);
        if (normalizedShape.Length == 0)
            throw new ArgumentException("layer_norm: expected normalized_shape to have at least one dimension; got []", nameof(normalizedShape));
        if (input.Rank < normalizedShape.Length || !input.Shape[^normalizedShape.Length..].SequenceEqual(normalizedShape))
            throw new ShapeException(op, $"input of shape [*, {shape[1..^1]}] (ending in normalized_shape {shape})", input.ShapeString);
        if (weight is not null && !weight.Shape.SequenceEqual(normalizedShape))
            throw new ShapeException(op, $"weight of shape {shape} (normalized_shape)", weight.ShapeString);
        if (bias is not null && !bias.Shape.SequenceEqual(normalizedShape))
            throw new ShapeException(op, $"bias of shape {shape} (normalized_shape)", bias.ShapeString);

        int d = Tensor.NumelOf(normalizedShape);
        int rows = d == 0 ? 0 : input.Numel / d;
        var x = input.Storage;
        var y = new Tensor((int[])input.Dims.Clone(), clear: false);
        var ys = y.Storage;
        var gamma = weight?.Storage;
        var beta = bias?.Storage;
        var mean = new float[rows];
        var inv = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * d, d);
            var yr = ys.AsSpan(r * d, d);
            double mu = NormKernels.Sum(xr) / d;
            mean[r] = (float)mu;
            inv[r] = (float)(1 / Math.Sqrt(NormKernels.SumSqDev(xr, mean[r]) / d + eps));
            if (gamma is not null && beta is not null) NormKernels.AffineElementwise(xr, mean[r], inv[r], gamma, beta, yr);
            else
            {
                NormKernels.Affine(xr, mean[r], inv[r], 0f, yr);
                if (gamma is not null) TensorPrimitives.Multiply(yr, gamma, yr);
                if (beta is not null) TensorPrimitives.Add(yr, beta, yr);
            }
        }

        Tensor[] inputs = AffineInputs(input, weight, bias);
        return Tensor.Record(y, "layer_norm", inputs, g =>
        {
            var dy = g.Storage;
            var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
            bool wantGamma = weight is { RequiresGrad: true }, wantBeta = bias is { RequiresGrad: true };
            var dGamma = new RowAccumulator(wantGamma ? d : 0);
            var dBeta = new RowAccumulator(wantBeta ? d : 0);
            for (int r = 0; r < rows; r++)
            {
                var xr = x.AsSpan(r * d, d);
                var gr = dy.AsSpan(r * d, d);
                if (wantGamma) NormKernels.AccumulateDGamma(gr, xr, mean[r], inv[r], dGamma.Row);
                if (wantBeta) TensorPrimitives.Add(dBeta.Row, gr, dBeta.Row);
                dGamma.EndRow(r, rows);
                dBeta.EndRow(r, rows);
                if (gx is null) continue;
                var (sg, sgd) = gamma is not null ? NormKernels.GammaSums(gr, xr, gamma, mean[r])
                    : NormKernels.SumAndDotDev(gr, xr, mean[r]);
                double iv = inv[r];
                float k = (float)(iv * iv * iv * sgd / d), b = (float)(iv * sg / d);
                var dxr = gx.Storage.AsSpan(r * d, d);
                if (gamma is not null) NormKernels.BackwardElementwise(gr, xr, gamma, mean[r], inv[r], k, b, dxr);
                else NormKernels.Backward(gr, xr, mean[r], inv[r], k, b, dxr);
            }
            return AffineGrads(inputs, gx, wantGamma ? dGamma.ToTensor(normalizedShape) : null,
                wantBeta ? dBeta.ToTensor(normalizedShape) : null, weight, bias);
        });
    }

    /// <summary>
    /// Group normalization, as <c>F.group_norm</c>: the C channels of each sample are split into
    /// <paramref name="numGroups"/> groups of C / G channels, each group normalized over its channels
    /// and positions, then every channel scaled and shifted. Shapes: input (N, C, *); weight and bias (C).
    /// </summary>
    /// <remarks>
    /// y = (x - mean) / sqrt(var + eps) * gamma_c + beta_c, with the mean and the biased variance of
    /// the (C / G) * H * W values of a group of one sample. Like layer norm it never mixes samples, so
    /// it works with small batches, where batch norm's statistics become noisy; G = 1 is layer norm
    /// over (C, H, W) with per-channel affine parameters and G = C is instance norm. Fused kernels as
    /// for <see cref="LayerNorm(Tensor, int[], Tensor?, Tensor?, double)"/>, run by run of H * W.
    /// </remarks>
    /// <param name="input">The input (N, C, *).</param>
    /// <param name="numGroups">The number of groups G; it must divide C.</param>
    /// <param name="weight">gamma (C), or null for 1.</param>
    /// <param name="bias">beta (C), or null for 0.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <exception cref="ShapeException">Rank below 2, C not divisible by G, or a per-channel tensor not of shape (C).</exception>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        const string op = "group_norm";
        if (numGroups < 1)
            throw new ArgumentOutOfRangeException(nameof(numGroups), numGroups, $"group_norm: expected num_groups >= 1; got {numGroups}");
        if (input.Rank < 2)
            throw new ShapeException(op, "input of shape (N, C, *) with at least 2 dimensions", input.ShapeString);
        int c = input.Dims[1];
        if (c % numGroups != 0)
            throw new ShapeException(op, $"a number of channels divisible by num_groups = {numGroups}", $"input of shape {input.ShapeString}");
        CheckPerChannel(op, "weight", weight, c);
        CheckPerChannel(op, "bias", bias, c);
        return GroupNormCore(op, input, numGroups, weight, bias, eps, null, out _);
    }

    /// <summary>
    /// Instance normalization, as <c>F.instance_norm</c>: every channel of every sample is normalized
    /// over its own positions (H * W), then scaled and shifted per channel. Shapes: input (N, C, *);
    /// the other tensors (C).
    /// </summary>
    /// <remarks>
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta with the mean and biased variance of one
    /// sample's channel; it removes per-image contrast, which is why style transfer uses it. With
    /// <paramref name="useInputStats"/> and running statistics given, they are updated in place as
    /// PyTorch does: each takes the average over the batch of the per-instance statistics (the
    /// unbiased variance for running_var), weighted by <paramref name="momentum"/>. Without
    /// <paramref name="useInputStats"/> the running statistics normalize the input, as batch norm in
    /// evaluation. This is group norm with G = C and shares its kernels.
    /// </remarks>
    /// <param name="input">The input (N, C, *).</param>
    /// <param name="runningMean">The running mean (C), or null.</param>
    /// <param name="runningVar">The running variance (C), or null.</param>
    /// <param name="weight">gamma (C), or null for 1.</param>
    /// <param name="bias">beta (C), or null for 0.</param>
    /// <param name="useInputStats">Normalize with each instance's statistics (and update the running ones), rather than the running ones.</param>
    /// <param name="momentum">The weight of the new statistics in the running ones.</param>
    /// <param name="eps">Added to the variance inside the square root.</param>
    /// <exception cref="ShapeException">Rank below 2, a per-channel tensor not of shape (C), or one position per channel with input statistics.</exception>
    /// <exception cref="ArgumentException">No running statistics without input statistics.</exception>
    public static Tensor InstanceNorm(Tensor input, Tensor? runningMean = null, Tensor? runningVar = null, Tensor? weight = null,
        Tensor? bias = null, bool useInputStats = true, double momentum = 0.1, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        const string op = "instance_norm";
        if (input.Rank < 2)
            throw new ShapeException(op, "input of shape (N, C, *) with at least 2 dimensions", input.ShapeString);
        int n = input.Dims[0], c = input.Dims[1], s = TrailingSize(input, 2);
        CheckPerChannel(op, "running_mean", runningMean, c);
        CheckPerChannel(op, "running_var", runningVar, c);
        CheckPerChannel(op, "weight", weight, c);
        CheckPerChannel(op, "bias", bias, c);
        if (!useInputStats)
        {
            if (runningMean is null || runningVar is null)
                throw new ArgumentException(
                    $"instance_norm: {(runningMean is null ? "running_mean" : "running_var")} must be defined when useInputStats is false",
                    runningMean is null ? nameof(runningMean) : nameof(runningVar));
            return BatchNorm(input, runningMean, runningVar, weight, bias, training: false, eps: eps);
        }
        if (s == 1)
            throw new ShapeException(op, "more than 1 spatial element when training", $"input size {input.ShapeString}",
                "instance statistics are taken over the positions of one channel of one sample");

        var rowVar = runningVar is null ? null : new double[n * c];
        var y = GroupNormCore(op, input, c, weight, bias, eps, rowVar, out var mean);
        if (n > 0 && s > 0)
        {
            // PyTorch normalizes (1, N*C, *) with the running statistics repeated N times, then
            // stores the average of the N updated copies; this is the same, without the copies.
            for (int ch = 0; ch < c; ch++)
            {
                double m = 0, v = 0;
                for (int i = 0; i < n; i++)
                {
                    m += mean[i * c + ch];
                    if (rowVar is not null) v += rowVar[i * c + ch] * s / (s - 1);
                }
                if (runningMean is not null)
                    runningMean.Span[ch] = (float)((1 - momentum) * runningMean.Span[ch] + momentum * m / n);
                if (runningVar is not null)
                    runningVar.Span[ch] = (float)((1 - momentum) * runningVar.Span[ch] + momentum * v / n);
            }
        }
        return y;
    }

    /// <summary>
    /// Normalization over contiguous groups: the input (N, C, S) is N * G rows of K = C / G runs of
    /// S values; run k of row r is channel (r mod G) K + k and takes that channel's gamma and beta.
    /// </summary>
    static Tensor GroupNormCore(string op, Tensor input, int groups, Tensor? weight, Tensor? bias, double eps,
        double[]? rowVar, out float[] mean)
    {
        int n = input.Dims[0], c = input.Dims[1], s = TrailingSize(input, 2);
        int k = c / groups, len = k * s, rows = n * groups;
        var x = input.Storage;
        var gamma = weight?.Storage;
        var beta = bias?.Storage;
        var y = new Tensor((int[])input.Dims.Clone(), clear: false);
        var ys = y.Storage;
        var mu = mean = new float[rows];
        var inv = new float[rows];
        for (int r = 0; r < rows && len > 0; r++)
        {
            var xr = x.AsSpan(r * len, len);
            mu[r] = (float)(NormKernels.Sum(xr) / len);
            double v = NormKernels.SumSqDev(xr, mu[r]) / len;
            if (rowVar is not null) rowVar[r] = v;
            inv[r] = (float)(1 / Math.Sqrt(v + eps));
            for (int j = 0; j < k; j++)
            {
                int ch = r % groups * k + j, off = r * len + j * s;
                NormKernels.Affine(x.AsSpan(off, s), mu[r], (gamma?[ch] ?? 1f) * inv[r], beta?[ch] ?? 0f, ys.AsSpan(off, s));
            }
        }

        Tensor[] inputs = AffineInputs(input, weight, bias);
        return Tensor.Record(y, op, inputs, g =>
        {
            var dy = g.Storage;
            var gx = input.RequiresGrad ? new Tensor((int[])input.Dims.Clone(), clear: false) : null;
            bool wantGamma = weight is { RequiresGrad: true }, wantBeta = bias is { RequiresGrad: true };
            var dGamma = new double[c];
            var dBeta = new double[c];
            var sdy = new double[k];
            var sdx = new double[k];
            for (int r = 0; r < rows && len > 0; r++)
            {
                int ch0 = r % groups * k;
                double sg = 0, sgd = 0, iv = inv[r];
                for (int j = 0; j < k; j++)
                {
                    int off = r * len + j * s;
                    (sdy[j], sdx[j]) = NormKernels.SumAndDotDev(dy.AsSpan(off, s), x.AsSpan(off, s), mu[r]);
                    dGamma[ch0 + j] += sdx[j] * iv;
                    dBeta[ch0 + j] += sdy[j];
                    double gm = gamma?[ch0 + j] ?? 1.0;
                    sg += gm * sdy[j];
                    sgd += gm * sdx[j];
                }
                if (gx is null) continue;
                float kk = (float)(iv * iv * iv * sgd / len), b = (float)(iv * sg / len);
                for (int j = 0; j < k; j++)
                {
                    int off = r * len + j * s;
                    NormKernels.Backward(dy.AsSpan(off, s), x.AsSpan(off, s), mu[r], (gamma?[ch0 + j] ?? 1f) * inv[r], kk, b,
                        gx.Storage.AsSpan(off, s));
                }
            }
            return AffineGrads(inputs, gx, wantGamma ? ToTensor(dGamma) : null, wantBeta ? ToTensor(dBeta) : null, weight, bias);
        });
    }

    static Tensor[] AffineInputs(Tensor input, Tensor? weight, Tensor? bias) =>
        weight is null ? bias is null ? [input] : [input, bias] : bias is null ? [input, weight] : [input, weight, bias];

    static Tensor?[] AffineGrads(Tensor[] inputs, Tensor? gx, Tensor? gw, Tensor? gb, Tensor? weight, Tensor? bias)
    {
        var grads = new Tensor?[inputs.Length];
        grads[0] = gx;
        int i = 1;
        if (weight is not null) grads[i++] = gw;
        if (bias is not null) grads[i] = gb;
        return grads;
    }

    static Tensor ToTensor(double[] values)
    {
        var t = new Tensor([values.Length], clear: false);
        for (int i = 0; i < values.Length; i++) t.Storage[i] = (float)values[i];
        return t;
    }

    /// <summary>
    /// Per-element sums over rows (layer norm's dgamma and dbeta): rows are added in float into
    /// <see cref="Row"/>, and every <see cref="NormKernels.RowBlock"/> rows carried on in double.
    /// </summary>
    sealed class RowAccumulator(int width)
    {
        public readonly float[] Row = new float[width];
        readonly double[] _total = new double[width];

        public void EndRow(int r, int rows)
        {
            if (width == 0 || ((r + 1) % NormKernels.RowBlock != 0 && r != rows - 1)) return;
            for (int j = 0; j < width; j++) _total[j] += Row[j];
            Array.Clear(Row);
        }

        public Tensor ToTensor(int[] shape) => Functional.ToTensor(_total).Reshape(shape);
    }
}
