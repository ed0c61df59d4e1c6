using System.Buffers;
using System.Numerics.Tensors;
using Nabla.Kernels;

using Nabla.Nn;

namespace Nabla.Losses;

public abstract partial class Loss
{
    /// <summary>
    /// Cross-entropy of logits against class indices or class probabilities, as
    /// <c>F.cross_entropy</c>: log-softmax, the negative log-likelihood of the target and label
    /// smoothing in one fused operation.
    /// </summary>
    /// <param name="input">Logits (N, C), (N, C, d1, ...) or unbatched (C).</param>
    /// <param name="target">
    /// Either class indices as integer-valued floats in [0, C): (N), (N, d1, ...) or (); or class
    /// probabilities of the input's shape (soft labels, MixUp/CutMix targets), which are not
    /// checked to be non-negative or to sum to 1 (as PyTorch), only to be finite.
    /// </param>
    /// <param name="reduction">
    /// Mean over samples (default; with indices and weights: divided by the sum of the targets'
    /// weights; with probabilities: always divided by the number of samples N * d1 * ..., as PyTorch),
    /// Sum, or None (one loss per sample, shape (N, d1, ...) or ()).
    /// </param>
    /// <param name="labelSmoothing">epsilon in [0, 1]: the target distribution is (1 - epsilon) target + epsilon / C, the target one-hot for indices.</param>
    /// <param name="weight">Optional per-class weights (C), constants.</param>
    /// <remarks>
    /// <para>
    /// Per sample, with lse = log sum_c exp(x_c) and w_c the class weights (1 without weight):
    /// loss = (1 - eps) w_y (lse - x_y) + eps / C sum_c w_c (lse - x_c), PyTorch's definition.
    /// lse is m + log1p(sum over c != argmax of exp(x_c - m)) with m the maximum, in float64, so
    /// logits in the thousands are fine and a confident correct prediction keeps its tiny loss
    /// (2.8e-11 for scores [5, -20, -20]) instead of rounding to 0.
    /// </para>
    /// <para>
    /// Backward (fused): d loss / dx_c = (1 - eps) w_y (p_c - [c = y]) + eps / C (W p_c - w_c), with
    /// p = softmax(x) and W = sum_c w_c; without weights it is softmax minus the smoothed one-hot.
    /// </para>
    /// <para>
    /// Probability targets t (after smoothing: t (1 - eps) + eps / C): loss = sum_c w_c t_c (lse - x_c),
    /// the cross-entropy of the predicted distribution against t (its KL divergence plus t's entropy).
    /// Backward: d loss / dx_c = (sum_j w_j t_j) p_c - w_c t_c, softmax minus the target when t
    /// sums to 1 and there are no weights. The target gets no gradient. A one-hot probability
    /// target gives exactly the value of the matching class index.
    /// </para>
    /// </remarks>
    /// <exception cref="ShapeException">Mismatched shapes, a class index that is not an integer in [0, C), or a probability that is NaN or infinite (the value and its position are named).</exception>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        double labelSmoothing = 0, Tensor? weight = null)
    {
        const string op = "cross_entropy";
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        Loss.CheckReduction(reduction, op);
        CheckLabelSmoothing(labelSmoothing);
        // PyTorch's rule: a target with the input's rank holds probabilities, one rank less holds indices.
        if (input.Rank > 0 && target.Rank == input.Rank)
            return CrossEntropyProbabilities(input, target, reduction, labelSmoothing, weight);
        var layout = CheckClassTarget(op, input, target, allowSpatial: true);
        CheckClassWeight(op, weight, layout.C);
        int count = layout.Count, c = layout.C, s = layout.S;
        var xs = input.Storage;
        var ts = target.Storage;
        var ws = weight?.Storage;
        double eps = labelSmoothing;
        double wAll = ws is null ? c : Sum64(ws);

        // Per sample: the maximum m and log(sum exp(x - m)), what backward needs to rebuild softmax.
        var maxes = new float[count];
        var logSums = new float[count];
        var reduce = new SampleReduction(reduction, (int[])target.Dims.Clone());
        double wTargets = 0;
        var buf = s == 1 && count > 0 ? ArrayPool<float>.Shared.Rent(c) : null;
        for (int k = 0; k < count; k++)
        {
            int y = (int)ts[k];
            double wy = ws is null ? 1 : ws[y];
            float m;
            double lr, weightedSum = 0;
            int b = s == 1 ? k * c : layout.At(k, 0);
            (m, lr) = RowLogSumExp(xs, b, s, c, buf);
            if (eps > 0)
                for (int j = 0; j < c; j++) weightedSum += (ws is null ? 1.0 : ws[j]) * xs[b + j * s];
            maxes[k] = m;
            logSums[k] = (float)lr;
            double loss = (1 - eps) * wy * ((m - (double)xs[layout.At(k, y)]) + lr);
            if (eps > 0) loss += eps / c * (wAll * (m + lr) - weightedSum);
            reduce.Add(k, loss);
            wTargets += wy;
        }
        if (buf is not null) ArrayPool<float>.Shared.Return(buf);
        var output = reduce.Output(wTargets);

        return Tensor.Record(output, op, [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone(), clear: false);
            var d = gx.Storage;
            var scales = reduce.Scales(g, wTargets);
            for (int k = 0; k < count; k++)
            {
                int y = (int)ts[k];
                double wy = ws is null ? 1 : ws[y];
                double scale = scales[k];
                double onP = scale * ((1 - eps) * wy + eps / c * wAll); // coefficient of p_c
                double smooth = scale * eps / c;                        // times w_c, subtracted
                if (s == 1)
                {
                    var row = xs.AsSpan(k * c, c);
                    var dr = d.AsSpan(k * c, c);
                    TensorPrimitives.Subtract(row, maxes[k], dr);
                    TensorPrimitives.Subtract(dr, logSums[k], dr);
                    TensorPrimitives.Exp(dr, dr);
                    TensorPrimitives.Multiply(dr, (float)onP, dr);
                    if (eps > 0)
                    {
                        if (ws is null) TensorPrimitives.Subtract(dr, (float)smooth, dr);
                        else TensorPrimitives.MultiplyAdd(ws, (float)-smooth, dr, dr);
                    }
                }
                else
                {
                    for (int j = 0; j < c; j++)
                    {
                        int at = layout.At(k, j);
                        double p = Math.Exp(((double)xs[at] - maxes[k]) - logSums[k]);
                        d[at] = (float)(onP * p - smooth * (ws is null ? 1.0 : ws[j]));
                    }
                }
                d[layout.At(k, y)] -= (float)(scale * (1 - eps) * wy);
            }
            return [gx];
        });
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities, as <c>F.nll_loss</c>: loss = -w_y x[y] per
    /// sample. Shapes as <see cref="CrossEntropy"/>; the mean divides by the sum of the targets'
    /// weights (N without weights).
    /// </summary>
    /// <remarks>
    /// Use after <see cref="LogSoftmax"/>; <see cref="CrossEntropy"/> does both in one kernel.
    /// Backward: -w_y at the target position of each sample, 0 elsewhere.
    /// </remarks>
    /// <exception cref="ShapeException">Mismatched shapes, or a target that is not an integer in [0, C).</exception>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null)
    {
        const string op = "nll_loss";
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        Loss.CheckReduction(reduction, op);
        var layout = CheckClassTarget(op, input, target, allowSpatial: true);
        CheckClassWeight(op, weight, layout.C);
        int count = layout.Count;
        var xs = input.Storage;
        var ts = target.Storage;
        var ws = weight?.Storage;
        var reduce = new SampleReduction(reduction, (int[])target.Dims.Clone());
        double wTargets = 0;
        for (int k = 0; k < count; k++)
        {
            int y = (int)ts[k];
            double wy = ws is null ? 1 : ws[y];
            reduce.Add(k, -wy * xs[layout.At(k, y)]);
            wTargets += wy;
        }
        var output = reduce.Output(wTargets);
        return Tensor.Record(output, op, [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone());
            var scales = reduce.Scales(g, wTargets);
            for (int k = 0; k < count; k++)
            {
                int y = (int)ts[k];
                double wy = ws is null ? 1 : ws[y];
                gx.Storage[layout.At(k, y)] = (float)(-scales[k] * wy);
            }
            return [gx];
        });
    }

    internal static void CheckLabelSmoothing(double labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing,
                $"cross_entropy: expected labelSmoothing in [0, 1]; got {labelSmoothing}");
    }

    static double Sum64(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float f in v) s += f;
        return s;
    }

    /// <summary>
    /// The largest of the C logits x[b + j s] and log(sum_j exp(x_j - max)), computed as log1p of the
    /// sum without the maximum's own term (1), which keeps it exact when one logit dominates (the
    /// lecture table's 2.8e-11). A NaN logit gives NaN. <paramref name="buf"/> holds C floats for the
    /// contiguous case (s = 1), which runs on vectorized spans.
    /// </summary>
    internal static (float Max, double LogRest) RowLogSumExp(float[] xs, int b, int s, int c, float[]? buf)
    {
        if (s == 1)
        {
            var row = xs.AsSpan(b, c);
            float m = TensorPrimitives.Max(row);
            var t = buf.AsSpan(0, c);
            TensorPrimitives.Subtract(row, m, t);
            TensorPrimitives.Exp(t, t);
            t[TensorPrimitives.IndexOfMax(row)] = 0; // its exp(0) = 1 is the 1 of log1p
            double rest = 0;
            for (int j = 0; j < c; j++) rest += t[j];
            return (m, SpecialFunctions.Log1p(rest));
        }
        int am = b;
        float mx = xs[b];
        for (int j = 1; j < c && !float.IsNaN(mx); j++)
        {
            float v = xs[b + j * s];
            if (v > mx || float.IsNaN(v)) { mx = v; am = b + j * s; }
        }
        double r = 0;
        for (int j = 0; j < c; j++)
        {
            int at = b + j * s;
            if (at != am) r += Math.Exp((double)xs[at] - mx);
        }
        if (float.IsNaN(mx)) r = double.NaN;
        return (mx, SpecialFunctions.Log1p(r));
    }
}
