using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

public class PoolTests
{
    [Fact]
    public void Max_pool_takes_window_maxima_and_routes_gradient_to_them()
    {
        var x = T([1, 2, 5, 3,
                   4, 0, 1, 1,
                   7, 8, 2, 9,
                   6, 6, 3, 1], 1, 1, 4, 4).RequireGrad();
        var y = Functional.MaxPool2d(x, 2);
        Close([4, 5, 8, 9], y);
        y.Backward(T([1, 2, 3, 4], 1, 1, 2, 2));
        Close([0, 0, 2, 0, 1, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0], x.Grad!);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(14)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(28)]
    [InlineData(33)]
    public void Vectorized_2x2_max_pool_matches_the_definition_with_ties_and_nans(int width)
    {
        // Small integers make many ties, where the first maximum of the window must win; NaN wins over numbers.
        var g = new Generator((ulong)width);
        int h = 6;
        var data = new float[2 * 3 * h * width];
        for (int i = 0; i < data.Length; i++) data[i] = g.NextInt64(0, 4);
        data[5] = float.NaN;
        data[^3] = float.NaN;
        var x = T(data, 2, 3, h, width).RequireGrad();
        var y = Functional.MaxPool2d(x, 2);
        y.Backward(Tensor.Ones(y.Shape.ToArray()));
        int oh = h / 2, ow = width / 2;
        var expectedY = new float[2 * 3 * oh * ow];
        var expectedG = new float[data.Length];
        for (int pl = 0; pl < 6; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int best = -1;
                    foreach (var (di, dj) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                    {
                        int at = pl * h * width + (2 * i + di) * width + 2 * j + dj;
                        if (best < 0 || data[at] > data[best] || (float.IsNaN(data[at]) && !float.IsNaN(data[best]))) best = at;
                    }
                    expectedY[(pl * oh + i) * ow + j] = data[best];
                    expectedG[best] += 1;
                }
        Assert.Equal(expectedY, y.ToArray());
        Assert.Equal(expectedG, x.Grad!.ToArray());
    }

    [Fact]
    public void Max_pool_with_stride_and_padding()
    {
        var x = T([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 3, 3);
        Close([1, 3, 7, 9], Functional.MaxPool2d(x, 2, 2, 1));
        Close([5, 6, 8, 9], Functional.MaxPool2d(x, 2, 1));
    }

    [Fact]
    public void Average_pool_counts_padding_by_default()
    {
        var x = T([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 1, 3, 3);
        Close([3, 4, 6, 7], Functional.AvgPool2d(x, 2, 1));
        // Corner window with padding 1: (1)/4 when padding counts, 1/1 when it does not.
        Close([0.25f, 1.25f, 2.75f, 7f], Functional.AvgPool2d(x, 2, 2, 1));
        Close([1f, 2.5f, 5.5f, 7f], Functional.AvgPool2d(x, 2, 2, 1, countIncludePad: false));
    }

    [Fact]
    public void Adaptive_average_pool_uses_pytorch_windows()
    {
        var x = Tensor.Arange(0, 10).Reshape(1, 1, 2, 5);
        // Columns of 5 into 3 cells: [0, 2), [1, 4), [3, 5).
        Close([(0 + 1 + 5 + 6) / 4f, (1 + 2 + 3 + 6 + 7 + 8) / 6f, (3 + 4 + 8 + 9) / 4f], Functional.AdaptiveAvgPool2d(x, (1, 3)));
        Close([4.5f], Functional.AdaptiveAvgPool2d(x, (1, 1)));
    }

    public static TheoryData<string> Ops => ["max", "max_pad", "avg", "avg_nopad", "adaptive"];

    [Theory]
    [MemberData(nameof(Ops))]
    public void Gradients_pass_gradcheck(string op)
    {
        // Distinct values, so max pooling has no ties (where it is not differentiable).
        var x = (Tensor.Randperm(2 * 3 * 7 * 6, new Generator(3)).Reshape(2, 3, 7, 6) * 0.1f).Detach().RequireGrad();
        Func<Tensor[], Tensor> f = op switch
        {
            "max" => xs => Functional.MaxPool2d(xs[0], 2),
            "max_pad" => xs => Functional.MaxPool2d(xs[0], 3, 2, 1),
            "avg" => xs => Functional.AvgPool2d(xs[0], 3, 2, 1),
            "avg_nopad" => xs => Functional.AvgPool2d(xs[0], 3, 2, 1, countIncludePad: false),
            _ => xs => Functional.AdaptiveAvgPool2d(xs[0], (3, 4)),
        };
        GradCheck.Run(f, [x]).Check(op);
    }

    [Fact]
    public void Layers_check_their_arguments_and_input()
    {
        Assert.Equal("MaxPool2d(kernel_size=(2, 2)) expects input of shape (N, C, H, W) or (C, H, W); got [4, 16]",
            Assert.Throws<ShapeException>(() => new MaxPool2d(2).Forward(Tensor.Zeros(4, 16))).Message);
        Assert.StartsWith("pad should be at most half of effective kernel size",
            Assert.Throws<ArgumentException>(() => new MaxPool2d(2, padding: 2)).Message, StringComparison.Ordinal);
        Assert.Contains("stride >= 1", Assert.Throws<ArgumentException>(() => new AvgPool2d(2, stride: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("at least (1, 1)", Assert.Throws<ArgumentException>(() => new AdaptiveAvgPool2d(0)).Message, StringComparison.Ordinal);
        Assert.Contains("at least as large as the kernel",
            Assert.Throws<ShapeException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 1, 1), 2)).Message, StringComparison.Ordinal);
        Assert.Equal("MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=1, ceil_mode=False)", new MaxPool2d(2).ToString());
    }
}
