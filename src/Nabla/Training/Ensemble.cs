namespace Nabla.Training;

/// <summary>
/// Deep ensembles (Lakshminarayanan, Pritzel and Blundell 2017): train M copies of a network from
/// different random initializations (and data orders) and average their predictions.
/// </summary>
/// <remarks>
/// Why it helps: the members reach different minima that agree where the data pins the function
/// down and disagree away from it, so the average is more accurate, better calibrated, and less
/// confident on unfamiliar inputs than any single member. It is the strongest simple baseline for
/// predictive uncertainty, at M times the cost of training and inference. The members' disagreement
/// gives the same entropy decomposition as <see cref="McDropout"/> (feed <see cref="Calibration.Entropy"/>
/// each member's probabilities).
/// </remarks>
public static class Ensemble
{
    /// <summary>
    /// Combines the members' logits, each of shape (N, C), into probabilities of shape (N, C) —
    /// by averaging the probabilities (the default) or the logits (see <see cref="EnsembleCombine"/>).
    /// </summary>
    /// <remarks>The softmax and the average are computed in double per row, with the row maximum subtracted.</remarks>
    /// <param name="memberOutputs">One logits tensor per member, all of the same shape (N, C).</param>
    /// <param name="how">What to average (default <see cref="EnsembleCombine.Probabilities"/>).</param>
    /// <exception cref="ArgumentException">There are no members, or <paramref name="how"/> is not a defined value.</exception>
    /// <exception cref="ShapeException">A member is not of shape (N, C), or not of member 0's shape.</exception>
    public static Tensor Combine(IReadOnlyList<Tensor> memberOutputs, EnsembleCombine how = EnsembleCombine.Probabilities)
    {
        const string op = "Ensemble.Combine";
        ArgumentNullException.ThrowIfNull(memberOutputs);
        if (memberOutputs.Count == 0)
            throw new ArgumentException($"{op}: expected at least one member's logits; got none", nameof(memberOutputs));
        if (how is not (EnsembleCombine.Probabilities or EnsembleCombine.Logits))
            throw new ArgumentException($"{op}: unknown combination {how}", nameof(how));
        var first = memberOutputs[0] ?? throw new ArgumentNullException(nameof(memberOutputs), $"{op}: member 0 is null");
        if (first.Rank != 2)
            throw new ShapeException(op, "member logits of shape (N, C)", $"member 0 of shape {first.ShapeString}");
        for (int m = 1; m < memberOutputs.Count; m++)
        {
            var x = memberOutputs[m] ?? throw new ArgumentNullException(nameof(memberOutputs), $"{op}: member {m} is null");
            if (!x.SameShape(first))
                throw new ShapeException(op, $"every member of member 0's shape {first.ShapeString}", $"member {m} of shape {x.ShapeString}");
        }

        int n = first.Shape[0], c = first.Shape[1], count = memberOutputs.Count;
        var result = Tensor.Owned([n, c], clear: false);
        var r = result.Span;
        var acc = new double[c];
        var tmp = new double[c];
        for (int i = 0; i < n; i++)
        {
            Array.Clear(acc);
            for (int m = 0; m < count; m++)
            {
                var row = memberOutputs[m].Span.Slice(i * c, c);
                if (how == EnsembleCombine.Probabilities)
                {
                    for (int j = 0; j < c; j++) tmp[j] = row[j];
                    SoftmaxInPlace(tmp);
                    for (int j = 0; j < c; j++) acc[j] += tmp[j];
                }
                else
                    for (int j = 0; j < c; j++) acc[j] += row[j];
            }
            for (int j = 0; j < c; j++) acc[j] /= count;
            if (how == EnsembleCombine.Logits) SoftmaxInPlace(acc);
            for (int j = 0; j < c; j++) r[i * c + j] = (float)acc[j];
        }
        return result;
    }

    static void SoftmaxInPlace(Span<double> v)
    {
        double max = double.NegativeInfinity;
        foreach (double x in v) if (x > max) max = x;
        double s = 0;
        for (int j = 0; j < v.Length; j++) s += v[j] = Math.Exp(v[j] - max);
        for (int j = 0; j < v.Length; j++) v[j] /= s;
    }
}
