using Nabla.Kernels;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

/// <summary>Activation functions and layers: known values (Python's math module), gradients, stability, printing.</summary>
public class ActivationTests
{
    static float[] Grad(Func<Tensor, Tensor> f, float[] x)
    {
        var t = Tensor.FromArray(x).RequireGrad();
        f(t).Sum().Backward();
        return t.Grad!.ToArray();
    }

    [Fact]
    public void LeakyRelu_values_and_gradient()
    {
        float[] x = [-2f, -0.5f, 0f, 1.5f];
        Close([-0.2f, -0.05f, 0f, 1.5f], Functional.LeakyRelu(T(x), 0.1));
        // at 0 the slope is the negative one, as PyTorch's (x > 0) test
        Close([0.1f, 0.1f, 0.1f, 1f], Tensor.FromArray(Grad(v => Functional.LeakyRelu(v, 0.1), x)));
        Close([-0.02f, 3f], Functional.LeakyRelu(T([-2f, 3f])));
        // long enough for the vector loop and its tail
        var big = U(7, -1, 1, 37);
        var y = Functional.LeakyRelu(big, 0.2).ToArray();
        for (int i = 0; i < y.Length; i++) Assert.Equal(big.Data[i] > 0 ? big.Data[i] : 0.2f * big.Data[i], y[i]);
    }

    [Fact]
    public void Elu_values_and_gradient()
    {
        float[] x = [-2f, -0.5f, 0f, 1.5f];
        Close([-0.8646647167633873f, -0.3934693402873666f, 0f, 1.5f], Functional.Elu(T(x)));
        Close([2 * -0.8646647167633873f, 1.5f], Functional.Elu(T([-2f, 1.5f]), alpha: 2));
        Close([0.1353352832366127f, 0.6065306597126334f, 1f, 1f], Tensor.FromArray(Grad(v => Functional.Elu(v), x)));
        Assert.Equal(-1f, Functional.Elu(T([-1000f])).Item()); // saturates, no NaN
    }

    // x, x Phi(x) and Phi(x) + x phi(x), from Python: x * 0.5 * math.erfc(-x / math.sqrt(2))
    static readonly double[] GeluX = [-5, -3, -1, -0.1, 0, 0.5, 2, 4];
    static readonly double[] GeluY = [-1.4332578593959731e-06, -0.004049694094890287, -0.15865525393145707, -0.0460172162722971,
        0, 0.34573123063700656, 1.9544997361036416, 3.9998733150326675];
    static readonly double[] GeluDy = [-7.146946001792295e-06, -0.011945647204183927, -0.08331547058768629, 0.4204769079752698,
        0.5, 0.8674951246561629, 1.085231801078197, 1.0005036496612265];

    [Fact]
    public void Gelu_exact_matches_erf_form_including_the_far_tail()
    {
        var x = GeluX.Select(v => (float)v).ToArray();
        var y = Functional.Gelu(T(x)).ToArray();
        var dy = Grad(v => Functional.Gelu(v), x);
        for (int i = 0; i < x.Length; i++)
        {
            // relative accuracy, also at x = -5 where the value is -1.4e-6
            Assert.True(Math.Abs(y[i] - GeluY[i]) <= 5e-7 * Math.Abs(GeluY[i]), $"gelu({x[i]}) = {y[i]}; expected {GeluY[i]}");
            Assert.True(Math.Abs(dy[i] - GeluDy[i]) <= 5e-7 * Math.Abs(GeluDy[i]), $"gelu'({x[i]}) = {dy[i]}; expected {GeluDy[i]}");
        }
    }

    [Fact]
    public void Gelu_tanh_approximation()
    {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) from Python
        double[] expected = [-2.2917961972623857e-07, -0.0036373920817729943, -0.15880800939172324, -0.04601724895456484,
            0, 0.34571400982514394, 1.954597694087775, 3.9999297540518075];
        var y = Functional.Gelu(T(GeluX.Select(v => (float)v).ToArray()), "tanh").ToArray();
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-6 * Math.Abs(expected[i]) + 1e-12, $"element {i}: {y[i]} vs {expected[i]}");
    }

    [Fact]
    public void Erfc_has_float32_relative_accuracy()
    {
        // (x, math.erfc(x)) from Python
        (double X, double Erfc)[] table = [(-3, 1.9999779095030015), (-1, 1.842700792949715), (-0.3, 1.3286267594591274), (0, 1.0),
            (1e-3, 0.9988716212090307), (0.2, 0.7772974107895215), (0.7, 0.32219880616258156), (1.5, 0.033894853524689274),
            (2.5, 0.0004069520174449589), (4, 1.541725790028002e-08), (6, 2.1519736712498916e-17), (9, 4.13703174651381e-37)];
        foreach (var (x, e) in table)
        {
            double rel = Math.Abs(SpecialFunctions.Erfc(x) - e) / e;
            Assert.True(rel < 1.2e-7, $"erfc({x}): relative error {rel:g3}");
            Assert.True(Math.Abs(SpecialFunctions.Erf(x) - (1 - e)) < 1.2e-7, $"erf({x})");
        }
        Assert.Equal(1e-20, SpecialFunctions.Log1p(1e-20));
        Assert.Equal(Math.Log(3), SpecialFunctions.Log1p(2), 15);
    }

    [Fact]
    public void Softplus_values_threshold_and_beta()
    {
        // log1p(exp(x)) from Python; 25 is above the threshold 20, so it comes back unchanged
        float[] x = [-30f, -1f, 0f, 1f, 19.9f, 25f];
        var y = Functional.Softplus(T(x)).ToArray();
        double[] e = [9.357622968839737e-14, 0.31326168751822286, 0.6931471805599453, 1.3132616875182228, 19.900000002277924, 25];
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(y[i] - e[i]) <= 1e-6 * e[i], $"softplus({x[i]}) = {y[i]}");
        // beta = 2: 2 * 10.5 = 21 > 20 is linear; log1p(exp(18)) / 2 below
        Close([10.5f, 9.00000000761499f], Functional.Softplus(T([10.5f, 9f]), beta: 2));
        // derivative sigma(beta x), and 1 above the threshold
        Close([1f / (1f + MathF.Exp(1f)), 0.5f, 1f], Tensor.FromArray(Grad(v => Functional.Softplus(v), [-1f, 0f, 25f])));
        Close([1f], Tensor.FromArray(Grad(v => Functional.Softplus(v, threshold: 1000), [1000f]))); // no overflow
    }

    [Fact]
    public void Functional_sigmoid_tanh_relu_forward_to_the_tensor_ops()
    {
        var x = T([-1f, 0.5f, 2f]);
        Assert.Equal(Tensor.Sigmoid(x).ToArray(), Functional.Sigmoid(x).ToArray());
        Assert.Equal(Tensor.Tanh(x).ToArray(), Functional.Tanh(x).ToArray());
        Assert.Equal([0f, 0.5f, 2f], Functional.Relu(x).ToArray());
    }

    [Fact]
    public void Softmax_and_log_softmax_known_values()
    {
        // exp([1, 2, 3]) / sum: 0.09003057, 0.24472847, 0.66524096
        double[] p = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
        Close([.. p.Select(v => (float)v)], Functional.Softmax(T([1f, 2f, 3f]), 0));
        Close([.. p.Select(v => (float)Math.Log(v))], Functional.LogSoftmax(T([1f, 2f, 3f]), -1));
        // rows sum to one along the chosen dim of a 3-D tensor
        var x = U(3, -4, 4, 2, 3, 4);
        for (int dim = 0; dim < 3; dim++)
        {
            var s = Functional.Softmax(x, dim).Sum(dim).ToArray();
            foreach (float v in s) Assert.Equal(1f, v, 5);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(-1)]
    public void Softmax_along_any_dim_matches_the_last_dim_after_a_transpose(int dim)
    {
        var x = U(11, -3, 3, 2, 3, 4);
        int d = dim < 0 ? dim + 3 : dim;
        var moved = x.Transpose(d, 2);
        var viaLast = Functional.Softmax(moved, -1).Transpose(d, 2);
        Close(viaLast.ToArray(), Functional.Softmax(x, dim), 1e-6f);
        var logViaLast = Functional.LogSoftmax(moved, -1).Transpose(d, 2);
        Close(logViaLast.ToArray(), Functional.LogSoftmax(x, dim), 1e-6f);
    }

    [Fact]
    public void Softmax_is_stable_for_huge_logits()
    {
        Close([0.09003057f, 0.24472847f, 0.66524096f], Functional.Softmax(T([1000f, 1001f, 1002f]), 0));
        Close([0f, 0f, 1f], Functional.Softmax(T([-1000f, 0f, 1000f]), 0));
        Close([-2000f, -1000f, 0f], Functional.LogSoftmax(T([-1000f, 0f, 1000f]), 0));
        Close([-2.40760596f, -1.40760596f, -0.40760596f], Functional.LogSoftmax(T([5000f, 5001f, 5002f]), 0), 1e-5f);
        var x = T([-1000f, 0f, 1000f]).RequireGrad();
        Functional.LogSoftmax(x, 0).Select(0, 1).Backward();
        Close([0f, 1f, -1f], x.Grad!);
    }

    [Fact]
    public void Softmax_of_an_all_minus_infinity_slice_is_nan_as_in_pytorch()
    {
        var y = Functional.Softmax(T([float.NegativeInfinity, float.NegativeInfinity, 1f, 2f], 2, 2), 1).ToArray();
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[1]));
        Assert.Equal(0.26894142f, y[2], 6);
        var ly = Functional.LogSoftmax(T([float.NegativeInfinity, 0f], 1, 2), 1).ToArray();
        Assert.Equal([float.NegativeInfinity, 0f], ly); // one -inf in a finite row is fine
    }

    [Fact]
    public void Softmax_of_empty_and_scalar_inputs()
    {
        Shape([0, 3], Functional.Softmax(Tensor.Zeros(0, 3), 1));
        Shape([2, 0], Functional.LogSoftmax(Tensor.Zeros(2, 0), 1));
        Assert.Equal(1f, Functional.Softmax(Tensor.Scalar(5f), 0).Item());
        Assert.Equal(0f, Functional.LogSoftmax(Tensor.Scalar(5f), -1).Item());
    }

    [Fact]
    public void Maxout_values_ties_and_gradient()
    {
        // 2 samples, 2 units of 3 pieces
        var x = T([1f, 5f, 2f, -1f, -3f, -2f,
                   4f, 4f, 0f, 7f, 9f, 9f], 2, 6).RequireGrad();
        var y = Functional.Maxout(x, 3);
        Shape([2, 2], y);
        Assert.Equal([5f, -1f, 4f, 9f], y.ToArray());
        y.Backward(T([1f, 2f, 3f, 4f], 2, 2));
        // the gradient goes to each group's maximum, the first one on ties
        Assert.Equal([0f, 1f, 0f, 2f, 0f, 0f, 3f, 0f, 0f, 0f, 4f, 0f], x.Grad!.ToArray());
        Assert.True(float.IsNaN(Functional.Maxout(T([1f, float.NaN, 3f, 0f], 1, 4), 4).Item()));
        Assert.Equal(x.ToArray(), Functional.Maxout(x, 1).ToArray());
    }

    // ---- gradient checks -------------------------------------------------------------------

    public static TheoryData<string> GradCases() => [.. GradTable.Keys];

    static readonly Dictionary<string, (Func<Tensor[], Tensor> F, Tensor[] X)> GradTable = new()
    {
        ["sigmoid"] = (x => Functional.Sigmoid(x[0]), [G(1, -3, 3, 2, 5)]),
        ["tanh"] = (x => Functional.Tanh(x[0]), [G(1, -2, 2, 2, 5)]),
        ["relu"] = (x => Functional.Relu(x[0]), [AwayFromZero(1, 0.1f, 2, 2, 5)]),
        ["leaky_relu"] = (x => Functional.LeakyRelu(x[0], 0.2), [AwayFromZero(2, 0.1f, 2, 3, 13)]),
        ["elu"] = (x => Functional.Elu(x[0], 1.5), [AwayFromZero(3, 0.1f, 3, 3, 5)]),
        ["gelu"] = (x => Functional.Gelu(x[0]), [G(4, -4, 4, 3, 5)]),
        ["gelu tanh"] = (x => Functional.Gelu(x[0], "tanh"), [G(4, -4, 4, 3, 5)]),
        ["softplus"] = (x => Functional.Softplus(x[0]), [G(5, -5, 5, 3, 5)]),
        ["softplus beta threshold"] = (x => Functional.Softplus(x[0], beta: 2, threshold: 3), [Distinct(6, 3, 5)]),
        ["softmax dim 1"] = (x => Functional.Softmax(x[0], 1), [G(7, -2, 2, 3, 4)]),
        ["softmax dim 0 of 3-D"] = (x => Functional.Softmax(x[0], 0), [G(8, -2, 2, 3, 2, 4)]),
        ["softmax dim 1 of 3-D"] = (x => Functional.Softmax(x[0], 1), [G(9, -2, 2, 2, 3, 4)]),
        ["log_softmax dim -1"] = (x => Functional.LogSoftmax(x[0], -1), [G(10, -2, 2, 3, 4)]),
        ["log_softmax dim 1 of 3-D"] = (x => Functional.LogSoftmax(x[0], 1), [G(11, -2, 2, 2, 3, 4)]),
        ["maxout"] = (x => Functional.Maxout(x[0], 3), [Distinct(12, 4, 9)]),
        ["maxout 3-D"] = (x => Functional.Maxout(x[0], 2), [Distinct(13, 2, 3, 4)]),
    };

    [Theory]
    [MemberData(nameof(GradCases))]
    public void Gradient_matches_finite_differences(string name)
    {
        var (f, x) = GradTable[name];
        GradCheck.Run(f, x).Check(name);
    }

    // ---- layers ----------------------------------------------------------------------------

    [Fact]
    public void Layers_print_like_pytorch()
    {
        Assert.Equal("Sigmoid()", new Sigmoid().ToString());
        Assert.Equal("Tanh()", new Tanh().ToString());
        Assert.Equal("Relu()", new Relu().ToString());
        Assert.Equal("LeakyRelu(negative_slope=0.01)", new LeakyRelu().ToString());
        Assert.Equal("LeakyRelu(negative_slope=1e-05)", new LeakyRelu(1e-5).ToString());
        Assert.Equal("Elu(alpha=1.0)", new Elu().ToString());
        Assert.Equal("Gelu(approximate='none')", new Gelu().ToString());
        Assert.Equal("Gelu(approximate='tanh')", new Gelu("tanh").ToString());
        Assert.Equal("Softplus(beta=1.0, threshold=20.0)", new Softplus().ToString());
        Assert.Equal("Softplus(beta=0.5, threshold=10.0)", new Softplus(0.5, 10).ToString());
        Assert.Equal("Softmax(dim=1)", new Softmax(1).ToString());
        Assert.Equal("LogSoftmax(dim=-1)", new LogSoftmax(-1).ToString());
        Assert.Equal("Maxout(pieces=3)", new Maxout(3).ToString());
    }

    [Fact]
    public void Layers_compute_their_functional_forms()
    {
        var x = U(21, -3, 3, 4, 6);
        Assert.Equal(Tensor.Sigmoid(x).ToArray(), new Sigmoid().Forward(x).ToArray());
        Assert.Equal(Tensor.Tanh(x).ToArray(), new Tanh().Forward(x).ToArray());
        Assert.Equal(Tensor.Relu(x).ToArray(), new Relu().Forward(x).ToArray());
        Assert.Equal(Functional.LeakyRelu(x, 0.3).ToArray(), new LeakyRelu(0.3).Forward(x).ToArray());
        Assert.Equal(Functional.Elu(x, 0.5).ToArray(), new Elu(0.5).Forward(x).ToArray());
        Assert.Equal(Functional.Gelu(x, "tanh").ToArray(), new Gelu("tanh").Forward(x).ToArray());
        Assert.Equal(Functional.Softplus(x, 2, 5).ToArray(), new Softplus(2, 5).Forward(x).ToArray());
        Assert.Equal(Functional.Softmax(x, 0).ToArray(), new Softmax(0).Forward(x).ToArray());
        Assert.Equal(Functional.LogSoftmax(x, 1).ToArray(), new LogSoftmax(1).Forward(x).ToArray());
        Assert.Equal(Functional.Maxout(x, 2).ToArray(), new Maxout(2).Forward(x).ToArray());
        Assert.Empty(new Gelu().Parameters());
    }

    // ---- errors ----------------------------------------------------------------------------

    [Fact]
    public void Bad_arguments_are_rejected_with_clear_messages()
    {
        var x = Tensor.Zeros(2, 5);
        Assert.Equal("gelu: expected approximate = \"none\" or \"tanh\"; got \"fast\" (Parameter 'approximate')",
            Assert.Throws<ArgumentException>(() => Functional.Gelu(x, "fast")).Message);
        Assert.StartsWith("softplus: expected a non-zero beta; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Softplus(x, beta: 0)).Message);
        Assert.StartsWith("maxout: expected pieces >= 1; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => Functional.Maxout(x, 0)).Message);
        Assert.Equal("maxout: expected an input whose last dimension is a multiple of pieces = 2; got [2, 5]",
            Assert.Throws<ShapeException>(() => Functional.Maxout(x, 2)).Message);
        Assert.Equal("maxout: expected an input whose last dimension is a multiple of pieces = 2; got []",
            Assert.Throws<ShapeException>(() => Functional.Maxout(Tensor.Scalar(1f), 2)).Message);
        Assert.Equal("softmax: expected a dimension in [-2, 1]; got dim = 2 for input [2, 5]",
            Assert.Throws<ShapeException>(() => Functional.Softmax(x, 2)).Message);
        Assert.Equal("log_softmax: expected a dimension in [-2, 1]; got dim = -3 for input [2, 5]",
            Assert.Throws<ShapeException>(() => Functional.LogSoftmax(x, -3)).Message);
    }

    [Fact]
    public void Bad_layer_settings_are_rejected_with_clear_messages()
    {
        Assert.StartsWith("LeakyRelu: expected a finite negativeSlope; got NaN",
            Assert.Throws<ArgumentOutOfRangeException>(() => new LeakyRelu(double.NaN)).Message);
        Assert.StartsWith("Elu: expected a finite alpha; got Infinity",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Elu(double.PositiveInfinity)).Message);
        Assert.StartsWith("Gelu: expected approximate = \"none\" or \"tanh\"; got \"erf\"",
            Assert.Throws<ArgumentException>(() => new Gelu("erf")).Message);
        Assert.StartsWith("Softplus: expected a non-zero beta; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Softplus(beta: 0)).Message);
        Assert.StartsWith("Softplus: expected a threshold that is a number; got NaN",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Softplus(threshold: double.NaN)).Message);
        Assert.StartsWith("Maxout: expected pieces >= 1; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Maxout(0)).Message);
    }

    [Fact]
    public void Maxout_layer_names_itself_and_its_path_on_a_bad_input()
    {
        var e = Assert.Throws<ShapeException>(() => new Maxout(3).Forward(Tensor.Zeros(8, 10)));
        Assert.Equal("Maxout(pieces=3) expects input of shape (N, units*3); got [8, 10]\n" +
                     "hint: 10 features do not split into groups of 3; the layer before should output a multiple of 3", e.Message);
        var model = new Sequential(new Linear(4, 5), new Maxout(2));
        var e2 = Assert.Throws<ShapeException>(() => model.Forward(Tensor.Zeros(3, 4)));
        Assert.StartsWith("1: Maxout(pieces=2) expects input of shape (N, units*2); got [3, 5]", e2.Message);
        Assert.Equal("Maxout(pieces=2) expects input of shape (N, units*2); got []",
            Assert.Throws<ShapeException>(() => new Maxout(2).Forward(Tensor.Scalar(0f))).Message);
    }
}
