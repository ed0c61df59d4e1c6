using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Temperature scaling (Guo et al. 2017): divide a trained classifier's logits by one scalar
/// T &gt; 0, fitted on held-out data to minimize the negative log-likelihood, before the softmax.
/// </summary>
/// <remarks>
/// <para>
/// Why it helps: a network trained to minimize cross-entropy keeps growing its logits after the
/// training set is classified right — larger logits lower the training loss — so on new data its
/// softmax is overconfident. Dividing the logits by T &gt; 1 softens every prediction by the same
/// amount. Because T does not change the order of the logits, the argmax and so the accuracy are
/// untouched; only the confidence moves. One parameter cannot overfit a validation set of a few
/// thousand samples, and in Guo et al.'s study it beat every richer recalibration method.
/// </para>
/// <para>Fit T on a held-out (validation) set, never on the training set, where the model is right and confident.</para>
/// </remarks>
public static class TemperatureScaling
{
    /// <summary>The smallest temperature <see cref="Fit"/> considers.</summary>
    public const double MinTemperature = 0.05;

    /// <summary>The largest temperature <see cref="Fit"/> considers.</summary>
    public const double MaxTemperature = 20;

    const int GridPoints = 41;

    /// <summary>
    /// The temperature T in [<see cref="MinTemperature"/>, <see cref="MaxTemperature"/>] minimizing
    /// the mean NLL of softmax(logits / T) against <paramref name="targets"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The search is over u = log T: a coarse grid of 41 points on [log 0.05, log 20] picks the
    /// best point, then golden-section search refines u within its two neighbours to a width of
    /// 1e-9. NLL(1/T) = mean_i [logsumexp(z_i / T) − z_i[y_i] / T] is convex in 1/T (log-sum-exp is
    /// convex, the rest linear), so it is unimodal in log T and the bracket holds the minimum; the
    /// grid guards against flat stretches where golden-section alone would stall. The NLL is
    /// computed in double with the log-sum-exp shifted by the row maximum. A minimum beyond the
    /// range (data the model separates perfectly wants T → 0) returns the nearer end.
    /// </para>
    /// </remarks>
    /// <param name="logits">Held-out logits of shape (N, C), N ≥ 1.</param>
    /// <param name="targets">Class indices of shape (N).</param>
    /// <exception cref="ShapeException">The shapes are not (N, C) and (N), or N = 0.</exception>
    public static double Fit(Tensor logits, Tensor targets)
    {
        const string op = "TemperatureScaling.Fit";
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (!Metrics.IsClassification(logits, targets) || logits.Shape[0] == 0)
            throw new ShapeException(op, "logits of shape (N, C) and targets of shape (N) with N ≥ 1",
                $"logits {logits.ShapeString} and targets {targets.ShapeString}");
        int n = logits.Shape[0], c = logits.Shape[1];
        var t = targets.Span;
        var y = new int[n];
        for (int i = 0; i < n; i++) y[i] = Metrics.Target(t, i, c, op);
        float[] zs = logits.Storage;

        double lo = Math.Log(MinTemperature), hi = Math.Log(MaxTemperature);
        double step = (hi - lo) / (GridPoints - 1);
        int best = 0;
        double bestNll = double.PositiveInfinity;
        for (int k = 0; k < GridPoints; k++)
        {
            double v = Nll(zs, y, n, c, Math.Exp(lo + k * step));
            if (v < bestNll) { bestNll = v; best = k; }
        }
        double a = lo + Math.Max(best - 1, 0) * step, b = lo + Math.Min(best + 1, GridPoints - 1) * step;

        double invPhi = (Math.Sqrt(5) - 1) / 2;
        double x1 = b - invPhi * (b - a), x2 = a + invPhi * (b - a);
        double f1 = Nll(zs, y, n, c, Math.Exp(x1)), f2 = Nll(zs, y, n, c, Math.Exp(x2));
        while (b - a > 1e-9)
        {
            if (f1 <= f2)
            {
                b = x2; x2 = x1; f2 = f1;
                x1 = b - invPhi * (b - a);
                f1 = Nll(zs, y, n, c, Math.Exp(x1));
            }
            else
            {
                a = x1; x1 = x2; f1 = f2;
                x2 = a + invPhi * (b - a);
                f2 = Nll(zs, y, n, c, Math.Exp(x2));
            }
        }
        double u = (a + b) / 2;
        // The grid point itself can beat the refined one when the bracket sits at a range end.
        return Nll(zs, y, n, c, Math.Exp(u)) <= bestNll ? Math.Exp(u) : Math.Exp(lo + best * step);
    }

    /// <summary>The mean NLL of softmax(z / T), in double.</summary>
    internal static double Nll(float[] z, int[] y, int n, int c, double temperature)
    {
        double inv = 1 / temperature, sum = 0;
        for (int i = 0; i < n; i++)
        {
            int o = i * c;
            float m = z[o];
            for (int j = 1; j < c; j++) if (z[o + j] > m) m = z[o + j];
            double s = 0;
            for (int j = 0; j < c; j++) s += Math.Exp((z[o + j] - m) * inv);
            sum += Math.Log(s) - (z[o + y[i]] - m) * inv;
        }
        return sum / n;
    }

    /// <summary>The calibrated probabilities softmax(logits / <paramref name="temperature"/>) along the last dimension.</summary>
    /// <param name="logits">Logits of shape (N, C).</param>
    /// <param name="temperature">The temperature, positive and finite (from <see cref="Fit"/>).</param>
    /// <returns>Probabilities of shape (N, C).</returns>
    /// <exception cref="ShapeException"><paramref name="logits"/> is not of shape (N, C).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not positive and finite.</exception>
    public static Tensor Apply(Tensor logits, double temperature)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 2)
            throw new ShapeException("TemperatureScaling.Apply", "logits of shape (N, C)", logits.ShapeString);
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature,
                $"TemperatureScaling.Apply: temperature must be positive and finite; got {temperature}");
        return Functional.Softmax(logits * (float)(1 / temperature), 1);
    }
}
