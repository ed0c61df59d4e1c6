using System.Diagnostics;
using System.Text.Json;
using Nabla;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

/// <summary>
/// The training and inference workloads of shared/BENCHMARKS.md, built exactly as the libtorch
/// anchor builds them. One step = zero grads, forward, loss, backward, optimizer step, inside a
/// <see cref="TensorScope"/> (the engine's memory reuse). bytes_per_step is the managed allocation
/// per steady-state step (GC.GetTotalAllocatedBytes(true) before and after the timed steps).
/// </summary>
static class TrainingWorkloads
{
    public static Sequential Mlp(Generator g) => new(
        new Linear(784, 512, generator: g), new Relu(), new Linear(512, 256, generator: g), new Relu(), new Linear(256, 10, generator: g));

    public static Sequential Cnn(Generator g) => new(
        new Conv2d(1, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1, generator: g), new BatchNorm2d(64), new Relu(), new MaxPool2d(2),
        new Flatten(), new Dropout(0.5, generator: g), new Linear(64 * 7 * 7, 10, generator: g));

    public static Sequential ResNet8(Generator g) => new(
        new Conv2d(3, 16, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(16), new Relu(),
        new BasicBlock(16, 16, 1, g), new BasicBlock(16, 32, 2, g), new BasicBlock(32, 64, 2, g),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(64, 10, generator: g));

    public static void MlpTrain(double seconds)
    {
        var g = new Generator(0);
        var model = Mlp(g);
        Train("mlp_train", model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9), [784], 128, seconds, g);
    }

    public static void CnnTrain(double seconds)
    {
        var g = new Generator(0);
        var model = Cnn(g);
        Train("cnn_train", model, new AdamW(model.Parameters(), lr: 1e-3), [1, 28, 28], 128, seconds, g);
    }

    public static void ResNet8Train(double seconds)
    {
        var g = new Generator(0);
        var model = ResNet8(g);
        Train("resnet8_train", model, new Sgd(model.Parameters(), lr: 0.1, momentum: 0.9, weightDecay: 5e-4), [3, 32, 32], 64, seconds, g);
    }

    /// <summary>
    /// torchvision's ResNet-18 (resnet18(num_classes=1000)): a 7x7 stride-2 convolution, batch norm,
    /// ReLU and 3x3 stride-2 max pooling, four stages of two BasicBlocks (64, 128, 256, 512 channels),
    /// global average pooling and a 1000-way linear layer; 3.64 GFLOP per 224 x 224 image forward.
    /// </summary>
    public static Sequential ResNet18(Generator g) => new(
        new Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false, generator: g), new BatchNorm2d(64), new Relu(), new MaxPool2d(3, 2, 1),
        new BasicBlock(64, 64, 1, g), new BasicBlock(64, 64, 1, g),
        new BasicBlock(64, 128, 2, g), new BasicBlock(128, 128, 1, g),
        new BasicBlock(128, 256, 2, g), new BasicBlock(256, 256, 1, g),
        new BasicBlock(256, 512, 2, g), new BasicBlock(512, 512, 1, g),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(512, 1000, generator: g));

    /// <summary>resnet18_train: torchvision's ResNet-18 at batch 32 on 3 x 224 x 224, SGD with momentum (as the libtorch anchor).</summary>
    public static void ResNet18Train(double seconds)
    {
        var g = new Generator(0);
        var model = ResNet18(g);
        Train("resnet18_train", model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9, weightDecay: 1e-4), [3, 224, 224], 32, Math.Max(seconds, 10), g, warmup: 2);
    }

    public static void CnnInfer(double seconds)
    {
        var g = new Generator(0);
        var model = Cnn(g);
        model.Eval();
        var prepared = model.ForInference(1, 28, 28);
        var x = Tensor.Randn([256, 1, 28, 28], g);
        double flops = FlopCount.Forward(model, [1, 28, 28]);
        foreach (var (path, forward) in new (string, Func<Tensor, Tensor>)[] { ("forward", model.Forward), ("for_inference", prepared.Forward) })
        {
            var (rate, bytes, median) = Rate(() =>
            {
                using var scope = TensorScope.Begin();
                using var noGrad = Autograd.NoGrad();
                forward(x);
            }, 3, seconds);
            double gflops = rate * 256 * flops / 1e9;
            Emit(new { engine = "nabla", workload = "cnn_infer", path, batch = 256, threads = Threading.NumThreads, samples_per_s = Math.Round(rate * 256, 1),
                samples_per_s_median = Math.Round(median * 256, 1), gflops_effective = Math.Round(gflops, 1), fraction_of_fma_peak = FlopCount.OfPeak(gflops), bytes_per_step = bytes });
        }
    }

    /// <summary>
    /// Where a step of each training workload spends its time: module forwards (inclusive of
    /// children), backward rules by operation, the optimizer step; milliseconds per step.
    /// </summary>
    public static void Profile(double seconds)
    {
        if (!OpProfiler.Available)
        {
            Console.Error.WriteLine("nabla-bench: profile needs NABLA_PROFILE=1 (without it the profiler compiles to nothing); skipped");
            return;
        }
        var g = new Generator(0);
        var mlp = Mlp(g);
        ProfileOne("mlp_train", mlp, new Sgd(mlp.Parameters(), lr: 0.01, momentum: 0.9), [784], 128, seconds, g);
        var cnn = Cnn(g);
        ProfileOne("cnn_train", cnn, new AdamW(cnn.Parameters(), lr: 1e-3), [1, 28, 28], 128, seconds, g);
        var infer = Cnn(g);
        infer.Eval();
        var xi = Tensor.Randn([256, 1, 28, 28], g);
        for (int i = 0; i < 3; i++) InferStep(infer, xi);
        OpProfiler.Start();
        var swi = Stopwatch.StartNew();
        int stepsi = 0;
        while (swi.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            InferStep(infer, xi);
            OpProfiler.Add("step (all)", t0);
            stepsi++;
        }
        foreach (var (entry, ms, calls) in OpProfiler.Stop())
            Emit(new { engine = "nabla", workload = "profile", model = "cnn_infer", entry, ms_per_step = Math.Round(ms / stepsi, 3), calls_per_step = calls / stepsi });
        var resnet = ResNet8(g);
        ProfileOne("resnet8_train", resnet, new Sgd(resnet.Parameters(), lr: 0.1, momentum: 0.9, weightDecay: 5e-4), [3, 32, 32], 64, seconds, g);
    }

    static void InferStep(Module model, Tensor x)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        model.Forward(x);
    }

    static void ProfileOne(string name, Module model, Optimizer optimizer, int[] inShape, int batch, double seconds, Generator g)
    {
        model.Train();
        var x = Tensor.Randn([batch, .. inShape], g);
        var y = Tensor.Randint(0, 10, [batch], g);
        var loss = new CrossEntropyLoss();
        void Step()
        {
            using var scope = TensorScope.Begin();
            long t0 = Stopwatch.GetTimestamp();
            optimizer.ZeroGrad();
            OpProfiler.Add("zero_grad", t0);
            var l = loss.Forward(model.Forward(x), y);
            t0 = Stopwatch.GetTimestamp();
            l.Backward();
            OpProfiler.Add("backward (all)", t0);
            t0 = Stopwatch.GetTimestamp();
            optimizer.Step();
            OpProfiler.Add("optimizer.step", t0);
            t0 = Stopwatch.GetTimestamp();
        }
        for (int i = 0; i < 5; i++) Step();
        OpProfiler.Start();
        var sw = Stopwatch.StartNew();
        int steps = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            Step();
            OpProfiler.Add("step (all)", t0);
            steps++;
        }
        foreach (var (entry, ms, calls) in OpProfiler.Stop())
            Emit(new { engine = "nabla", workload = "profile", model = name, entry, ms_per_step = Math.Round(ms / steps, 3), calls_per_step = calls / steps });
    }

    static void Train(string name, Module model, Optimizer optimizer, int[] inShape, int batch, double seconds, Generator g, int warmup = 5)
    {
        model.Train();
        var x = Tensor.Randn([batch, .. inShape], g);
        var y = Tensor.Randint(0, 10, [batch], g);
        var loss = new CrossEntropyLoss();
        var (rate, bytes, _) = Rate(() =>
        {
            using var scope = TensorScope.Begin();
            optimizer.ZeroGrad();
            var l = loss.Forward(model.Forward(x), y);
            l.Backward();
            optimizer.Step();
        }, warmup, seconds);
        double gflops = rate * batch * 3 * FlopCount.Forward(model, inShape) / 1e9;
        Emit(new { engine = "nabla", workload = name, batch, threads = Threading.NumThreads, samples_per_s = Math.Round(rate * batch, 1),
            gflops_effective = Math.Round(gflops, 1), fraction_of_fma_peak = FlopCount.OfPeak(gflops), bytes_per_step = bytes });
    }

    /// <summary>
    /// The shortest warm-up: .NET compiles the code around the kernels in tiers, and a prepared ResNet-18 at batch 1 ran
    /// 37-46 images/s in its first 1.5 seconds and 49-51 after (2026-12-07), which a mean over 3 seconds would carry.
    /// </summary>
    const double WarmupSeconds = 1.0;

    /// <summary>
    /// Steps per second over at least <paramref name="seconds"/> after a warm-up of at least <paramref name="warmup"/>
    /// (and 3) steps and <see cref="WarmupSeconds"/>; the median of the steps' own rates, the figure ONNX Runtime's anchor
    /// reports; and managed bytes allocated per step.
    /// </summary>
    internal static (double Rate, long BytesPerStep, double MedianRate) Rate(Action step, int warmup, double seconds)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < Math.Max(3, warmup) || warm.Elapsed.TotalSeconds < WarmupSeconds; i++) step();
        var ticks = new long[1 << 16]; // allocated before the count of bytes starts
        long before = GC.GetTotalAllocatedBytes(true);
        var sw = Stopwatch.StartNew();
        long n = 0, last = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            step();
            long now = sw.ElapsedTicks;
            if (n < ticks.Length) ticks[n] = now - last;
            last = now;
            n++;
        }
        double rate = n / sw.Elapsed.TotalSeconds;
        long bytes = (GC.GetTotalAllocatedBytes(true) - before) / n;
        int recorded = (int)Math.Min(n, ticks.Length);
        Array.Sort(ticks, 0, recorded);
        return (rate, bytes, Stopwatch.Frequency / (double)ticks[recorded / 2]);
    }

    internal static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));
}
