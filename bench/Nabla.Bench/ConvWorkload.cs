using System.Diagnostics;
using System.Text.Json;
using Nabla;
using Nabla.Nn;

/// <summary>
/// The convolutions of cnn_train and resnet8_train alone, forward and forward + backward, in
/// GFLOPS (2 multiply-adds per weight tap per output pixel; backward counts twice forward): where
/// the time of a CNN step goes, measured apart from the rest.
/// </summary>
static class ConvWorkload
{
    public static void Run(double seconds)
    {
        var shapes = new (string Name, int N, int C, int H, int O, int K, int S, int P)[]
        {
            ("cnn.conv1", 128, 1, 28, 32, 3, 1, 1), ("cnn.conv2", 128, 32, 14, 64, 3, 1, 1),
            ("resnet.stem", 64, 3, 32, 16, 3, 1, 1), ("resnet.16", 64, 16, 32, 16, 3, 1, 1),
            ("resnet.32s2", 64, 16, 32, 32, 3, 2, 1), ("resnet.32", 64, 32, 16, 32, 3, 1, 1),
            ("resnet.64s2", 64, 32, 16, 64, 3, 2, 1), ("resnet.64", 64, 64, 8, 64, 3, 1, 1),
            ("resnet.1x1s2a", 64, 16, 32, 32, 1, 2, 0), ("resnet.1x1s2b", 64, 32, 16, 64, 1, 2, 0),
        };
        var g = new Generator(0);
        foreach (var (name, n, c, h, o, k, s, p) in shapes)
        {
            var x = Tensor.Randn([n, c, h, h], g).RequireGrad();
            var w = Tensor.Randn([o, c, k, k], g).RequireGrad();
            int oh = (h + 2 * p - k) / s + 1;
            double flops = 2.0 * n * o * oh * oh * c * k * k;
            double fwd = Time(() =>
            {
                using var scope = TensorScope.Begin();
                using var ng = Autograd.NoGrad();
                Functional.Conv2d(x, w, null, s, p);
            }, seconds);
            var gy = Tensor.Randn([n, o, oh, oh], g);
            double both = Time(() =>
            {
                using var scope = TensorScope.Begin();
                Functional.Conv2d(x, w, null, s, p).Backward(gy);
            }, seconds);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                engine = "nabla", workload = "conv", layer = name, threads = Threading.NumThreads,
                forward_gflops = Math.Round(flops / fwd / 1e9, 1), train_gflops = Math.Round(3 * flops / both / 1e9, 1),
                forward_ms = Math.Round(fwd * 1e3, 2), train_ms = Math.Round(both * 1e3, 2),
            }));
        }
    }

    /// <summary>
    /// The convolutions of torchvision's ResNet-18 at 224 x 224, forward only, at batch 1 and 32, with how
    /// many of each the network has: where its inference time goes.
    /// </summary>
    public static void ResNet18(double seconds)
    {
        var shapes = new (string Name, int Count, int C, int H, int O, int K, int S, int P)[]
        {
            ("stem7x7s2", 1, 3, 224, 64, 7, 2, 3), ("64", 4, 64, 56, 64, 3, 1, 1),
            ("128s2", 1, 64, 56, 128, 3, 2, 1), ("128", 3, 128, 28, 128, 3, 1, 1), ("1x1s2.128", 1, 64, 56, 128, 1, 2, 0),
            ("256s2", 1, 128, 28, 256, 3, 2, 1), ("256", 3, 256, 14, 256, 3, 1, 1), ("1x1s2.256", 1, 128, 28, 256, 1, 2, 0),
            ("512s2", 1, 256, 14, 512, 3, 2, 1), ("512", 3, 512, 7, 512, 3, 1, 1), ("1x1s2.512", 1, 256, 14, 512, 1, 2, 0),
        };
        var g = new Generator(0);
        foreach (int n in new[] { 1, 32 })
            foreach (var (name, count, c, h, o, k, st, p) in shapes)
            {
                var x = Tensor.Randn([n, c, h, h], g);
                var w = Tensor.Randn([o, c, k, k], g);
                int oh = (h + 2 * p - k) / st + 1;
                double flops = 2.0 * n * o * oh * oh * c * k * k;
                double fwd = Time(() =>
                {
                    using var scope = TensorScope.Begin();
                    using var ng = Autograd.NoGrad();
                    Functional.Conv2d(x, w, null, st, p);
                }, seconds / 4);
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    engine = "nabla", workload = "conv_resnet18", layer = name, batch = n, count, threads = Threading.NumThreads,
                    forward_gflops = Math.Round(flops / fwd / 1e9, 1), forward_ms = Math.Round(fwd * 1e3, 3), ms_in_network = Math.Round(count * fwd * 1e3, 2),
                }));
            }
    }

    /// <summary>Seconds per call after warm-up.</summary>
    static double Time(Action f, double seconds)
    {
        for (int i = 0; i < 3; i++) f();
        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            f();
            n++;
        }
        return sw.Elapsed.TotalSeconds / n;
    }
}
