namespace Nabla.Training;

/// <summary>
/// How well predicted probabilities match reality: expected calibration error, reliability
/// diagrams, negative log-likelihood, Brier score and predictive entropy, over probabilities of
/// shape (N, C) (rows summing to 1) and class-index targets of shape (N).
/// </summary>
/// <remarks>
/// <para>
/// A classifier is calibrated when, among the samples it predicts with confidence 0.8, 80% are
/// right. Accuracy says nothing about this: modern deep networks are accurate but overconfident
/// (Guo et al. 2017, "On Calibration of Modern Neural Networks"), and a decision that weighs costs
/// by probability — defer to a human below 90%, say — needs the probability to mean what it says.
/// </para>
/// <para>
/// NLL and Brier are proper scoring rules: their expectation is minimized only by the true
/// probabilities, so they reward calibration and sharpness together. ECE isolates calibration but
/// depends on the binning. All sums are accumulated in double.
/// </para>
/// </remarks>
public static class Calibration
{
    /// <summary>The probability below which <see cref="NegativeLogLikelihood"/> clamps p_target: −log 1e-12 ≈ 27.6.</summary>
    public const double MinProbability = 1e-12;

    /// <summary>
    /// The expected calibration error: the sample-weighted mean gap between accuracy and confidence
    /// over equal-width confidence bins, ECE = Σ_b (n_b / N) |acc_b − conf_b|.
    /// </summary>
    /// <remarks>
    /// Confidence is the highest probability and the prediction its index (the first one on ties).
    /// Bin i of B holds confidences in (i/B, (i+1)/B], with confidence 0 in bin 0 (Guo et al. 2017,
    /// torchmetrics' <c>binary_calibration_error</c> with norm "l1"); the edges are compared at the
    /// float precision of the probabilities, so confidence exactly 1/15 falls in the first of 15
    /// bins. Computed from <see cref="ReliabilityDiagram"/>. Range [0, 1]; 0 is perfect calibration;
    /// NaN when N = 0. Few samples per bin bias ECE upwards: a finite sample has gaps even when calibrated.
    /// </remarks>
    /// <param name="probs">Probabilities of shape (N, C).</param>
    /// <param name="targets">Class indices of shape (N).</param>
    /// <param name="bins">The number of equal-width bins B over [0, 1] (default 15, as Guo et al.).</param>
    /// <exception cref="ShapeException">The shapes are not (N, C) and (N).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bins"/> is below 1.</exception>
    public static double ExpectedCalibrationError(Tensor probs, Tensor targets, int bins = 15)
    {
        var diagram = ReliabilityDiagram(probs, targets, bins);
        long n = 0;
        foreach (var b in diagram) n += b.Count;
        if (n == 0) return double.NaN;
        double ece = 0;
        foreach (var b in diagram)
            if (b.Count > 0) ece += (double)b.Count / n * Math.Abs(b.Accuracy - b.MeanConfidence);
        return ece;
    }

    /// <summary>
    /// The reliability diagram: for each of <paramref name="bins"/> equal-width confidence bins, its
    /// edges, sample count, mean confidence and accuracy (NaN for an empty bin).
    /// </summary>
    /// <remarks>Binning as in <see cref="ExpectedCalibrationError"/>: bin i holds confidences in (i/B, (i+1)/B], confidence 0 in bin 0.</remarks>
    /// <param name="probs">Probabilities of shape (N, C).</param>
    /// <param name="targets">Class indices of shape (N).</param>
    /// <param name="bins">The number of equal-width bins over [0, 1] (default 15).</param>
    /// <exception cref="ShapeException">The shapes are not (N, C) and (N).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bins"/> is below 1.</exception>
    /// <exception cref="ArgumentException">A target is not a class index, or a probability is NaN.</exception>
    public static ReliabilityBin[] ReliabilityDiagram(Tensor probs, Tensor targets, int bins = 15)
    {
        const string op = "ReliabilityDiagram";
        var (n, c) = Check(probs, targets, op);
        if (bins < 1)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, $"{op}: bins ({bins}) must be at least 1");
        var p = probs.Span;
        var t = targets.Span;
        var count = new long[bins];
        var confSum = new double[bins];
        var correct = new long[bins];
        for (int i = 0; i < n; i++)
        {
            var row = p.Slice(i * c, c);
            int pred = Metrics.ArgMax(row);
            float conf = row[pred];
            if (float.IsNaN(conf))
                throw new ArgumentException($"{op}: probability NaN at row {i}", nameof(probs));
            int b = BinOf(conf, bins);
            count[b]++;
            confSum[b] += conf;
            if (Metrics.Target(t, i, c, op) == pred) correct[b]++;
        }
        var result = new ReliabilityBin[bins];
        for (int b = 0; b < bins; b++)
            result[b] = new ReliabilityBin((double)b / bins, (double)(b + 1) / bins, count[b],
                count[b] == 0 ? double.NaN : confSum[b] / count[b],
                count[b] == 0 ? double.NaN : (double)correct[b] / count[b]);
        return result;
    }

    /// <summary>The bin i with conf in (i/B, (i+1)/B], edges rounded to float like the confidence; 0 and below go to bin 0, above 1 to the last.</summary>
    internal static int BinOf(float conf, int bins)
    {
        double guess = Math.Ceiling((double)conf * bins) - 1;
        int b = guess < 0 ? 0 : guess > bins - 1 ? bins - 1 : (int)guess;
        // The double guess can land one bin off an edge that float rounding moved (1/15 * 15 > 1).
        while (b > 0 && conf <= Edge(b, bins)) b--;
        while (b < bins - 1 && conf > Edge(b + 1, bins)) b++;
        return b;
    }

    static float Edge(int i, int bins) => (float)((double)i / bins);

    /// <summary>
    /// The mean negative log-likelihood of the targets, −(1/N) Σ_i log p_i[y_i]: the cross-entropy
    /// of the probabilities, the loss the model was most likely trained on.
    /// </summary>
    /// <remarks>
    /// p_target is clamped below at <see cref="MinProbability"/> (1e-12), so a confidently wrong
    /// sample costs at most −log 1e-12 ≈ 27.6 instead of infinity; without the clamp a single float
    /// underflow would make the whole mean infinite. NaN when N = 0.
    /// </remarks>
    /// <exception cref="ShapeException">The shapes are not (N, C) and (N).</exception>
    public static double NegativeLogLikelihood(Tensor probs, Tensor targets)
    {
        const string op = "NegativeLogLikelihood";
        var (n, c) = Check(probs, targets, op);
        var p = probs.Span;
        var t = targets.Span;
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum -= Math.Log(Math.Max(p[i * c + Metrics.Target(t, i, c, op)], MinProbability));
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>
    /// The multi-class Brier score: the mean over samples of Σ_c (p_c − onehot_c)², the squared
    /// distance between the predicted distribution and the one-hot target (Brier 1950).
    /// </summary>
    /// <remarks>
    /// Range [0, 2]: 0 for a confident right answer, 2 for a confident wrong one, 1 − 1/C for the
    /// uniform prediction. Unlike NLL it is bounded, so a few confidently wrong samples do not
    /// dominate it. NaN when N = 0.
    /// </remarks>
    /// <exception cref="ShapeException">The shapes are not (N, C) and (N).</exception>
    public static double BrierScore(Tensor probs, Tensor targets)
    {
        const string op = "BrierScore";
        var (n, c) = Check(probs, targets, op);
        var p = probs.Span;
        var t = targets.Span;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            int y = Metrics.Target(t, i, c, op);
            for (int j = 0; j < c; j++)
            {
                double d = p[i * c + j] - (j == y ? 1.0 : 0.0);
                sum += d * d;
            }
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>
    /// The entropy of each row, H(p) = −Σ_c p_c log p_c in nats (natural log), with 0 · log 0 = 0:
    /// 0 for a one-hot prediction, log C for the uniform one. High entropy means an uncertain prediction.
    /// </summary>
    /// <param name="probs">Probabilities of shape (N, C).</param>
    /// <returns>N entropies.</returns>
    /// <exception cref="ShapeException"><paramref name="probs"/> is not of shape (N, C).</exception>
    public static double[] Entropy(Tensor probs)
    {
        ArgumentNullException.ThrowIfNull(probs);
        if (probs.Rank != 2)
            throw new ShapeException("Entropy", "probabilities of shape (N, C)", probs.ShapeString);
        int n = probs.Shape[0], c = probs.Shape[1];
        var h = new double[n];
        var p = probs.Span;
        for (int i = 0; i < n; i++) h[i] = EntropyOf(p.Slice(i * c, c));
        return h;
    }

    /// <summary>−Σ p log p over one row, in double; zero (and negative rounding noise) contributes nothing.</summary>
    internal static double EntropyOf(ReadOnlySpan<float> row)
    {
        double h = 0;
        foreach (float v in row)
            if (v > 0) h -= v * Math.Log(v);
        return h;
    }

    /// <summary>The same over a row of doubles.</summary>
    internal static double EntropyOf(ReadOnlySpan<double> row)
    {
        double h = 0;
        foreach (double v in row)
            if (v > 0) h -= v * Math.Log(v);
        return h;
    }

    static (int N, int C) Check(Tensor probs, Tensor targets, string op)
    {
        ArgumentNullException.ThrowIfNull(probs);
        ArgumentNullException.ThrowIfNull(targets);
        if (!Metrics.IsClassification(probs, targets))
            throw new ShapeException(op, "probabilities of shape (N, C) and targets of shape (N)",
                $"probabilities {probs.ShapeString} and targets {targets.ShapeString}");
        return (probs.Shape[0], probs.Shape[1]);
    }
}
