
using Nabla.Nn;

namespace Nabla.Losses;

public abstract partial class Loss
{
    /// <summary>
    /// The multi-class margin loss of PyTorch, as <c>F.multi_margin_loss</c>: per sample,
    /// sum over i != y of w_y max(0, margin - x_y + x_i)^p, divided by the number of classes C.
    /// </summary>
    /// <param name="input">Scores (N, C) or unbatched (C).</param>
    /// <param name="target">Class indices as integer-valued floats in [0, C): (N), or () for unbatched input.</param>
    /// <param name="reduction">Mean over samples (default), Sum, or None (shape (N)).</param>
    /// <param name="p">1 (hinge, default) or 2 (squared hinge).</param>
    /// <param name="margin">How far the true score must lead the others (default 1).</param>
    /// <param name="weight">Optional per-class weights (C), constants.</param>
    /// <remarks>
    /// The division by C is PyTorch's; <see cref="MulticlassHingeLoss"/> is the lecture's version
    /// without it. Gradient, for each term with z = margin - x_y + x_i &gt; 0: +1 (p = 1) or 2z
    /// (p = 2) to x_i and the negative to x_y, times w_y / C.
    /// </remarks>
    public static Tensor MultiMarginLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        int p = 1, double margin = 1, Tensor? weight = null)
    {
        CheckMarginPower(p);
        return MarginLoss("multi_margin_loss", input, target, reduction, p, margin, weight, divideByClasses: true);
    }

    /// <summary>
    /// The multi-class SVM (hinge) loss of the lecture (Weston-Watkins): per sample,
    /// sum over k != y of max(0, s_k - s_y + margin), NOT divided by the number of classes.
    /// </summary>
    /// <param name="input">Scores (N, C) or unbatched (C).</param>
    /// <param name="target">Class indices as integer-valued floats in [0, C): (N), or () for unbatched input.</param>
    /// <param name="reduction">Mean over samples (default), Sum, or None (shape (N)).</param>
    /// <param name="margin">The required lead of the true class's score (default 1).</param>
    /// <remarks>
    /// The loss is 0 as soon as the true class wins by the margin, however the other scores are
    /// spread; cross-entropy instead keeps pushing. Scores [5, -3, 2], [5, 10, 10], [5, -20, -20]
    /// with true class 0 give 0, 12 and 0. Equals <see cref="MultiMarginLoss"/> times C.
    /// </remarks>
    public static Tensor MulticlassHingeLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double margin = 1) =>
        MarginLoss("multiclass_hinge_loss", input, target, reduction, 1, margin, null, divideByClasses: false);

    internal static void CheckMarginPower(int p)
    {
        if (p is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"multi_margin_loss: expected p = 1 or 2; got {p}");
    }

    static Tensor MarginLoss(string op, Tensor input, Tensor target, Reduction reduction, int p, double margin,
        Tensor? weight, bool divideByClasses)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        Loss.CheckReduction(reduction, op);
        var layout = CheckClassTarget(op, input, target, allowSpatial: false);
        CheckClassWeight(op, weight, layout.C);
        int n = layout.N, c = layout.C;
        var xs = input.Storage;
        var ts = target.Storage;
        var ws = weight?.Storage;
        double div = divideByClasses ? c : 1;
        var reduce = new SampleReduction(reduction, (int[])target.Dims.Clone());
        for (int k = 0; k < n; k++)
        {
            int y = (int)ts[k];
            int b = k * c;
            double xy = xs[b + y], sum = 0;
            for (int i = 0; i < c; i++)
            {
                if (i == y) continue;
                double z = margin - xy + xs[b + i];
                if (z > 0) sum += p == 1 ? z : z * z;
            }
            reduce.Add(k, (ws is null ? 1 : ws[y]) * sum / div);
        }
        var output = reduce.Output(n);
        return Tensor.Record(output, op, [input], g =>
        {
            var gx = new Tensor((int[])input.Dims.Clone());
            var d = gx.Storage;
            var scales = reduce.Scales(g, (double)n);
            for (int k = 0; k < n; k++)
            {
                int y = (int)ts[k];
                int b = k * c;
                double scale = scales[k] * (ws is null ? 1 : ws[y]) / div;
                double xy = xs[b + y], toY = 0;
                for (int i = 0; i < c; i++)
                {
                    if (i == y) continue;
                    double z = margin - xy + xs[b + i];
                    if (z <= 0) continue;
                    double gi = scale * (p == 1 ? 1 : 2 * z);
                    d[b + i] = (float)gi;
                    toY -= gi;
                }
                d[b + y] = (float)toY;
            }
            return [gx];
        });
    }
}
