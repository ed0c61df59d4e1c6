namespace Nabla.Training;

/// <summary>
/// Accumulates loss, accuracy, top-k accuracy and the confusion matrix over batches, so a metric
/// over a whole dataset is exact (per-sample averages, not an average of batch averages).
/// </summary>
/// <remarks>
/// The number of classes is taken from the first batch's scores (N, C). Top-k uses
/// min(k, C), so the default k = 5 also works with fewer classes.
/// </remarks>
public sealed class MetricsAccumulator
{
    long _samples, _correct, _topKCorrect;
    double _lossSum;
    bool _hasLoss;
    long[,]? _confusion;

    /// <summary>Creates an empty accumulator reporting top-<paramref name="topK"/> accuracy.</summary>
    public MetricsAccumulator(int topK = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        TopK = topK;
    }

    /// <summary>The k of <see cref="TopKAccuracy"/> as requested (it is capped at the number of classes).</summary>
    public int TopK { get; }

    /// <summary>The number of samples added.</summary>
    public long Samples => _samples;

    /// <summary>The mean loss per sample, or NaN when no loss was added.</summary>
    public double Loss => _samples == 0 || !_hasLoss ? double.NaN : _lossSum / _samples;

    /// <summary>The fraction of samples classified correctly (NaN before any sample).</summary>
    public double Accuracy => _samples == 0 ? double.NaN : (double)_correct / _samples;

    /// <summary>The fraction of samples whose target is among the top min(k, C) scores (NaN before any sample).</summary>
    public double TopKAccuracy => _samples == 0 ? double.NaN : (double)_topKCorrect / _samples;

    /// <summary>The confusion matrix so far (rows = true class), a copy; empty before any sample.</summary>
    public long[,] ConfusionMatrix => _confusion is null ? new long[0, 0] : (long[,])_confusion.Clone();

    /// <summary>Each class's accuracy (recall) so far; NaN for a class without samples.</summary>
    public double[] PerClassAccuracy => Metrics.PerClassAccuracy(ConfusionMatrix);

    /// <summary>
    /// Adds one batch of scores (N, C) and class-index targets (N), with the batch's loss summed over
    /// its samples when there is one (pass the mean loss times N for a mean-reduced loss).
    /// </summary>
    public void Add(Tensor scores, Tensor targets, double? lossSum = null)
    {
        var (n, c) = Metrics.CheckScores(scores, targets, "MetricsAccumulator");
        _confusion ??= new long[c, c];
        if (_confusion.GetLength(0) != c)
            throw new ShapeException("MetricsAccumulator", $"scores with {_confusion.GetLength(0)} classes (as in the first batch)", scores.ShapeString);
        long before = 0;
        for (int t = 0; t < c; t++) before += _confusion[t, t];
        Metrics.AddConfusion(_confusion, scores, targets, "MetricsAccumulator");
        long after = 0;
        for (int t = 0; t < c; t++) after += _confusion[t, t];
        _correct += after - before;
        _topKCorrect += Metrics.CountTopK(scores, targets, Math.Min(TopK, c));
        _samples += n;
        if (lossSum is double l)
        {
            _lossSum += l;
            _hasLoss = true;
        }
    }
}
