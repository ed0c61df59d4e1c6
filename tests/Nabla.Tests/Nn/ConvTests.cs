using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

[Collection("Globals")]
public class ConvTests
{
    /// <summary>The definition, in double: y[n,o,i,j] = b[o] + sum over c in o's group, p, q of x[n,c,i s - pad + p d, j s - pad + q d] w[o,c,p,q].</summary>
    static double[] Naive(Tensor x, Tensor w, Tensor? b, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int o = w.Shape[0], cg = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3];
        int oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1, ow = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
        var xs = x.ToArray(); var ws = w.ToArray(); var bs = b?.ToArray();
        var y = new double[n * o * oh * ow];
        int og = o / groups;
        for (int a = 0; a < n; a++)
            for (int oc = 0; oc < o; oc++)
            {
                int g = oc / og;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double sum = bs is null ? 0 : bs[oc];
                        for (int ci = 0; ci < cg; ci++)
                            for (int p = 0; p < kh; p++)
                                for (int q = 0; q < kw; q++)
                                {
                                    int ii = i * sh - ph + p * dh, jj = j * sw - pw + q * dw;
                                    if (ii < 0 || ii >= h || jj < 0 || jj >= wd) continue;
                                    sum += (double)xs[((a * c + g * cg + ci) * h + ii) * wd + jj] * ws[((oc * cg + ci) * kh + p) * kw + q];
                                }
                        y[((a * o + oc) * oh + i) * ow + j] = sum;
                    }
            }
        return y;
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Configs => new()
    {
        // n, c, h, w, o, k, stride, pad, dilation, groups
        { 2, 3, 7, 6, 4, 3, 1, 1, 1, 1 },
        { 3, 2, 9, 9, 5, 3, 2, 1, 1, 1 },
        { 1, 4, 8, 5, 6, 1, 1, 0, 1, 1 },
        { 2, 4, 6, 6, 4, 1, 2, 0, 1, 2 },
        { 9, 4, 8, 8, 6, 3, 1, 2, 2, 2 },
        { 2, 6, 5, 7, 6, 3, 1, 1, 1, 6 },
        { 1, 1, 4, 4, 1, 4, 1, 0, 1, 1 },
        { 10, 3, 5, 5, 2, 2, 3, 1, 1, 1 },
        // Over 512 output pixels: one image per GEMM, the bias as an extra weight column.
        { 2, 2, 30, 35, 3, 3, 1, 1, 1, 1 },
        { 2, 4, 24, 24, 4, 3, 1, 1, 1, 2 },
        // 3x3, stride 1, at least 8 channels and 13 output columns: Winograd F(2x2, 3x3).
        { 2, 8, 14, 14, 16, 3, 1, 1, 1, 1 },
        { 3, 9, 13, 15, 10, 3, 1, 1, 1, 1 },
        { 2, 8, 16, 17, 8, 3, 1, 0, 1, 1 },
        { 1, 8, 12, 20, 8, 3, 1, 2, 1, 1 },
        { 11, 8, 14, 14, 8, 3, 1, 1, 1, 1 },
        // Stride 2 over wide rows: the vectorized even-element gather, with its overlapping last block.
        { 2, 3, 6, 37, 4, 3, 2, 1, 1, 1 },
        { 2, 4, 5, 40, 3, 1, 2, 0, 1, 1 },
        // Stride 1 with in_channels >= out_channels: the input gradient runs as a forward convolution.
        { 3, 6, 7, 5, 4, 3, 1, 1, 1, 1 },
        { 2, 5, 6, 6, 5, 3, 1, 2, 1, 1 },
        // One input channel per group and many outputs: the weight gradient is computed transposed.
        { 4, 1, 9, 9, 32, 3, 1, 1, 1, 1 },
        { 2, 2, 6, 6, 64, 3, 1, 1, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_matches_the_definition(int n, int c, int h, int w, int o, int k, int s, int p, int d, int g)
    {
        var x = U(1, -1, 1, n, c, h, w);
        var wt = U(2, -1, 1, o, c / g, k, k);
        var b = U(3, -1, 1, o);
        var y = Functional.Conv2d(x, wt, b, s, p, d, g);
        var expected = Naive(x, wt, b, s, s, p, p, d, d, g);
        var actual = y.ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) < 1e-4, $"element {i}: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Gradients_pass_gradcheck(int n, int c, int h, int w, int o, int k, int s, int p, int d, int g)
    {
        if (n > 3) n = 3;
        var x = U(4, -1, 1, n, c, h, w).RequireGrad();
        var wt = U(5, -1, 1, o, c / g, k, k).RequireGrad();
        var b = U(6, -1, 1, o).RequireGrad();
        // A convolution is linear in each input, so central differences have no truncation error at
        // any step; a larger step than the default shrinks float32 round-off in the numeric side,
        // which Winograd's transforms (for the 3x3 shapes with 8+ channels) make larger than a
        // direct sum's. Winograd's own gradients are also compared with the im2col path's (WinogradTests).
        GradCheck.Run(xs => Functional.Conv2d(xs[0], xs[1], xs[2], s, p, d, g), [x, wt, b], step: 1e-2).Check("conv2d");
    }

    [Fact]
    public void Gradients_are_bitwise_identical_for_any_thread_count()
    {
        var x = U(7, -1, 1, 13, 3, 9, 9).RequireGrad();
        var w = U(8, -1, 1, 8, 3, 3, 3).RequireGrad();
        float[] Run()
        {
            x.Grad = null; w.Grad = null;
            var y = Functional.Conv2d(x, w, null, 1, 1);
            (y * y).Sum().Backward();
            return [.. y.ToArray(), .. x.Grad!.ToArray(), .. w.Grad!.ToArray()];
        }
        var reference = Run();
        int saved = Nabla.Threading.NumThreads;
        try
        {
            foreach (int t in new[] { 1, 3 })
            {
                Nabla.Threading.NumThreads = t;
                Assert.Equal(reference, Run());
            }
        }
        finally { Nabla.Threading.NumThreads = saved; }
    }

    [Fact]
    public void Layer_defaults_and_shapes_follow_pytorch()
    {
        var conv = new Conv2d(3, 16, 3, padding: 1, generator: new Generator(1));
        Shape([16, 3, 3, 3], conv.Weight.Data);
        double bound = 1 / Math.Sqrt(27);
        Assert.All(conv.Weight.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(conv.Bias!.Data.ToArray(), v => Assert.InRange(v, -bound, bound));
        Shape([2, 16, 8, 8], conv.Forward(Tensor.Zeros(2, 3, 8, 8)));
        Assert.Equal(["weight", "bias"], conv.StateDict().Keys);
        Assert.Equal("Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", conv.ToString());
        var strided = new Conv2d(16, 32, 3, stride: 2, padding: 1, bias: false);
        Shape([2, 32, 4, 4], strided.Forward(Tensor.Zeros(2, 16, 8, 8)));
        Assert.Equal(["weight"], strided.StateDict().Keys);
    }

    [Fact]
    public void Wrong_input_names_the_layer()
    {
        var conv = new Conv2d(3, 16, 3);
        var e = Assert.Throws<ShapeException>(() => conv.Forward(Tensor.Zeros(8, 1, 28, 28)));
        Assert.Equal("Conv2d(3, 16) expects input of shape (N, 3, H, W); got [8, 1, 28, 28]", e.Message);
        e = Assert.Throws<ShapeException>(() => conv.Forward(Tensor.Zeros(3, 28, 28)));
        Assert.Contains("got [3, 28, 28]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ShapeException>(() => conv.Forward(Tensor.Zeros(1, 3, 2, 2)));
        Assert.StartsWith("Conv2d(3, 16) expects input of shape (N, 3, H, W) with H >= 3 and W >= 3; got [1, 3, 2, 2]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_arguments_get_pytorch_messages()
    {
        Assert.Equal("in_channels must be divisible by groups (Parameter 'inChannels')",
            Assert.Throws<ArgumentException>(() => new Conv2d(3, 6, 3, groups: 2)).Message);
        Assert.Equal("out_channels must be divisible by groups (Parameter 'outChannels')",
            Assert.Throws<ArgumentException>(() => new Conv2d(4, 6, 3, groups: 4)).Message);
        Assert.Contains("groups must be a positive integer", Assert.Throws<ArgumentException>(() => new Conv2d(4, 4, 3, groups: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("stride >= 1", Assert.Throws<ArgumentException>(() => new Conv2d(4, 4, 3, stride: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("padding >= 0", Assert.Throws<ArgumentException>(() => new Conv2d(4, 4, 3, padding: -1)).Message, StringComparison.Ordinal);
        var e = Assert.Throws<ShapeException>(() => Functional.Conv2d(Tensor.Zeros(1, 4, 5, 5), Tensor.Zeros(2, 3, 3, 3)));
        Assert.Equal("conv2d: expected input of shape (N, 3, H, W); got [1, 4, 5, 5]\nhint: the weight [2, 3, 3, 3] with groups = 1 takes 3 input channels", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.Conv2d(Tensor.Zeros(1, 3, 5, 5), Tensor.Zeros(2, 3, 3, 3), Tensor.Zeros(3)));
        Assert.Equal("conv2d: expected a bias of shape [2]; got [3]", e.Message);
    }
}
