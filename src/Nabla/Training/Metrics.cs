using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Classification metrics over class scores of shape (N, C) and class-index targets of shape (N)
/// (float tensors holding integers, as Nabla's losses take them).
/// </summary>
/// <remarks>
/// The predicted class is the index of the highest score (the first one on ties, like
/// <c>torch.argmax</c>). Top-k accuracy counts a sample as right when its target is among the k
/// highest scores; a tie at the k-th place counts the target in only if fewer than k scores beat it.
/// The confusion matrix has rows = true class and columns = predicted class (scikit-learn's
/// convention), so per-class accuracy (recall) is the diagonal over each row's sum.
/// </remarks>
public static class Metrics
{
    /// <summary>The fraction of samples whose highest score is the target class.</summary>
    public static double Accuracy(Tensor scores, Tensor targets) => TopKAccuracy(scores, targets, 1);

    /// <summary>The fraction of samples whose target class is among the <paramref name="k"/> highest scores.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is below 1 or above the number of classes.</exception>
    public static double TopKAccuracy(Tensor scores, Tensor targets, int k)
    {
        var (n, c) = CheckScores(scores, targets, "TopKAccuracy");
        if (k < 1 || k > c)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k ({k}) must be between 1 and the number of classes ({c})");
        return n == 0 ? double.NaN : (double)CountTopK(scores, targets, k) / n;
    }

    /// <summary>
    /// The C x C confusion matrix: entry [t, p] counts samples of true class t predicted as p.
    /// <paramref name="predictions"/> is either scores of shape (N, C) or predicted class indices of shape (N).
    /// </summary>
    public static long[,] ConfusionMatrix(Tensor predictions, Tensor targets, int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        var m = new long[numClasses, numClasses];
        AddConfusion(m, predictions, targets, "ConfusionMatrix");
        return m;
    }

    /// <summary>Each class's accuracy (recall): the diagonal of <paramref name="confusion"/> over its row sum; NaN for a class with no samples.</summary>
    public static double[] PerClassAccuracy(long[,] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int c = confusion.GetLength(0);
        var acc = new double[c];
        for (int t = 0; t < c; t++)
        {
            long row = 0;
            for (int p = 0; p < confusion.GetLength(1); p++) row += confusion[t, p];
            acc[t] = row == 0 ? double.NaN : (double)confusion[t, t] / row;
        }
        return acc;
    }

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="loader"/> in evaluation mode without
    /// gradients and returns the accumulated loss, accuracy, top-k accuracy and confusion matrix.
    /// The model's previous mode is restored afterwards.
    /// </summary>
    public static MetricsAccumulator Evaluate(Module model, DataLoader loader, Loss loss, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentNullException.ThrowIfNull(loss);
        var acc = new MetricsAccumulator(topK);
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var noGrad = Autograd.NoGrad();
            foreach (var batch in loader)
            {
                using var scope = TensorScope.Begin();
                var output = model.Forward(batch.Inputs);
                acc.Add(output, batch.Targets, LossSum(loss, output, batch.Targets));
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return acc;
    }

    /// <summary>The batch's loss summed over samples (the trainer and the evaluator both average per sample).</summary>
    internal static double LossSum(Loss loss, Tensor output, Tensor targets) =>
        LossSum(loss, loss.Forward(output, targets), output.Shape.Length == 0 ? 1 : output.Shape[0]);

    internal static double LossSum(Loss loss, Tensor value, int batch)
    {
        if (value.Numel != 1)
            throw new ArgumentException($"Training needs a scalar loss; got shape {value.ShapeString}\nhint: use Reduction.Mean or Reduction.Sum", nameof(loss));
        double v = value.Item();
        return loss.Reduction == Reduction.Sum ? v : v * batch;
    }

    /// <summary>Whether the pair is class scores (N, C) with class-index targets (N).</summary>
    internal static bool IsClassification(Tensor scores, Tensor targets) =>
        scores.Shape.Length == 2 && targets.Shape.Length == 1 && targets.Shape[0] == scores.Shape[0];

    internal static (int N, int C) CheckScores(Tensor scores, Tensor targets, string op)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(targets);
        if (!IsClassification(scores, targets))
            throw new ShapeException(op, "scores of shape (N, C) and targets of shape (N)",
                $"scores {scores.ShapeString} and targets {targets.ShapeString}");
        return (scores.Shape[0], scores.Shape[1]);
    }

    internal static int Target(ReadOnlySpan<float> targets, int i, int c, string op)
    {
        float t = targets[i];
        if (!(t >= 0 && t < c) || t != MathF.Floor(t))
            throw new ArgumentException($"{op}: target {t} at row {i} is not a class index in [0, {c})", nameof(targets));
        return (int)t;
    }

    /// <summary>Samples whose target is among the k highest scores: fewer than k scores beat the target's.</summary>
    internal static long CountTopK(Tensor scores, Tensor targets, int k)
    {
        int n = scores.Shape[0], c = scores.Shape[1];
        var s = scores.Span;
        var t = targets.Span;
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            var row = s.Slice(i * c, c);
            int target = Target(t, i, c, "TopKAccuracy");
            float v = row[target];
            int better = 0;
            // Ties before the target count against it, so k = 1 agrees with argmax's first-index rule.
            for (int j = 0; j < c && better < k; j++)
                if (row[j] > v || (row[j] == v && j < target)) better++;
            if (better < k) hits++;
        }
        return hits;
    }

    /// <summary>
    /// Scores (N, C) against class probabilities of the same shape (MixUp, CutMix, label mixing):
    /// at least two classes, and every target row a distribution (non-negative, summing to 1), so a
    /// regression or a multi-label target of the output's shape is not taken for one.
    /// </summary>
    internal static bool IsSoftClassification(Tensor scores, Tensor targets)
    {
        if (scores.Shape.Length != 2 || !targets.Shape.SequenceEqual(scores.Shape) || scores.Shape[1] < 2) return false;
        int n = scores.Shape[0], c = scores.Shape[1];
        var t = targets.Span;
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            foreach (float v in t.Slice(i * c, c))
            {
                if (!(v >= 0)) return false;
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-3) return false;
        }
        return true;
    }

    /// <summary>
    /// Hits against soft targets: the prediction is the target's largest class (with MixUp, the
    /// image that dominates the blend), the usual reading of training accuracy under batch mixing.
    /// </summary>
    internal static long CountCorrectSoft(Tensor scores, Tensor targets)
    {
        int n = scores.Shape[0], c = scores.Shape[1];
        var s = scores.Span;
        var t = targets.Span;
        long hits = 0;
        for (int i = 0; i < n; i++)
            if (ArgMax(s.Slice(i * c, c)) == ArgMax(t.Slice(i * c, c))) hits++;
        return hits;
    }

    /// <summary>
    /// Correct top-1 predictions, or -1 when a target is not a class index (a regression whose
    /// output happens to be (N, 1)): the trainer then reports no accuracy instead of failing.
    /// </summary>
    internal static long TryCountCorrect(Tensor scores, Tensor targets)
    {
        int n = scores.Shape[0], c = scores.Shape[1];
        var s = scores.Span;
        var t = targets.Span;
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            float ti = t[i];
            if (!(ti >= 0 && ti < c) || ti != MathF.Floor(ti)) return -1;
            if (ArgMax(s.Slice(i * c, c)) == (int)ti) hits++;
        }
        return hits;
    }

    internal static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++)
            if (row[j] > row[best]) best = j;
        return best;
    }

    internal static void AddConfusion(long[,] m, Tensor predictions, Tensor targets, string op)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        int c = m.GetLength(0);
        var t = targets.Span;
        var p = predictions.Span;
        if (predictions.Shape.Length == 1 && targets.Shape.Length == 1 && predictions.Shape[0] == targets.Shape[0])
        {
            for (int i = 0; i < t.Length; i++)
            {
                float pi = p[i];
                if (!(pi >= 0 && pi < c) || pi != MathF.Floor(pi))
                    throw new ArgumentException($"{op}: prediction {pi} at row {i} is not a class index in [0, {c})", nameof(predictions));
                m[Target(t, i, c, op), (int)pi]++;
            }
            return;
        }
        var (n, cols) = CheckScores(predictions, targets, op);
        if (cols != c)
            throw new ShapeException(op, $"scores with {c} classes", predictions.ShapeString);
        for (int i = 0; i < n; i++)
            m[Target(t, i, c, op), ArgMax(p.Slice(i * c, c))]++;
    }
}
