using Nabla;
using Nabla.Onnx;

/// <summary>
/// resnet18_infer of shared/BENCHMARKS.md on the anchor's own file: ML.NET's ImageNet ResNet-18
/// (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18), imported with <see cref="OnnxModule"/>, in
/// evaluation mode, 3x224x224, batch 1 and 32. About 4.1 GFLOP per image (torchvision's ResNet-18
/// plus two 512-channel 3x3 convolutions, no classifier), from which gflops_effective is computed.
/// </summary>
static class ResNet18Infer
{
    const double FlopsPerImage = 4.1e9;

    /// <summary>Where the prepared model's time goes, per kind of node (needs NABLA_PROFILE=1).</summary>
    public static void Profile(double seconds)
    {
        var model = Pretrained.ResNet18ImageNet().ForInference(3, 224, 224);
        foreach (int batch in new[] { 1, 32 })
        {
            var x = Tensor.Randn([batch, 3, 224, 224], new Generator(0));
            for (int i = 0; i < 2; i++) using (TensorScope.Begin()) model.Forward(x);
            OpProfiler.Start();
            int runs = 0;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                using (TensorScope.Begin()) model.Forward(x);
                runs++;
            }
            foreach (var (entry, ms, calls) in OpProfiler.Stop().OrderByDescending(e => e.Ms))
                TrainingWorkloads.Emit(new { engine = "nabla", workload = "resnet18_infer_profile", batch, entry, ms_per_run = Math.Round(ms / runs, 2), calls_per_run = calls / runs });
        }
    }

    /// <summary>
    /// Batch 1, prepared, in half-second intervals, each between two measures of <see cref="CoreLatency"/>:
    /// which of the host's placements of the two cores each interval ran in (docs/performance.md).
    /// </summary>
    public static void Placement(double seconds)
    {
        var model = Pretrained.ResNet18ImageNet();
        model.Eval();
        var prepared = model.ForInference(3, 224, 224);
        var x = Tensor.Randn([1, 3, 224, 224], new Generator(0));
        void Step()
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Autograd.NoGrad();
            prepared.Forward(x);
        }
        for (int i = 0; i < 3; i++) Step();
        var total = System.Diagnostics.Stopwatch.StartNew();
        for (int interval = 0; total.Elapsed.TotalSeconds < seconds; interval++)
        {
            double before = CoreLatency.RoundTripNs();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int n = 0;
            while (sw.Elapsed.TotalSeconds < 0.5) { Step(); n++; }
            double rate = n / sw.Elapsed.TotalSeconds;
            double after = CoreLatency.RoundTripNs();
            TrainingWorkloads.Emit(new
            {
                engine = "nabla", workload = "resnet18_infer_placement", batch = 1, threads = Threading.NumThreads, interval,
                samples_per_s = Math.Round(rate, 1), round_trip_ns_before = Math.Round(before), round_trip_ns_after = Math.Round(after),
            });
        }
    }

    public static void Run(double seconds)
    {
        var model = Pretrained.ResNet18ImageNet();
        model.Eval();
        var prepared = model.ForInference(3, 224, 224);
        foreach (int batch in new[] { 1, 32 })
        {
            var x = Tensor.Randn([batch, 3, 224, 224], new Generator(0));
            foreach (var (path, forward) in new (string, Func<Tensor, Tensor>)[] { ("forward", model.Forward), ("for_inference", prepared.Forward) })
            {
                var (rate, bytes, median) = TrainingWorkloads.Rate(() =>
                {
                    using var scope = TensorScope.Begin();
                    using var noGrad = Autograd.NoGrad();
                    forward(x);
                }, 2, seconds);
                double gflops = rate * batch * FlopsPerImage / 1e9;
                TrainingWorkloads.Emit(new
                {
                    engine = "nabla", workload = "resnet18_infer", path, batch, threads = Threading.NumThreads,
                    samples_per_s = Math.Round(rate * batch, 1),
                    samples_per_s_median = Math.Round(median * batch, 1), gflops_effective = Math.Round(gflops, 1),
                    fraction_of_fma_peak = FlopCount.OfPeak(gflops), bytes_per_step = bytes,
                });
            }
        }
    }
}
