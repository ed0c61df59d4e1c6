using Nabla.Kernels;

namespace Nabla.Tests.KernelsTests;

/// <summary>A large image convolved in bands of output rows equals the whole image's im2col product bitwise (band sizes scaled down to test sizes).</summary>
[Collection("Globals")]
public class ConvBandTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int> Shapes => new()
    {
        // n, c, h, w, o, k, stride, pad, groups
        { 1, 3, 64, 64, 16, 7, 2, 3, 1 },   // a stem: 32 x 32 outputs
        { 2, 3, 64, 64, 64, 7, 2, 3, 1 },   // ... with 64 filters: its weight gradient computed transposed
        { 3, 3, 67, 61, 8, 7, 2, 3, 1 },    // odd sizes: a last band of fewer rows, a last pooling row dropped
        { 2, 16, 33, 40, 6, 3, 1, 1, 2 },   // stride 1, groups
        { 1, 2, 30, 600, 5, 3, 1, 0, 1 },   // rows wider than a band: one row a band (two with pooling)
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_weight_gradient_in_bands_is_the_whole_images_within_rounding_and_the_same_for_any_thread_count(
        int n, int c, int h, int w, int o, int k, int stride, int pad, int groups)
    {
        int saved = Conv2dKernel.BandPixels, savedThreads = Threading.NumThreads;
        try
        {
            var s = new ConvShape(n, c, h, w, o, k, k, stride, stride, pad, pad, 1, 1, groups);
            var x = Tensor.Randn([n, c, h, w], new Generator(4)).ToArray();
            var wt = Tensor.Randn([o, c / groups, k, k], new Generator(5)).ToArray();
            var dy = Tensor.Randn([n, o, s.OH, s.OW], new Generator(6)).ToArray();
            Conv2dKernel.BandPixels = int.MaxValue / 4;
            float[] dw0 = new float[wt.Length], db0 = new float[o];
            Conv2dKernel.Backward(s, x, wt, dy, null, dw0, db0);
            Conv2dKernel.BandPixels = 64;
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Threading.NumThreads = threads;
                float[] dw = new float[wt.Length], db = new float[o];
                Conv2dKernel.Backward(s, x, wt, dy, null, dw, db);
                double scale = dw0.Max(v => Math.Abs((double)v));
                for (int i = 0; i < dw.Length; i++) Assert.True(Math.Abs(dw[i] - dw0[i]) <= 1e-5 * scale, $"dW[{i}]: {dw[i]} in bands, {dw0[i]} whole");
                Assert.Equal(db0, db); // the bias gradient sums each image's outputs as before
                if (first is null) first = dw;
                else Assert.Equal(first, dw);
            }
            // With the input gradient too, the whole image's columns serve both: the same bits as without bands.
            Threading.NumThreads = savedThreads;
            float[] dx = new float[x.Length], dwx = new float[wt.Length];
            Conv2dKernel.Backward(s, x, wt, dy, dx, dwx, null);
            Conv2dKernel.BandPixels = int.MaxValue / 4;
            float[] dx0 = new float[x.Length], dwx0 = new float[wt.Length];
            Conv2dKernel.Backward(s, x, wt, dy, dx0, dwx0, null);
            Assert.Equal(dwx0, dwx);
            Assert.Equal(dx0, dx);
        }
        finally
        {
            Conv2dKernel.BandPixels = saved;
            Threading.NumThreads = savedThreads;
        }
    }

    [Fact]
    public void Only_images_whose_columns_outgrow_the_cache_take_bands()
    {
        Assert.Equal(512, Conv2dKernel.BandPixels);
        Assert.Equal(4, Conv2dKernel.BandRows(new ConvShape(1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1), pool: false)); // ResNet's stem: 7.4 MB of columns
        Assert.Equal(0, Conv2dKernel.BandRows(new ConvShape(64, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1), pool: false)); // ResNet-8's: 0.6 MB
        Assert.Equal(0, Conv2dKernel.BandRows(new ConvShape(1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), pool: true)); // Fashion-MNIST's first layer
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Bands_give_the_whole_images_result_bitwise(int n, int c, int h, int w, int o, int k, int stride, int pad, int groups)
    {
        int saved = Conv2dKernel.BandPixels, savedThreads = Threading.NumThreads;
        try
        {
            var s = new ConvShape(n, c, h, w, o, k, k, stride, stride, pad, pad, 1, 1, groups);
            var x = Tensor.Randn([n, c, h, w], new Generator(1)).ToArray();
            var wt = Tensor.Randn([o, c / groups, k, k], new Generator(2)).ToArray();
            var bias = Tensor.Randn([o], new Generator(3)).ToArray();
            float[]? wb = groups == 1 ? Conv2dKernel.WeightsWithBias(s, wt, bias) : null;
            foreach (bool pool in new[] { false, true })
                foreach (bool relu in new[] { false, true })
                    foreach (bool prepacked in new[] { false, true })
                    {
                        int size = n * o * (pool ? (s.OH / 2) * (s.OW / 2) : s.P);
                        Conv2dKernel.BandPixels = int.MaxValue / 4;
                        Assert.Equal(0, Conv2dKernel.BandRows(s, pool));
                        var expected = new float[size];
                        Conv2dKernel.ForwardGemm(s, x, wt, bias, wb, expected, relu, pool, prepacked ? new Conv2dKernel.PackedConvWeights() : null);
                        Conv2dKernel.BandPixels = 64; // small test images: bands from 64 pixels and 64K floats of columns
                        int rows = Conv2dKernel.BandRows(s, pool);
                        Assert.InRange(rows, 1, s.OH - 1);
                        if (pool) Assert.Equal(0, rows % 2);
                        foreach (int threads in new[] { 1, 2, 3 })
                        {
                            Threading.NumThreads = threads;
                            var actual = new float[size];
                            actual.AsSpan().Fill(float.NaN); // every output is written
                            Conv2dKernel.ForwardGemm(s, x, wt, bias, wb, actual, relu, pool, prepacked ? new Conv2dKernel.PackedConvWeights() : null);
                            Assert.Equal(expected, actual);
                        }
                        Threading.NumThreads = savedThreads;
                    }
        }
        finally
        {
            Conv2dKernel.BandPixels = saved;
            Threading.NumThreads = savedThreads;
        }
    }
}
