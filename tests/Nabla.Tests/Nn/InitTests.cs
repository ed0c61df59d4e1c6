using Nabla.Nn;

namespace Nabla.Tests.NnTests;

public class InitTests
{
    /// <summary>Sample mean and variance in double.</summary>
    static (double Mean, double Var) Moments(Tensor t)
    {
        double sum = 0, sq = 0;
        foreach (float v in t.Data) sum += v;
        double mean = sum / t.Numel;
        foreach (float v in t.Data) sq += (v - mean) * (v - mean);
        return (mean, sq / (t.Numel - 1));
    }

    static Tensor Filled(Init init, int[] shape, ulong seed = 42)
    {
        var t = Tensor.Zeros(shape);
        init.Fill(t, new Generator(seed));
        return t;
    }

    public static TheoryData<string, int[], double> VarianceCases => new()
    {
        // name, shape, expected variance. 512x512: fan_in = fan_out = 512.
        // 256x128x3x3: fan_in = 128*9 = 1152, fan_out = 256*9 = 2304.
        { "XavierUniform", [512, 512], 2.0 / 1024 },
        { "XavierNormal", [512, 512], 2.0 / 1024 },
        { "XavierUniform gain 2", [256, 128, 3, 3], 4 * 2.0 / (1152 + 2304) },
        { "KaimingUniform", [256, 128, 3, 3], 2.0 / 1152 },
        { "KaimingNormal", [256, 128, 3, 3], 2.0 / 1152 },
        { "KaimingNormal fan_out", [256, 128, 3, 3], 2.0 / 2304 },
        { "KaimingUniform tanh", [512, 512], 25.0 / 9 / 512 },
        { "KaimingNormal leaky 0.2", [512, 512], 2.0 / 1.04 / 512 },
        { "LecunUniform", [256, 128, 3, 3], 1.0 / 1152 },
        { "LecunNormal", [512, 512], 1.0 / 512 },
        { "Normal", [512, 512], 0.25 },
        { "Uniform", [512, 512], 4.0 / 12 },
    };

    static Init Rule(string name) => name switch
    {
        "XavierUniform" => Init.XavierUniform(),
        "XavierNormal" => Init.XavierNormal(),
        "XavierUniform gain 2" => Init.XavierUniform(gain: 2),
        "KaimingUniform" => Init.KaimingUniform(),
        "KaimingNormal" => Init.KaimingNormal(),
        "KaimingNormal fan_out" => Init.KaimingNormal(mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu),
        "KaimingUniform tanh" => Init.KaimingUniform(nonlinearity: Nonlinearity.Tanh),
        "KaimingNormal leaky 0.2" => Init.KaimingNormal(a: 0.2),
        "LecunUniform" => Init.LecunUniform(),
        "LecunNormal" => Init.LecunNormal(),
        "Normal" => Init.Normal(0, 0.5),
        "Uniform" => Init.Uniform(-1, 1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(VarianceCases))]
    public void Variance_MatchesTheFormula(string name, int[] shape, double expectedVar)
    {
        var t = Filled(Rule(name), shape);
        var (mean, variance) = Moments(t);
        // With n >= 262,144 draws the sample variance's relative standard error is at most
        // sqrt(2 / n) ~ 0.0028 (normal) and the mean's is sd / sqrt(n): 2% and 5 standard errors
        // leave a seeded test no room to flake, yet catch any wrong factor in a formula.
        Assert.InRange(variance / expectedVar, 0.98, 1.02);
        Assert.InRange(Math.Abs(mean), 0, 5 * Math.Sqrt(expectedVar / t.Numel));
    }

    [Theory]
    [InlineData("XavierUniform", 0.0765465544)]   // sqrt(6 / 1024)
    [InlineData("KaimingUniform", 0.0721687836)]  // sqrt(2) * sqrt(3 / 1152)
    [InlineData("LecunUniform", 0.0510310363)]    // sqrt(3 / 1152)
    public void UniformRules_StayWithinTheirBound_AndReachIt(string name, double bound)
    {
        int[] shape = name == "XavierUniform" ? [512, 512] : [256, 128, 3, 3];
        var v = Filled(Rule(name), shape).ToArray();
        Assert.InRange(v.Max(), 0.999 * bound, bound);
        Assert.InRange(v.Min(), -bound, -0.999 * bound);
    }

    [Fact]
    public void Gain_HasPyTorchValues()
    {
        Assert.Equal(1.0, Init.Gain(Nonlinearity.Linear));
        Assert.Equal(1.0, Init.Gain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3, Init.Gain(Nonlinearity.Tanh));
        Assert.Equal(Math.Sqrt(2), Init.Gain(Nonlinearity.Relu));
        Assert.Equal(Math.Sqrt(2 / 1.0001), Init.Gain(Nonlinearity.LeakyRelu));
        Assert.Equal(Math.Sqrt(2 / 1.04), Init.Gain(Nonlinearity.LeakyRelu, 0.2), 15);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Init.Gain((Nonlinearity)99));
        Assert.StartsWith("Gain: unknown non-linearity", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fans_ForLinearAndConvShapes()
    {
        Assert.Equal((20, 10), Init.Fans([10, 20]));
        Assert.Equal((3 * 5 * 5, 16 * 5 * 5), Init.Fans([16, 3, 5, 5]));
        Assert.Equal((4 * 3, 8 * 3), Init.Fans([8, 4, 3]));
        Assert.Equal((2 * 3 * 3 * 3, 4 * 3 * 3 * 3), Init.Fans([4, 2, 3, 3, 3]));
        var e = Assert.Throws<ShapeException>(() => Init.Fans([5]));
        Assert.Equal("Init: expected a tensor with at least 2 dimensions to compute fan in and fan out; got shape [5]", e.Message);
    }

    [Fact]
    public void FanBasedRules_RejectOneDimensionalTensors()
    {
        var e = Assert.Throws<ShapeException>(() => Init.XavierUniform().Fill(Tensor.Zeros(5)));
        Assert.Equal("Init: expected a tensor with at least 2 dimensions to compute fan in and fan out; got shape [5]", e.Message);
        Assert.Throws<ShapeException>(() => Init.KaimingNormal().Fill(Tensor.Zeros(5)));
    }

    [Theory]
    [InlineData(new[] { 64, 16 }, 1.0)]       // tall: orthonormal columns
    [InlineData(new[] { 16, 64 }, 1.0)]       // wide: orthonormal rows
    [InlineData(new[] { 32, 32 }, 1.0)]       // square: both
    [InlineData(new[] { 8, 3, 2, 2 }, 1.0)]   // conv weight flattened to 8 x 12
    [InlineData(new[] { 48, 16 }, 2.0)]       // scaled by the gain
    public void Orthogonal_GivesOrthonormalRowsOrColumns(int[] shape, double gain)
    {
        var w = Filled(Init.Orthogonal(gain), shape, seed: 9).ToArray();
        int rows = shape[0], cols = w.Length / rows;
        // The smaller Gram matrix: W^T W (cols x cols) for tall, W W^T (rows x rows) for wide.
        bool tall = rows >= cols;
        int k = tall ? cols : rows, n = tall ? rows : cols;
        double At(int i, int j) => tall ? w[i * cols + j] : w[j * cols + i]; // (n x k) view
        double worst = 0;
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += At(i, a) * At(i, b);
                worst = Math.Max(worst, Math.Abs(dot - (a == b ? gain * gain : 0)));
            }
        Assert.True(worst <= 1e-5 * gain * gain, $"the Gram matrix differs from {gain * gain} I by {worst}");
    }

    [Fact]
    public void Orthogonal_RejectsOneDimensionalTensors()
    {
        var e = Assert.Throws<ShapeException>(() => Init.Orthogonal().Fill(Tensor.Zeros(5)));
        Assert.Equal("Init.Orthogonal: expected a tensor with at least 2 dimensions; got shape [5]", e.Message);
    }

    [Fact]
    public void ZeroElementTensors_AreANoOp()
    {
        // PyTorch returns at once for an empty tensor; nothing to fill, nothing to divide by.
        foreach (var init in new[] { Init.Orthogonal(), Init.XavierUniform(), Init.KaimingUniform(), Init.LecunNormal() })
        {
            init.Fill(Tensor.Zeros(0, 4));
            init.Fill(Tensor.Zeros(4, 0));
        }
    }

    [Fact]
    public void SameSeed_SameValues_DifferentSeed_DifferentValues()
    {
        foreach (var init in new[] { Init.XavierNormal(), Init.KaimingUniform(), Init.Orthogonal(), Init.Normal(), Init.Uniform() })
        {
            var a = Filled(init, [16, 8], seed: 5).ToArray();
            Assert.Equal(a, Filled(init, [16, 8], seed: 5).ToArray());
            Assert.NotEqual(a, Filled(init, [16, 8], seed: 6).ToArray());
        }
    }

    [Fact]
    public void Reseeding_AGenerator_ReproducesItsNormalDraws()
    {
        // Normal variates come in Box-Muller pairs; reseeding must drop a cached second value,
        // or Generator.ManualSeed would not reproduce a run that drew an odd number of them.
        var g = new Generator(1);
        g.NextNormal();
        g.Seed(5);
        var t = Tensor.Zeros(7);
        Init.Normal().Fill(t, g);
        Assert.Equal(Filled(Init.Normal(), [7], seed: 5).ToArray(), t.ToArray());
    }

    [Fact]
    public void ConstantRules_AndFillingAParameterInPlace()
    {
        var p = new Parameter(Tensor.Zeros(2, 3));
        var data = p.Data;
        Init.Constant(0.5).Fill(p);
        Assert.Same(data, p.Data);
        Assert.All(p.Data.ToArray(), v => Assert.Equal(0.5f, v));
        Init.Ones().Fill(p);
        Assert.All(p.Data.ToArray(), v => Assert.Equal(1f, v));
        Init.Zeros().Fill(p);
        Assert.All(p.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal("KaimingUniform(a: 0, mode: FanIn, nonlinearity: LeakyRelu)", Init.KaimingUniform().ToString());
    }

    [Fact]
    public void InvalidArguments_HaveClearMessages()
    {
        var e = Assert.Throws<ArgumentException>(() => Init.Uniform(1, 0));
        Assert.Equal("Init.Uniform: expected low <= high; got low = 1, high = 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => Init.Normal(0, -1));
        Assert.Equal("Init.Normal: expected std >= 0; got -1 (Parameter 'std')", e.Message);
        Assert.Throws<ArgumentException>(() => Init.Uniform(double.NaN, 1));
    }
}
