using System.Buffers;
using System.Numerics.Tensors;
using Nabla.Kernels;

using Nabla.Nn;

namespace Nabla.Losses;

public abstract partial class Loss
{
    /// <summary>
    /// Cross-entropy against class probabilities (the target has the input's shape), PyTorch's
    /// second form of <c>F.cross_entropy</c>: per sample -sum_c w_c t_c log_softmax(x)_c with the
    /// smoothed target t = target (1 - eps) + eps / C; the mean divides by the number of samples.
    /// </summary>
    /// <remarks>
    /// Fused like the index form: one pass per sample finds the maximum m and
    /// lr = log1p(sum over c != argmax of exp(x_c - m)), so -log_softmax(x)_c = (m - x_c) + lr stays
    /// exact for logits in the thousands; the sum over classes is in float64, which makes a one-hot
    /// target give the index form's value bit for bit. Backward: d loss / dx_c = T p_c - w_c t_c
    /// with p = softmax(x) and T = sum_c w_c t_c, times the output's gradient.
    /// </remarks>
    static Tensor CrossEntropyProbabilities(Tensor input, Tensor target, Reduction reduction, double eps, Tensor? weight)
    {
        const string op = "cross_entropy";
        var layout = CheckProbabilityTarget(op, input, target);
        CheckClassWeight(op, weight, layout.C);
        int count = layout.Count, c = layout.C, s = layout.S;
        var xs = input.Storage;
        var ts = target.Storage;
        var ws = weight?.Storage;
        double keep = 1 - eps, spread = eps / c;

        // Per sample: m and lr rebuild softmax in backward; T = sum_c w_c t_c scales it.
        var maxes = new float[count];
        var logSums = new float[count];
        var weightSums = new double[count];
        int[] outDims = input.Rank == 1 ? [] : [input.Dims[0], .. input.Dims[2..]];
        var reduce = new SampleReduction(reduction, outDims);
        var buf = s == 1 && count > 0 ? ArrayPool<float>.Shared.Rent(c) : null;
        for (int k = 0; k < count; k++)
        {
            float m;
            double lr, loss = 0, tw = 0;
            int b = s == 1 ? k * c : layout.At(k, 0);
            (m, lr) = RowLogSumExp(xs, b, s, c, buf);
            for (int j = 0; j < c; j++)
            {
                int at = b + j * s;
                double wt = (ws is null ? 1.0 : ws[j]) * (keep * ts[at] + spread);
                if (wt != 0) loss += wt * ((m - (double)xs[at]) + lr);
                tw += wt;
            }
            maxes[k] = m;
            logSums[k] = (float)lr;
            weightSums[k] = tw;
            reduce.Add(k, loss);
        }
        if (buf is not null) ArrayPool<float>.Shared.Return(buf);
        // PyTorch divides by the number of samples here, not by a sum of weights.
        var output = reduce.Output(count);

        return Tensor.Record(output, op, [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone(), clear: false);
            var d = gx.Storage;
            var scales = reduce.Scales(g, count);
            for (int k = 0; k < count; k++)
            {
                double scale = scales[k];
                double onP = scale * weightSums[k];
                if (s == 1 && ws is null)
                {
                    var row = xs.AsSpan(k * c, c);
                    var dr = d.AsSpan(k * c, c);
                    TensorPrimitives.Subtract(row, maxes[k], dr);
                    TensorPrimitives.Subtract(dr, logSums[k], dr);
                    TensorPrimitives.Exp(dr, dr);
                    TensorPrimitives.Multiply(dr, (float)onP, dr);
                    TensorPrimitives.MultiplyAdd(ts.AsSpan(k * c, c), (float)(-scale * keep), dr, dr);
                    if (eps > 0) TensorPrimitives.Subtract(dr, (float)(scale * spread), dr);
                }
                else
                {
                    for (int j = 0; j < c; j++)
                    {
                        int at = layout.At(k, j);
                        double p = Math.Exp(((double)xs[at] - maxes[k]) - logSums[k]);
                        double wt = (ws is null ? 1.0 : ws[j]) * (keep * ts[at] + spread);
                        d[at] = (float)(onP * p - scale * wt);
                    }
                }
            }
            return [gx];
        });
    }

    /// <summary>
    /// Checks a probability target: the input's shape exactly and finite entries. Like PyTorch,
    /// negative entries or rows not summing to 1 are accepted (they are a caller's choice, e.g. a
    /// re-weighted mixture); NaN or infinity would only poison the loss, so the culprit is named.
    /// </summary>
    static ClassLayout CheckProbabilityTarget(string op, Tensor input, Tensor target)
    {
        int[] indexShape = input.Rank == 1 ? [] : [input.Dims[0], .. input.Dims[2..]];
        if (!target.SameShape(input))
            throw new ShapeException(op, $"a target of class probabilities of the input's shape {input.ShapeString}",
                target.ShapeString, $"a target of class indices has shape {ShapeException.Str(indexShape)}");
        var ts = target.Storage;
        for (int i = 0; i < ts.Length; i++)
            if (!float.IsFinite(ts[i]))
                throw new ShapeException(op, "finite class probabilities",
                    $"{ts[i]} at target{ShapeException.Str(Unravel(target.Dims, i))}");
        int s = 1;
        for (int i = 2; i < input.Rank; i++) s *= input.Dims[i];
        return input.Rank == 1 ? new(1, input.Dims[0], 1) : new(input.Dims[0], input.Dims[1], s);
    }
}
