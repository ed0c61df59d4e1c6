namespace Nabla.Losses;

/// <summary>
/// The reduction of the class losses, written once: forward collects one loss per sample, into the
/// per-sample output (<see cref="Reduction.None"/>) or a float64 total (Mean, Sum); backward gives
/// each sample the scale of its gradient: its own output gradient, or the scalar's shared one
/// (divided by the same denominator for the mean).
/// </summary>
internal sealed class SampleReduction(Reduction reduction, int[] perSampleDims)
{
    readonly Tensor? _perSample = reduction == Reduction.None ? new Tensor(perSampleDims, clear: false) : null;
    double _total;

    /// <summary>Records sample <paramref name="k"/>'s loss.</summary>
    public void Add(int k, double loss)
    {
        if (_perSample is not null) _perSample.Storage[k] = (float)loss;
        else _total += loss;
    }

    /// <summary>The output: the per-sample losses, or the 0-dimensional sum or sum / <paramref name="denominator"/>.</summary>
    public Tensor Output(double denominator) => _perSample ?? Loss.ScalarLoss(reduction, _total, denominator);

    /// <summary>The gradient scale of each sample, from the output's gradient <paramref name="g"/>.</summary>
    public GradientScale Scales(Tensor g, double denominator) =>
        new(reduction == Reduction.None ? g.Storage : null, reduction == Reduction.Mean ? g.Storage[0] / denominator : g.Storage[0]);

    /// <summary>
    /// As <see cref="Scales(Tensor, double)"/> for a mean over <paramref name="samples"/>, dividing in
    /// float as the probability-target cross-entropy always has (its gradients stay bitwise as they were).
    /// </summary>
    public GradientScale Scales(Tensor g, int samples) =>
        new(reduction == Reduction.None ? g.Storage : null, reduction == Reduction.Mean ? g.Storage[0] / samples : g.Storage[0]);

    /// <summary>Sample k's scale: its own output gradient (no reduction) or the shared one.</summary>
    internal readonly struct GradientScale(float[]? perSample, double shared)
    {
        public double this[int k] => perSample is null ? shared : perSample[k];
    }
}
