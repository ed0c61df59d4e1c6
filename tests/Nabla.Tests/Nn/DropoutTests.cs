using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

public class DropoutTests
{
    [Fact]
    public void Inverted_training_keeps_elements_scaled_by_one_over_keep_probability()
    {
        var x = U(1, 0.5f, 2, 100_000);
        var y = Functional.Dropout(x, 0.3, generator: new Generator(5));
        int zeros = 0;
        for (int i = 0; i < x.Numel; i++)
        {
            if (y.Data[i] == 0) zeros++;
            else Assert.Equal(x.Data[i] * (float)(1 / 0.7), y.Data[i]);
        }
        // Binomial(n, p): within 5 standard deviations of n p
        double sd = Math.Sqrt(x.Numel * 0.3 * 0.7);
        Assert.InRange(zeros, x.Numel * 0.3 - 5 * sd, x.Numel * 0.3 + 5 * sd);
    }

    [Fact]
    public void Inverted_evaluation_is_the_identity()
    {
        var x = U(2, -1, 1, 4, 5);
        Assert.Same(x, Functional.Dropout(x, 0.5, training: false));
        var m = new Dropout(0.5);
        m.Eval();
        Assert.Equal(x.ToArray(), m.Forward(x).ToArray());
    }

    [Fact]
    public void Classic_training_keeps_elements_unscaled_and_evaluation_multiplies_by_keep_probability()
    {
        var x = U(3, 0.5f, 2, 1000);
        var y = Functional.Dropout(x, 0.25, inverted: false, generator: new Generator(6));
        for (int i = 0; i < x.Numel; i++) Assert.True(y.Data[i] == 0 || y.Data[i] == x.Data[i], $"element {i}");
        var xe = x.Clone().RequireGrad();
        var e = Functional.Dropout(xe, 0.25, training: false, inverted: false);
        NormReference.AssertClose([.. x.Data.ToArray().Select(v => 0.75 * v)], e, 1e-6, 1e-6);
        e.Sum().Backward();
        Assert.All(xe.Grad!.ToArray(), g => Assert.Equal(0.75f, g));
    }

    [Theory]
    [InlineData(true, 0.3)]
    [InlineData(false, 0.3)]
    [InlineData(true, 0.8)]
    [InlineData(false, 0.6)]
    public void The_average_of_many_training_outputs_approaches_the_evaluation_output(bool inverted, double p)
    {
        // Each draw is x m s with m ~ Bernoulli(1 - p) and s = 1 / (1 - p) (inverted) or 1 (classic):
        // mean (1 - p) s x = the evaluation output, variance x^2 s^2 p (1 - p). The average of K draws
        // has standard deviation |x| s sqrt(p (1 - p) / K); every element must lie within 5 of them.
        const int draws = 4000;
        var x = U(4, 0.5f, 1.5f, 64);
        var gen = new Generator(7);
        var sum = new double[64];
        for (int k = 0; k < draws; k++)
        {
            var y = Functional.Dropout(x, p, inverted: inverted, generator: gen);
            for (int i = 0; i < 64; i++) sum[i] += y.Data[i];
        }
        var eval = Functional.Dropout(x, p, training: false, inverted: inverted);
        double s = inverted ? 1 / (1 - p) : 1;
        for (int i = 0; i < 64; i++)
        {
            double sd = Math.Abs(x.Data[i]) * s * Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange(sum[i] / draws, eval.Data[i] - 5 * sd, eval.Data[i] + 5 * sd);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_mask()
    {
        var x = U(5, 0.5f, 2, 3, 7, 11);
        var a = Functional.Dropout(x, 0.5, generator: new Generator(42)).ToArray();
        var b = Functional.Dropout(x, 0.5, generator: new Generator(42)).ToArray();
        var c = Functional.Dropout(x, 0.5, generator: new Generator(43)).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var m1 = new Dropout2d(0.5, generator: new Generator(9));
        var m2 = new Dropout2d(0.5, generator: new Generator(9));
        var img = U(6, 0.5f, 2, 4, 16, 2, 2);
        Assert.Equal(m1.Forward(img).ToArray(), m2.Forward(img).ToArray());
    }

    [Fact]
    public void Backward_reuses_the_forward_mask()
    {
        var x = U(8, 0.5f, 2, 5, 13).RequireGrad();
        var y = Functional.Dropout(x, 0.4, generator: new Generator(3));
        var w = U(9, -1, 1, 5, 13);
        y.Backward(w);
        for (int i = 0; i < x.Numel; i++)
            Assert.Equal(y.Data[i] == 0 ? 0f : w.Data[i] * (float)(1 / 0.6), x.Grad!.Data[i]);
    }

    [Fact]
    public void Gradients_agree_with_finite_differences()
    {
        // a fresh generator with a fixed seed inside f: every call draws the same mask
        GradCheck.Run(t => Functional.Dropout(t[0], 0.4, generator: new Generator(11)), [U(1, -1, 1, 6, 7).RequireGrad()]).Check("dropout");
        GradCheck.Run(t => Functional.Dropout(t[0], 0.4, inverted: false, generator: new Generator(11)), [U(1, -1, 1, 70).RequireGrad()])
            .Check("classic dropout");
        GradCheck.Run(t => Functional.Dropout(t[0], 0.4, training: false, inverted: false), [U(1, -1, 1, 6, 7).RequireGrad()])
            .Check("classic dropout, evaluation");
        GradCheck.Run(t => Functional.Dropout2d(t[0], 0.5, generator: new Generator(12)), [U(2, -1, 1, 2, 4, 2, 3).RequireGrad()])
            .Check("dropout2d");
        GradCheck.Run(t => new Dropout(0.3, generator: new Generator(13)).Forward(t[0]), [U(3, -1, 1, 4, 9).RequireGrad()])
            .Check("Dropout module");
        GradCheck.Run(t => new Dropout2d(0.3, inverted: false, generator: new Generator(14)).Forward(t[0]), [U(4, -1, 1, 5, 2, 2).RequireGrad()])
            .Check("Dropout2d module");
    }

    [Fact]
    public void P_one_gives_zeros_and_p_zero_the_input()
    {
        var x = U(10, 0.5f, 2, 4, 6).RequireGrad();
        var y = Functional.Dropout(x, 1.0, generator: new Generator(1));
        Assert.All(y.ToArray(), v => Assert.Equal(0f, v));
        y.Sum().Backward();
        Assert.All(x.Grad!.ToArray(), g => Assert.Equal(0f, g));
        Assert.All(Functional.Dropout2d(x.Detach().Reshape(2, 2, 2, 3), 1.0).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(x.ToArray(), Functional.Dropout(x, 0.0).ToArray());
        Assert.All(Functional.Dropout(x, 1.0, training: false, inverted: false).ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(new[] { 4, 8, 3, 3 })]
    [InlineData(new[] { 8, 3, 3 })]
    public void Dropout2d_zeroes_whole_channels(int[] shape)
    {
        var x = U(11, 0.5f, 2, shape);
        var y = Functional.Dropout2d(x, 0.5, generator: new Generator(21));
        int planes = x.Numel / 9, dropped = 0;
        for (int c = 0; c < planes; c++)
        {
            bool zero = y.Data[c * 9] == 0;
            if (zero) dropped++;
            for (int j = 0; j < 9; j++)
                Assert.Equal(zero ? 0f : x.Data[c * 9 + j] * 2f, y.Data[c * 9 + j]);
        }
        Assert.InRange(dropped, 1, planes - 1);
        // evaluation: identity, or the keep probability for classic dropout
        Assert.Same(x, Functional.Dropout2d(x, 0.5, training: false));
        NormReference.AssertClose([.. x.Data.ToArray().Select(v => 0.5 * v)], Functional.Dropout2d(x, 0.5, training: false, inverted: false), 1e-6, 1e-6);
    }

    [Fact]
    public void Modules_follow_the_mode_and_print_like_PyTorch()
    {
        var x = U(12, 0.5f, 2, 200);
        var d = new Dropout(0.5, generator: new Generator(1));
        Assert.Contains(0f, d.Forward(x).ToArray());
        d.Eval();
        Assert.Equal(x.ToArray(), d.Forward(x).ToArray());
        var classic = new Dropout(0.2, inverted: false);
        classic.Eval();
        NormReference.AssertClose([.. x.Data.ToArray().Select(v => 0.8 * v)], classic.Forward(x), 1e-6, 1e-6);
        Assert.Equal("Dropout(p=0.5)", new Dropout().ToString());
        Assert.Equal("Dropout(p=0.2, inverted=False)", classic.ToString());
        Assert.Equal("Dropout2d(p=0.1)", new Dropout2d(0.1).ToString());
        Assert.Empty(d.StateDict());
    }

    [Fact]
    public void Python_float_spelling()
    {
        Assert.Equal("1e-05", PyFormat.Float(1e-5));
        Assert.Equal("1.5e-06", PyFormat.Float(1.5e-6));
        Assert.Equal("0.0001", PyFormat.Float(1e-4));
        Assert.Equal("0.1", PyFormat.Float(0.1));
        Assert.Equal("1.0", PyFormat.Float(1));
        Assert.Equal("-2.5", PyFormat.Float(-2.5));
        Assert.Equal("1000000000000000.0", PyFormat.Float(1e15));
        Assert.Equal("1e+16", PyFormat.Float(1e16));
        Assert.Equal("1.5e+17", PyFormat.Float(1.5e17));
    }

    // ---- errors ---------------------------------------------------------------------------

    [Theory]
    [InlineData(1.5, "1.5")]
    [InlineData(-0.1, "-0.1")]
    [InlineData(double.NaN, "nan")]
    [InlineData(2.0, "2.0")]
    public void Probability_outside_zero_one_is_an_error(double p, string printed)
    {
        string message = $"dropout probability has to be between 0 and 1, but got {printed}";
        foreach (var make in new Func<object>[]
                 {
                     () => new Dropout(p), () => new Dropout2d(p),
                     () => Functional.Dropout(Tensor.Zeros(2), p), () => Functional.Dropout2d(Tensor.Zeros(1, 2, 2), p),
                 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(make);
            Assert.StartsWith(message, e.Message);
            Assert.Equal("p", e.ParamName);
        }
    }

    [Fact]
    public void Dropout2d_needs_three_or_four_dimensions()
    {
        var e = Assert.Throws<ShapeException>(() => Functional.Dropout2d(Tensor.Zeros(4, 8), 0.5));
        Assert.Equal("dropout2d: expected input of shape (N, C, H, W) or (C, H, W); got [4, 8]", e.Message);
        e = Assert.Throws<ShapeException>(() => new Dropout2d().Forward(Tensor.Zeros(1, 2, 3, 4, 5)));
        Assert.Equal("Dropout2d(p=0.5) expects input of shape (N, C, H, W) or (C, H, W); got [1, 2, 3, 4, 5]", e.Message);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void Masks_keep_the_right_fraction_and_vector_lanes_agree_with_the_definition(double p)
    {
        // 1,000,003 elements: not a multiple of the eight lanes, so the scalar tail runs too.
        int n = 1_000_003;
        var y = Functional.Dropout(Tensor.Ones(n), p, generator: new Generator(7)).ToArray();
        var mask = new DropoutMask(new Generator(7).NextUInt64(), p);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(mask.Keep(i), y[i] != 0);
            if (y[i] != 0) kept++;
        }
        double sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(kept, n * (1 - p) - 5 * sd, n * (1 - p) + 5 * sd);
        // Neighbouring elements are independent: P(both kept) = (1 - p)^2.
        int pairs = 0;
        for (int i = 0; i + 1 < n; i += 2) if (y[i] != 0 && y[i + 1] != 0) pairs++;
        double q = (1 - p) * (1 - p), m = n / 2;
        Assert.InRange(pairs, m * q - 5 * Math.Sqrt(m * q * (1 - q)), m * q + 5 * Math.Sqrt(m * q * (1 - q)));
    }
}
