using Nabla;
using Nabla.Nn;

/// <summary>
/// The FLOPs of one forward pass, counted with forward hooks on every convolution and linear layer
/// (2 per multiply-add; element-wise work, normalization and pooling are left out, as usual). A
/// training step is counted as 3x the forward (forward, input gradient, weight gradient).
/// </summary>
static class FlopCount
{
    public static double Forward(Module model, int[] inputShape)
    {
        double macs = 0;
        var handles = model.Modules().Select(m => m.RegisterForwardHook((mod, x, y) =>
        {
            if (mod is Conv2d c) macs += (double)y.Numel * (c.InChannels / c.Groups) * c.KernelSize.H * c.KernelSize.W;
            else if (mod is Linear l) macs += (double)y.Numel * l.InFeatures;
        })).ToList();
        bool was = model.IsTraining;
        model.Eval();
        using (Autograd.NoGrad())
        using (TensorScope.Begin())
            model.Forward(Tensor.Zeros([1, .. inputShape]));
        model.Train(was);
        foreach (var h in handles) h.Dispose();
        return 2 * macs;
    }

    /// <summary>The FMA peak of this sitting on the benchmark's threads (set by fma_peak, which runs first).</summary>
    public static double Peak { get; set; } = double.NaN;

    /// <summary>gflops_effective as a fraction of the FMA peak of this sitting.</summary>
    public static double? OfPeak(double gflops) => double.IsNaN(Peak) ? null : Math.Round(gflops / Peak, 3);
}
