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
        try
        {
            WinogradConv.Enabled = winograd;
            var x = Tensor.Randn([n, c, h, w], new Generator(1)).RequireGrad();
            var wt = Tensor.Randn([o, c, 3, 3], new Generator(2)).RequireGrad();
            var b = Tensor.Randn([o], new Generator(3)).RequireGrad();
            var y = Functional.Conv2d(x, wt, b, 1, pad);
            y.Backward(Tensor.Randn(y.Shape.ToArray(), new Generator(4)));
            return (y.ToArray(), x.Grad!.ToArray(), wt.Grad!.ToArray(), b.Grad!.ToArray());
        }
        finally { WinogradConv.Enabled = saved; }
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

    static void Near(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * scale + 1e-4 * Math.Abs(expected[i]),
                $"{what} element {i}: im2col {expected[i]}, Winograd {actual[i]} (largest magnitude {scale})");
    }
}
