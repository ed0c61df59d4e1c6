using Nabla.Kernels;
using Nabla.Nn;

namespace Nabla.Tests.KernelTests;

/// <summary>
/// <see cref="DirectConv"/> against a double-precision convolution: odd sizes (rows cut into unequal
/// tiles), strides 1 and 2, padding 0-3, 1x1 to 7x7 kernels, 32 to 96 output channels (2- and 4-vector
/// kernels), batch 1 and 7, with and without bias and ReLU; input channels in slices give the same bits as
/// all at once, and so does every thread count.
/// </summary>
[Collection("Globals")]
public unsafe class DirectConvTests
{
    static (float[] X, float[] W, float[] B) Inputs(in ConvShape s, int seed)
    {
        var g = new Generator((ulong)seed);
        return (Tensor.Randn([s.N * s.C * s.H * s.W], g).ToArray(), Tensor.Randn([s.O * s.C * s.KH * s.KW], g).ToArray(), Tensor.Randn([s.O], g).ToArray());
    }

    static double[] Reference(in ConvShape s, float[] x, float[] w, float[]? b, bool relu)
    {
        var y = new double[s.N * s.O * s.OH * s.OW];
        for (int n = 0; n < s.N; n++)
            for (int o = 0; o < s.O; o++)
                for (int i = 0; i < s.OH; i++)
                    for (int j = 0; j < s.OW; j++)
                    {
                        double sum = b?[o] ?? 0;
                        for (int c = 0; c < s.C; c++)
                            for (int ki = 0; ki < s.KH; ki++)
                                for (int kj = 0; kj < s.KW; kj++)
                                {
                                    int ih = i * s.SH - s.PH + ki, iw = j * s.SW - s.PW + kj;
                                    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                    sum += (double)x[((n * s.C + c) * s.H + ih) * s.W + iw] * w[((o * s.C + c) * s.KH + ki) * s.KW + kj];
                                }
                        y[((n * s.O + o) * s.OH + i) * s.OW + j] = relu ? Math.Max(sum, 0) : sum;
                    }
        return y;
    }

    static float[] Direct(in ConvShape s, float[] x, float[] w, float[]? b, bool relu)
    {
        int nv = DirectConv.Vectors(s);
        var y = new float[s.N * s.O * s.OH * s.OW];
        Array.Fill(y, float.NaN); // every output must be written
        DirectConv.Forward(s, x, DirectConv.Pack(s, w, nv), nv, b, y, relu);
        return y;
    }

    [Theory]
    [InlineData(1, 5, 11, 32, 3, 1, 1, true, true)]      // 11 wide: one tile of 11
    [InlineData(7, 5, 11, 32, 3, 1, 1, true, false)]     // batch 7
    [InlineData(1, 3, 29, 64, 3, 1, 1, false, true)]     // 29 wide: tiles of 10, 10, 9
    [InlineData(1, 6, 17, 96, 3, 2, 1, true, true)]      // stride 2, three blocks of 32
    [InlineData(7, 6, 16, 32, 3, 2, 0, true, true)]      // stride 2, unpadded, even size
    [InlineData(1, 9, 7, 64, 3, 1, 1, true, true)]       // 7 wide, 64 channels: the 4-vector kernels
    [InlineData(7, 9, 13, 64, 3, 2, 1, true, true)]      // 7 wide after stride 2: 4 vectors, batch 7
    [InlineData(1, 8, 15, 32, 1, 1, 0, true, false)]     // 1x1
    [InlineData(7, 8, 15, 64, 1, 2, 0, false, true)]     // 1x1 stride 2 (8 wide)
    [InlineData(1, 3, 37, 32, 7, 2, 3, true, true)]      // a stem: 7x7 stride 2 on 3 channels
    [InlineData(1, 4, 9, 32, 5, 1, 2, true, false)]      // 5x5
    [InlineData(1, 2, 3, 32, 3, 1, 1, false, false)]     // smaller than 4 x 4
    public void Matches_a_double_precision_convolution(int n, int c, int size, int o, int k, int stride, int pad, bool bias, bool relu)
    {
        var s = new ConvShape(n, c, size, size, o, k, k, stride, stride, pad, pad, 1, 1, 1);
        Assert.True(DirectConv.Accepts(s));
        var (x, w, b) = Inputs(s, n * 100 + size);
        var expected = Reference(s, x, w, bias ? b : null, relu);
        double tol = 1e-5 * Math.Sqrt(c * k * k) * 4;
        var actual = Direct(s, x, w, bias ? b : null, relu);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol, $"output {i}: expected {expected[i]}, got {actual[i]} ({s})");
    }

    [Theory]
    [InlineData(1, 14, 1)]
    [InlineData(7, 9, 2)]
    [InlineData(1, 7, 1)]   // 4-vector kernels
    public void A_residual_is_added_before_the_relu(int n, int size, int stride)
    {
        var s = new ConvShape(n, 6, size, size, 64, 3, 3, stride, stride, 1, 1, 1, 1, 1);
        var (x, w, b) = Inputs(s, 41);
        var residual = Tensor.Randn([s.N * s.O * s.OH * s.OW], new Generator(42)).ToArray();
        var conv = Reference(s, x, w, b, relu: false);
        int nv = DirectConv.Vectors(s);
        var y = new float[conv.Length];
        // relu: false still clamps: the residual's ReLU comes with it.
        DirectConv.Forward(s, x, DirectConv.Pack(s, w, nv), nv, b, y, relu: false, s.H, s.W, residual);
        for (int i = 0; i < conv.Length; i++)
            Assert.True(Math.Abs(y[i] - Math.Max(conv[i] + residual[i], 0)) <= 1e-4, $"output {i}: expected {Math.Max(conv[i] + residual[i], 0)}, got {y[i]}");
        Assert.Throws<ArgumentException>(() => DirectConv.Forward(s, x, DirectConv.Pack(s, w, nv), nv, b, y, false, s.H, s.W, new float[3]));
    }

    [Theory]
    [InlineData(1, 0, 1, 2)]   // ONNX's 0 before, 1 after, stride 2 (ResNet-18's from ML.NET)
    [InlineData(7, 0, 1, 1)]
    [InlineData(1, 3, 2, 2)]   // more before than after: the source is larger than the shape's input
    [InlineData(7, 2, 3, 2)]
    public void Pads_that_differ_before_and_after_read_as_a_padded_input(int n, int before, int after, int stride)
    {
        const int c = 5, size = 14, k = 3;
        var g = new Generator(31);
        var x = Tensor.Randn([n, c, size, size], g);
        var padded = x.Pad([before, after, before, after]);
        int full = size + before + after;
        var reference = new ConvShape(n, c, full, full, 32, k, k, stride, stride, 0, 0, 1, 1, 1);
        var w = Tensor.Randn([32 * c * k * k], g).ToArray();
        var b = Tensor.Randn([32], g).ToArray();
        var expected = Reference(reference, padded.ToArray(), w, b, relu: true);
        var s = new ConvShape(n, c, size + after - before, size + after - before, 32, k, k, stride, stride, before, before, 1, 1, 1);
        Assert.Equal((reference.OH, reference.OW), (s.OH, s.OW));
        var y = new float[expected.Length];
        Array.Fill(y, float.NaN);
        DirectConv.Forward(s, x.ToArray(), DirectConv.Pack(s, w, 2), 2, b, y, relu: true, size, size);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-4, $"output {i}: expected {expected[i]}, got {y[i]}");
    }

    [Theory]
    [InlineData(1, 40, 9, 64, 1)]   // 9 wide: 2-vector kernels
    [InlineData(7, 24, 7, 64, 1)]   // 4 vectors, batch 7
    [InlineData(2, 20, 23, 32, 2)]  // stride 2
    public void Input_channels_in_slices_give_the_same_bits(int n, int c, int size, int o, int stride)
    {
        var s = new ConvShape(n, c, size, size, o, 3, 3, stride, stride, 1, 1, 1, 1, 1);
        var (x, w, b) = Inputs(s, 5);
        var whole = Direct(s, x, w, b, relu: true);
        int slice = DirectConv.SliceBytes, partial = DirectConv.MaxPartialFloats;
        try
        {
            DirectConv.SliceBytes = 3 * 9 * 64 * sizeof(float); // 3 channels of 4-vector weights a slice (6 of 2-vector)
            Assert.True(DirectConv.SliceChannels(s, DirectConv.Vectors(s)) < c);
            Assert.Equal(whole, Direct(s, x, w, b, relu: true));
            DirectConv.MaxPartialFloats = 1; // the partial sums of one row at a time
            Assert.Equal(whole, Direct(s, x, w, b, relu: true));
        }
        finally
        {
            (DirectConv.SliceBytes, DirectConv.MaxPartialFloats) = (slice, partial);
        }
    }

    [Fact]
    public void Every_thread_count_gives_the_same_bits()
    {
        var s = new ConvShape(3, 16, 19, 19, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var (x, w, b) = Inputs(s, 6);
        int threads = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 1;
            var one = Direct(s, x, w, b, relu: false);
            foreach (int t in new[] { 2, 3, 5 })
            {
                Threading.NumThreads = t;
                Assert.Equal(one, Direct(s, x, w, b, relu: false));
            }
        }
        finally
        {
            Threading.NumThreads = threads;
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void The_transposing_store_equals_the_scalar_one(int block)
    {
        var g = new Generator(8);
        var acc = Tensor.Randn([16 * block], g).ToArray();
        var bias = Tensor.Randn([block], g).ToArray();
        const int plane = 21; // planes 21 floats apart, 16 written: the 5 between must stay untouched
        var residual = Tensor.Randn([block * plane], g).ToArray();
        for (int p = 1; p <= 16; p++)
            foreach (bool relu in new[] { false, true })
                foreach (var bs in new[] { bias, null })
                    foreach (var rs in new[] { null, residual })
                    {
                        var expected = new float[block * plane];
                        var actual = new float[block * plane];
                        Array.Fill(expected, -7f);
                        Array.Fill(actual, -7f);
                        fixed (float* a = acc, pb = bs, pr = rs, e = expected, y = actual)
                        {
                            DirectConv.StoreScalar(a, p, block, pb, relu, e, plane, pr);
                            DirectConv.Store(a, p, block, pb, relu, y, plane, pr);
                        }
                        Assert.Equal(expected, actual);
                    }
    }

    [Fact]
    public void Shapes_it_cannot_compute_are_refused()
    {
        Assert.False(DirectConv.Accepts(new ConvShape(1, 8, 9, 9, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1)));  // 48 channels
        Assert.False(DirectConv.Accepts(new ConvShape(1, 8, 9, 9, 32, 3, 3, 1, 1, 1, 1, 2, 2, 1)));  // dilation
        Assert.False(DirectConv.Accepts(new ConvShape(1, 8, 9, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2)));  // groups
        Assert.False(DirectConv.Accepts(new ConvShape(1, 8, 9, 9, 32, 3, 3, 2, 1, 1, 1, 1, 1, 1)));  // unequal strides
        Assert.False(DirectConv.Accepts(new ConvShape(1, 8, 9, 9, 32, 3, 3, 3, 3, 1, 1, 1, 1, 1)));  // stride 3
        var tooSmall = new ConvShape(1, 8, 2, 2, 32, 3, 3, 2, 2, 0, 0, 1, 1, 1);                    // (2 - 3) / 2 rounds to 0: OH = 1
        Assert.Equal(1, tooSmall.OH);
        Assert.False(DirectConv.Accepts(tooSmall));
        var s = new ConvShape(1, 8, 9, 9, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        Assert.Throws<ArgumentException>(() => DirectConv.Forward(s, new float[8 * 81], new float[48 * 8 * 9], 2, null, new float[48 * 81], false));
        var s96 = s with { O = 96 }; // 3 blocks of 32, not a whole number of 64
        Assert.Throws<ArgumentException>(() => DirectConv.Forward(s96, new float[8 * 81], new float[96 * 8 * 9], 4, null, new float[96 * 81], false));
        Assert.Throws<ArgumentException>(() => DirectConv.Forward(s96, new float[8 * 81], new float[96 * 8 * 9], 3, null, new float[96 * 81], false));
        var s32 = s with { O = 32 };
        Assert.Throws<ArgumentException>(() => DirectConv.Forward(s32, new float[8 * 81], new float[32 * 8 * 9], 2, new float[31], new float[32 * 81], false));
    }

    [Fact]
    public void The_placement_probe_answers_or_gives_up()
    {
        double ns = CorePlacement.RoundTripNs();
        Assert.True(double.IsNaN(ns) || ns is > 0 and < 1e6, $"round trip {ns} ns");
        Threading.SerialOnThisThread = true;
        try
        {
            Assert.True(double.IsNaN(CorePlacement.RoundTripNs()));
        }
        finally
        {
            Threading.SerialOnThisThread = false;
        }
        // Both chunks on this one thread (the pool busy): chunk 0 gives up after a millisecond and chunk 1 returns.
        var job = new NestedProbe();
        WorkerPool.Run(job, 2, 2);
        Assert.True(job.Nested is double v && (double.IsNaN(v) || v > 0));
        // More workers than the probe's two chunks, still spinning from a job just before: a worker may take
        // chunk 0 (then it gives up, NaN), never a wrong measure or a hang.
        int threads = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 3;
            var s = new ConvShape(1, 8, 12, 12, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1);
            var (x, w, b) = Inputs(s, 3);
            for (int i = 0; i < 20; i++)
            {
                Direct(s, x, w, b, relu: false);
                double r = CorePlacement.RoundTripNs();
                Assert.True(double.IsNaN(r) || r is > 0 and < CorePlacement.MaxProbeMs * 1e6 / CorePlacement.Trips * 2, $"round trip {r} ns");
            }
        }
        finally
        {
            Threading.NumThreads = threads;
        }
    }

    sealed class NestedProbe : IParallelJob
    {
        public double? Nested;

        public void RunChunk(int chunk, int chunks)
        {
            if (chunk == 0) Nested = CorePlacement.RoundTripNs();
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(3, true)]
    public void A_prepared_residual_network_matches_wherever_the_cores_are(int batch, bool apart)
    {
        var g = new Generator(21);
        var model = NnTests.InferenceModelTests.Randomized(new Sequential(
            new Conv2d(3, 32, 3, stride: 2, padding: 1, bias: false, generator: g), new BatchNorm2d(32), new Relu(),
            new BasicBlock(32, 32, 1, g), new BasicBlock(32, 64, 2, g),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(64, 10, generator: g)), 22);
        var x = Tensor.Randn([batch, 3, 29, 29], new Generator(23));
        Tensor expected;
        using (Autograd.NoGrad()) expected = model.Eval().Forward(x);
        CorePlacement.Override = apart;
        try
        {
            var actual = model.ForInference(3, 29, 29).Forward(x).ToArray();
            var e = expected.ToArray();
            double scale = e.Max(v => Math.Abs((double)v));
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - actual[i]) <= 1e-5 * scale, $"element {i}: expected {e[i]}, got {actual[i]}");
        }
        finally
        {
            CorePlacement.Override = null;
        }
    }
}
