using Nabla.Kernels;
using Nabla.Nn;

namespace Nabla.Tests.NnTests;

/// <summary>Winograd F(2x2, 3x3) convolution against the im2col path, forward and every gradient.</summary>
[Collection("Globals")]
public class WinogradTests
{
    public static TheoryData<int, int, int, int, int, int> Shapes => new()
    {
        // n, c, h, w, o, pad
        { 2, 8, 14, 14, 16, 1 }, { 3, 9, 13, 15, 10, 1 }, { 2, 8, 16, 17, 8, 0 }, { 1, 8, 12, 20, 8, 2 }, { 11, 8, 14, 14, 8, 1 },
    };

    static (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(int n, int c, int h, int w, int o, int pad, bool winograd)
    {
        bool saved = WinogradConv.Enabled;
        int savedMin = WinogradConv.MinChannels;
        try
        {
            WinogradConv.Enabled = winograd;
            WinogradConv.MinChannels = 8; // small test shapes
            var x = Tensor.Randn([n, c, h, w], new Generator(1)).RequireGrad();
            var wt = Tensor.Randn([o, c, 3, 3], new Generator(2)).RequireGrad();
            var b = Tensor.Randn([o], new Generator(3)).RequireGrad();
            var y = Functional.Conv2d(x, wt, b, 1, pad);
            y.Backward(Tensor.Randn(y.Shape.ToArray(), new Generator(4)));
            return (y.ToArray(), x.Grad!.ToArray(), wt.Grad!.ToArray(), b.Grad!.ToArray());
        }
        finally
        {
            WinogradConv.Enabled = saved;
            WinogradConv.MinChannels = savedMin;
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gradients_pass_gradcheck(int n, int c, int h, int w, int o, int pad)
    {
        int savedMin = WinogradConv.MinChannels;
        try
        {
            WinogradConv.MinChannels = 8;
            var x = Tensor.Randn([Math.Min(n, 2), c, h, w], new Generator(5)).RequireGrad();
            var wt = Tensor.Randn([o, c, 3, 3], new Generator(6)).RequireGrad();
            var b = Tensor.Randn([o], new Generator(7)).RequireGrad();
            // Linear in each input: a large step has no truncation error and little round-off.
            GradCheck.Run(xs => Functional.Conv2d(xs[0], xs[1], xs[2], 1, pad), [x, wt, b], step: 1e-2).Check("winograd conv2d");
        }
        finally { WinogradConv.MinChannels = savedMin; }
    }

    [Fact]
    public void Results_are_bitwise_identical_for_any_thread_count()
    {
        int savedThreads = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 2;
            var reference = Run(11, 8, 14, 14, 8, 1, true);
            foreach (int t in new[] { 1, 3 })
            {
                Threading.NumThreads = t;
                var r = Run(11, 8, 14, 14, 8, 1, true);
                Assert.Equal(reference.Y, r.Y);
                Assert.Equal(reference.Dx, r.Dx);
                Assert.Equal(reference.Dw, r.Dw);
                Assert.Equal(reference.Db, r.Db);
            }
        }
        finally { Threading.NumThreads = savedThreads; }
    }

    [Fact]
    public void Real_sized_layers_take_the_winograd_path()
    {
        // Winograd's transforms need AVX2 and FMA; elsewhere every layer takes the im2col path.
        bool hardware = System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        Assert.Equal(hardware, WinogradConv.Accepts(new ConvShape(128, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(WinogradConv.Accepts(new ConvShape(64, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(WinogradConv.Accepts(new ConvShape(64, 32, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_the_im2col_path(int n, int c, int h, int w, int o, int pad)
    {
        var reference = Run(n, c, h, w, o, pad, false);
        var actual = Run(n, c, h, w, o, pad, true);
        Near(reference.Y, actual.Y, "output");
        Near(reference.Dx, actual.Dx, "input gradient");
        Near(reference.Dw, actual.Dw, "weight gradient");
        Near(reference.Db, actual.Db, "bias gradient");
    }

    [Theory]
    [InlineData(1, 40, 7, 7, 48, 1)]    // one 7 x 7 image: 16 tiles
    [InlineData(3, 32, 7, 7, 40, 1)]    // several images; output channels past the last whole micro-panel
    [InlineData(1, 32, 14, 14, 64, 1)]  // one 14 x 14 image: 49 tiles
    [InlineData(2, 33, 5, 9, 32, 2)]    // odd sizes, padding 2
    [InlineData(1, 32, 6, 1, 32, 1)]    // a map one pixel wide
    public void Tiles_as_rows_are_the_tiles_as_columns_bitwise(int n, int c, int h, int w, int o, int pad)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // no Winograd there
        int savedThreads = Threading.NumThreads;
        try
        {
            var s = new ConvShape(n, c, h, w, o, 3, 3, 1, 1, pad, pad, 1, 1, 1);
            Assert.True(WinogradConv.AcceptsTilesAsRows(s, WinogradConv.RowsMaxTiles));
            var x = Tensor.Randn([n, c, h, w], new Generator(20)).ToArray();
            var u = WinogradConv.TransformFilters(s, Tensor.Randn([o, c, 3, 3], new Generator(21)).ToArray());
            var bias = Tensor.Randn([o], new Generator(22)).ToArray();
            foreach (bool relu in new[] { false, true })
            {
                var expected = new float[n * o * s.OH * s.OW];
                WinogradConv.ForwardTransformed(s, x, u, bias, expected, relu);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    Threading.NumThreads = threads;
                    var actual = new float[expected.Length];
                    actual.AsSpan().Fill(float.NaN); // every output is written
                    WinogradConv.ForwardTilesAsRows(s, x, WinogradConv.PackTransformedAsB(s, u), relu ? bias : null, actual, relu);
                    if (!relu) for (int i = 0; i < actual.Length; i++) actual[i] += bias[i / (s.OH * s.OW) % o]; // no bias: added here, as the transform adds it
                    Assert.Equal(expected, actual);
                }
            }
        }
        finally { Threading.NumThreads = savedThreads; }
    }

    [Theory]
    [InlineData(1, 64, 33, 33, 64, 1)]   // one image, odd size: the products split over tiles, in one job
    [InlineData(1, 64, 34, 36, 64, 0)]   // no padding, even size (2x2 pooling takes whole tiles)
    [InlineData(1, 100, 15, 15, 160, 1)] // few tiles, many channels: the products split over output channels
    [InlineData(1, 128, 11, 11, 256, 1)] // filters too large for one products job: 16 GEMMs in turn
    [InlineData(2, 64, 15, 17, 76, 1)]   // two images in one group; output channels past a whole micro-panel
    [InlineData(1, 32, 9, 9, 40, 1)]     // too small to split: the products on one core
    public void One_group_on_every_core_is_the_serial_path_bitwise(int n, int c, int h, int w, int o, int pad)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // no Winograd there
        int savedThreads = Threading.NumThreads;
        try
        {
            var s = new ConvShape(n, c, h, w, o, 3, 3, 1, 1, pad, pad, 1, 1, 1);
            var x = Tensor.Randn([n, c, h, w], new Generator(30)).ToArray();
            var u = WinogradConv.TransformFilters(s, Tensor.Randn([o, c, 3, 3], new Generator(31)).ToArray());
            var packed = WinogradConv.PackTransformed(s, u);
            var bias = Tensor.Randn([o], new Generator(32)).ToArray();
            foreach (bool pool in new[] { false, true })
                foreach (bool relu in new[] { false, true })
                    foreach (var pu in new[] { null, packed })
                    {
                        if (pool && (s.OH % 2 != 0 || s.OW % 2 != 0)) continue;
                        int size = n * o * (pool ? s.OH / 2 * (s.OW / 2) : s.OH * s.OW);
                        Threading.NumThreads = 1; // one group of images on one core: the per-group job
                        var expected = new float[size];
                        WinogradConv.ForwardTransformed(s, x, u, bias, expected, relu, pool, pu);
                        foreach (int threads in new[] { 2, 3 })
                        {
                            Threading.NumThreads = threads; // the phases, each over every core
                            var actual = new float[size];
                            actual.AsSpan().Fill(float.NaN); // every output is written
                            PoisonPhasedScratch(s); // and every product, not left over from the call before
                            WinogradConv.ForwardTransformed(s, x, u, bias, actual, relu, pool, pu);
                            Assert.Equal(expected, actual);
                        }
                    }
        }
        finally { Threading.NumThreads = savedThreads; }
    }

    /// <summary>NaN over the transformed tiles and products of a batch of one group on every core (this thread's second scratch).</summary>
    static unsafe void PoisonPhasedScratch(in ConvShape s)
    {
        long tiles = (long)s.N * ((s.OH + 1) / 2) * (((s.OW + 1) / 2 + 7) / 8 * 8);
        long floats = 16 * (s.C + s.O) * tiles;
        new Span<float>(Scratch.GetSecond(floats), (int)floats).Fill(float.NaN);
    }

    static void Near(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale + 1e-4 * Math.Abs(expected[i]),
                $"{what} element {i}: im2col {expected[i]}, Winograd {actual[i]} (largest magnitude {scale})");
    }
}
