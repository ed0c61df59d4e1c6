// The standard workloads of shared/BENCHMARKS.md on Nabla, printing one JSON object per line.
// Usage: dotnet run -c Release --project bench/Nabla.Bench -- [workload ...] [--threads N] [--seconds S]
// fma_peak runs first, and every model workload prints gflops_effective (from its FLOPs, counted with forward hooks; a
// training step as 3x the forward) and fraction_of_fma_peak. Workloads: gemm (square n = 128..2048, as the libtorch anchor),
// mlp_train, cnn_train, resnet8_train, resnet18_train (torchvision's ResNet-18, batch 32, SGD with momentum),
// cnn_infer (the models of shared/BENCHMARKS.md, with bytes_per_step), resnet18_infer (ML.NET's pretrained
// ResNet-18 imported from ONNX, batch 1 and 32, as the ONNX Runtime anchor runs it), resnet18_infer_placement (batch 1
// in half-second intervals, each with the round trip of a cache line between two threads: where the host put the two
// cores), core_latency (that round trip alone), core_transfer (GB/s of writing and reading 512 KB the other core has
// just written, against 512 KB only this core touches), gemm_skinny (the shapes of training steps: M = 64 or K = 64
// and the linear/convolution shapes of the benchmark models), fma_peak (the processor's FMA ceiling, on 1 and on
// --threads threads: the yardstick for GEMM), loader (augmented Fashion-MNIST batches through Nabla.Vision and the DataLoader, workers 2, 1 and 0), hooks (training steps
// with no module hook ever, hooks registered and removed, and no-op hooks on every module). No name: all.
// `colour_tree OUT [PER_CLASS]` writes the colour image folder docs/own-images.md measures on.
using System.Diagnostics;
using System.Text.Json;
using Nabla;
using Nabla.Kernels;

var workloads = new Dictionary<string, Action<double>>
{
    ["gemm"] = seconds => GemmWorkload.Square(seconds),
    ["gemm_skinny"] = seconds => GemmWorkload.Skinny(seconds),
    ["gemm_linear"] = seconds => GemmWorkload.Linear(seconds),
    ["fma_peak"] = seconds => FmaPeak.Run(seconds, Threading.NumThreads),
    ["conv"] = ConvWorkload.Run,
    ["conv_resnet18"] = ConvWorkload.ResNet18,
    ["mlp_train"] = TrainingWorkloads.MlpTrain,
    ["cnn_train"] = TrainingWorkloads.CnnTrain,
    ["resnet8_train"] = TrainingWorkloads.ResNet8Train,
    ["cnn_infer"] = TrainingWorkloads.CnnInfer,
    ["resnet18_infer"] = ResNet18Infer.Run,
    ["resnet18_train"] = TrainingWorkloads.ResNet18Train,
    ["resnet18_infer_profile"] = ResNet18Infer.Profile, // needs NABLA_PROFILE=1
    ["resnet18_infer_placement"] = ResNet18Infer.Placement,
    ["core_latency"] = _ => TrainingWorkloads.Emit(new { engine = "nabla", workload = "core_latency", round_trip_ns = Math.Round(CoreLatency.RoundTripNs()) }),
    ["core_transfer"] = _ =>
    {
        double rt = CoreLatency.RoundTripNs();
        if (CoreLatency.Transfer() is var (writeOthers, readOthers, writeOwn, readOwn))
            TrainingWorkloads.Emit(new { engine = "nabla", workload = "core_transfer", round_trip_ns = Math.Round(rt), gbps_write_others = writeOthers, gbps_read_others = readOthers, gbps_write_own = writeOwn, gbps_read_own = readOwn });
    },
    ["profile"] = TrainingWorkloads.Profile, // needs NABLA_PROFILE=1
    ["loader"] = LoaderWorkload.Run,
    ["hooks"] = HookWorkload.Run,
};

if (args.Length > 0 && args[0] == "colour_tree") return ColourTree.Write(args[1..]); // a data set for docs/own-images.md, not a workload

int threads = 2;
double seconds = 3.0;
var chosen = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads" when i + 1 < args.Length && int.TryParse(args[i + 1], out int t) && t >= 1:
            threads = t; i++; break;
        case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0:
            seconds = s; i++; break;
        default:
            if (!workloads.ContainsKey(args[i]))
            {
                Console.Error.WriteLine($"nabla-bench: unknown argument '{args[i]}'; expected a workload ({string.Join(", ", workloads.Keys)}), --threads N (N >= 1) or --seconds S (S > 0)");
                return 2;
            }
            chosen.Add(args[i]);
            break;
    }
}
Threading.NumThreads = threads;
// fma_peak first: every workload's fraction_of_fma_peak is against this sitting's peak.
var order = chosen.Count == 0 ? workloads.Keys.ToList() : chosen;
order = ["fma_peak", .. order.Where(n => n != "fma_peak")];
foreach (var name in order) workloads[name](name == "fma_peak" ? Math.Min(seconds, 3) : seconds);
return 0;

static class GemmWorkload
{
    public static void Square(double seconds)
    {
        foreach (int n in new[] { 128, 256, 512, 1024, 2048 })
        {
            double gflops = Measure(n, n, n, seconds);
            Emit(new { engine = "nabla", workload = "gemm", n, threads = Threading.NumThreads, gflops = Math.Round(gflops, 1), fraction_of_fma_peak = FlopCount.OfPeak(gflops) });
        }
    }

    public static void Skinny(double seconds)
    {
        // (m, n, k): batch-64 and batch-128 linear layers (forward and both backward products),
        // im2col'd convolutions of cnn_train, and K = 64.
        var shapes = new (int M, int N, int K)[]
        {
            (64, 1024, 1024), (64, 4096, 1024), (1024, 1024, 64), (128, 512, 784), (784, 512, 128),
            (128, 784, 512), (32, 6272, 9), (64, 1568, 288), (288, 1568, 64),
        };
        foreach (var (m, n, k) in shapes)
        {
            double gflops = Measure(m, n, k, seconds);
            Emit(new { engine = "nabla", workload = "gemm_skinny", m, n, k, threads = Threading.NumThreads, gflops = Math.Round(gflops, 1), fraction_of_fma_peak = FlopCount.OfPeak(gflops) });
        }
    }

    /// <summary>
    /// The three products of a Linear layer in mlp_train, with the transposes the layer uses:
    /// forward Y = X W^T (NT), input gradient dX = dY W (NN), weight gradient dW = dY^T X (TN).
    /// </summary>
    public static void Linear(double seconds)
    {
        foreach (var (batch, inF, outF) in new[] { (128, 784, 512), (128, 512, 256) })
        {
            foreach (var (name, ta, tb, m, n, k) in new[]
            {
                ("forward_nt", false, true, batch, outF, inF), ("dx_nn", false, false, batch, inF, outF), ("dw_tn", true, false, outF, inF, batch),
            })
            {
                double gflops = Measure(m, n, k, seconds, ta, tb);
                Emit(new { engine = "nabla", workload = "gemm_linear", batch, in_features = inF, out_features = outF, product = name, m, n, k,
                    threads = Threading.NumThreads, gflops = Math.Round(gflops, 1), fraction_of_fma_peak = FlopCount.OfPeak(gflops) });
            }
        }
    }

    /// <summary>GFLOPS of C = op(A)·op(B) (row-major) over at least <paramref name="seconds"/> after warm-up.</summary>
    static double Measure(int m, int n, int k, double seconds, bool transA = false, bool transB = false)
    {
        var g = new Generator(0);
        var a = Tensor.Randn([m, k], g).ToArray();
        var b = Tensor.Randn([k, n], g).ToArray();
        var c = new float[m * n];
        int lda = transA ? m : k, ldb = transB ? k : n;
        for (int i = 0; i < 3; i++) Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
        var sw = Stopwatch.StartNew();
        long steps = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
            steps++;
        }
        return 2.0 * m * n * k * steps / sw.Elapsed.TotalSeconds / 1e9;
    }

    static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));
}
