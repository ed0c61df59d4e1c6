using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

/// <summary>
/// Gradient checks through the modules themselves, one row per layer: the input's gradient through
/// <see cref="Module.Forward"/> (GradCheck), the parameters' gradients by moving each parameter
/// element in place (GradCheck only perturbs its own inputs), and every loss object under every
/// reduction. The functional forms with their weights as inputs are checked beside each layer's
/// own tests (ConvTests, BatchNormTests, NormTests, ...).
/// </summary>
public class LayerGradCheckTests
{
    /// <summary>Distinct values (a shuffled ramp): no ties, so a maximum is differentiable.</summary>
    static Tensor Distinct(ulong seed, params int[] shape)
    {
        int n = 1;
        foreach (int d in shape) n *= d;
        using var _ = Autograd.NoGrad();
        return ((Tensor.Randperm(n, new Generator(seed)) - n / 2f) * 0.1f).Reshape(shape).Detach().RequireGrad();
    }

    /// <summary>|x| in [0.1, 2) with alternating signs: away from the kink of ReLU-like layers at 0.</summary>
    static Tensor AwayFromZero(ulong seed, params int[] shape)
    {
        var u = U(seed, 0.1f, 2, shape).ToArray();
        for (int i = 0; i < u.Length; i += 2) u[i] = -u[i];
        return T(u, shape).RequireGrad();
    }

    /// <summary>Normalization scales and shifts away from their initial 1 and 0, so a mix-up of the two shows.</summary>
    static TModule Randomized<TModule>(TModule m, ulong seed) where TModule : Module
    {
        var gen = new Generator(seed);
        foreach (var (name, p) in m.NamedParameters())
            if (p.Data.Rank == 1)
                (name.EndsWith("weight", StringComparison.Ordinal) ? Init.Uniform(0.5, 1.5) : Init.Uniform(-0.5, 0.5)).Fill(p, gen);
        return m;
    }

    static BatchNorm2d WithRunningStats(BatchNorm2d bn)
    {
        T([0.2f, -0.3f, 0.1f]).Data.CopyTo(bn.RunningMean!.Data.Span);
        T([0.8f, 1.5f, 2f]).Data.CopyTo(bn.RunningVar!.Data.Span);
        return bn;
    }

    static Generator Gen(ulong seed) => new(seed);

    // The module is built once per row (the lambda runs once), except where its forward consumes
    // randomness: dropout modules are rebuilt inside f with the same seed, so every call draws the same mask.
    static readonly Dictionary<string, Func<(Func<Tensor[], Tensor> F, Tensor X)>> InputRows = new()
    {
        ["Linear"] = () => (Fwd(new Linear(3, 2, generator: Gen(1))), G(1, -1, 1, 2, 4, 3)),
        ["Linear no bias"] = () => (Fwd(new Linear(3, 2, bias: false, generator: Gen(1))), G(2, -1, 1, 4, 3)),
        ["Conv2d stride padding"] = () => (Fwd(new Conv2d(2, 3, 3, stride: 2, padding: 1, generator: Gen(2))), G(3, -1, 1, 2, 2, 5, 5)),
        ["Conv2d groups dilation"] = () => (Fwd(new Conv2d(4, 4, 3, padding: 2, dilation: 2, groups: 2, generator: Gen(3))), G(4, -1, 1, 1, 4, 5, 5)),
        ["MaxPool2d"] = () => (Fwd(new MaxPool2d(2)), Distinct(5, 2, 2, 4, 6)),
        ["MaxPool2d padded"] = () => (Fwd(new MaxPool2d(3, 2, 1)), Distinct(6, 1, 2, 5, 5)),
        ["AvgPool2d"] = () => (Fwd(new AvgPool2d(3, 2, 1)), G(7, -1, 1, 2, 2, 5, 5)),
        ["AvgPool2d no pad count"] = () => (Fwd(new AvgPool2d(3, 2, 1, countIncludePad: false)), G(8, -1, 1, 1, 2, 5, 5)),
        ["AdaptiveAvgPool2d"] = () => (Fwd(new AdaptiveAvgPool2d((3, 2))), G(9, -1, 1, 2, 2, 5, 5)),
        ["BatchNorm1d train"] = () => (Fwd(Randomized(new BatchNorm1d(3), 10)), G(10, -2, 2, 6, 3)),
        ["BatchNorm1d eval"] = () => (Fwd(Randomized(new BatchNorm1d(3), 11).Eval()), G(11, -2, 2, 4, 3, 2)),
        ["BatchNorm2d train"] = () => (Fwd(Randomized(new BatchNorm2d(3), 12)), G(12, -2, 2, 3, 3, 2, 3)),
        ["BatchNorm2d eval"] = () => (Fwd(WithRunningStats(Randomized(new BatchNorm2d(3), 13)).Eval()), G(13, -2, 2, 2, 3, 2, 3)),
        ["BatchNorm2d momentum None"] = () => (Fwd(new BatchNorm2d(3, momentum: null)), G(14, -2, 2, 3, 3, 2, 2)),
        ["LayerNorm"] = () => (Fwd(Randomized(new LayerNorm([3, 4]), 15)), G(15, -2, 2, 2, 3, 4)),
        ["GroupNorm"] = () => (Fwd(Randomized(new GroupNorm(2, 4), 16)), G(16, -2, 2, 2, 4, 3)),
        ["InstanceNorm2d affine"] = () => (Fwd(Randomized(new InstanceNorm2d(2, affine: true), 17)), G(17, -2, 2, 2, 2, 3, 3)),
        ["InstanceNorm2d running stats eval"] = () => (Fwd(new InstanceNorm2d(2, trackRunningStats: true).Eval()), G(18, -2, 2, 2, 2, 3, 3)),
        ["Dropout"] = () => (x => new Dropout(0.3, generator: Gen(19)).Forward(x[0]), G(19, -1, 1, 4, 9)),
        ["Dropout classic"] = () => (x => new Dropout(0.3, inverted: false, generator: Gen(20)).Forward(x[0]), G(20, -1, 1, 4, 9)),
        ["Dropout classic eval"] = () => (Fwd(new Dropout(0.3, inverted: false).Eval()), G(21, -1, 1, 4, 9)),
        ["Dropout2d"] = () => (x => new Dropout2d(0.4, generator: Gen(22)).Forward(x[0]), G(22, -1, 1, 2, 5, 2, 2)),
        ["Sigmoid"] = () => (Fwd(new Sigmoid()), G(23, -3, 3, 2, 5)),
        ["Tanh"] = () => (Fwd(new Tanh()), G(24, -2, 2, 2, 5)),
        ["Relu"] = () => (Fwd(new Relu()), AwayFromZero(25, 3, 5)),
        ["LeakyRelu"] = () => (Fwd(new LeakyRelu(0.2)), AwayFromZero(26, 3, 5)),
        ["Elu"] = () => (Fwd(new Elu(1.5)), AwayFromZero(27, 3, 5)),
        ["Gelu"] = () => (Fwd(new Gelu()), G(28, -4, 4, 3, 5)),
        ["Gelu tanh"] = () => (Fwd(new Gelu("tanh")), G(29, -4, 4, 3, 5)),
        ["Softplus"] = () => (Fwd(new Softplus(beta: 2)), G(30, -4, 4, 3, 5)),
        ["Softmax"] = () => (Fwd(new Softmax(1)), G(31, -2, 2, 2, 3, 4)),
        ["LogSoftmax"] = () => (Fwd(new LogSoftmax(-1)), G(32, -2, 2, 3, 4)),
        ["Maxout"] = () => (Fwd(new Maxout(3)), Distinct(33, 4, 9)),
        ["Flatten"] = () => (Fwd(new Flatten()), G(34, -1, 1, 2, 3, 2)),
        ["Identity"] = () => (Fwd(new Identity()), G(35, -1, 1, 2, 3)),
        // ReLUs inside: this input leaves every pre-activation more than a finite-difference step from 0
        // (input seed 36 puts one within it, and that element's numeric derivative is then off by 0.2)
        ["BasicBlock downsample train"] = () => (Fwd(new BasicBlock(2, 3, 2, Gen(36))), G(37, -1, 1, 3, 2, 5, 5)),
        ["BasicBlock identity eval"] = () => (Fwd(new BasicBlock(2, 2, 1, Gen(37)).Eval()), G(37, -1, 1, 2, 2, 4, 4)),
        ["Sequential MLP"] = () => (Fwd(Mlp()), G(38, -1, 1, 5, 4)),
        ["Sequential CNN"] = () => (Fwd(Cnn()), G(39, -1, 1, 3, 1, 4, 4)),
    };

    static Func<Tensor[], Tensor> Fwd(Module m) => x => m.Forward(x[0]);

    static Sequential Mlp() => new(new Linear(4, 6, generator: Gen(40)), new Tanh(), new Linear(6, 3, generator: Gen(41)));

    static Sequential Cnn() => Randomized(new Sequential(
        new Conv2d(1, 2, 3, padding: 1, generator: Gen(42)), new BatchNorm2d(2), new Tanh(), new AvgPool2d(2), new Flatten(),
        new Linear(8, 3, generator: Gen(43))), 44);

    public static TheoryData<string> InputCases() => [.. InputRows.Keys];

    [Theory]
    [MemberData(nameof(InputCases))]
    public void Input_gradient_through_the_module_matches_finite_differences(string name)
    {
        var (f, x) = InputRows[name]();
        var r = GradCheck.Run(f, [x]);
        r.Check(name);
        Assert.Equal(x.Numel, r.Checked);
    }

    [Fact]
    public void Every_layer_class_has_an_input_row()
    {
        var covered = InputRows.Keys.Select(k => k.Split(' ')[0]).ToHashSet();
        var layers = typeof(Module).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Module)) && !t.IsAbstract && t.IsPublic && t != typeof(ModuleList)).Select(t => t.Name);
        Assert.All(layers, l => Assert.Contains(l, covered));
    }

    // ---- parameter gradients through the module ----------------------------------------------

    static readonly Dictionary<string, Func<(Module M, Tensor X)>> ParameterRows = new()
    {
        ["Linear"] = () => (new Linear(3, 2, generator: Gen(50)), U(50, -1, 1, 4, 3)),
        ["Conv2d"] = () => (new Conv2d(4, 2, 3, stride: 2, padding: 1, groups: 2, generator: Gen(51)), U(51, -1, 1, 2, 4, 5, 5)),
        ["BatchNorm1d train"] = () => (Randomized(new BatchNorm1d(3), 52), U(52, -2, 2, 5, 3)),
        ["BatchNorm2d train"] = () => (Randomized(new BatchNorm2d(3), 53), U(53, -2, 2, 2, 3, 2, 3)),
        ["BatchNorm2d eval"] = () => (WithRunningStats(Randomized(new BatchNorm2d(3), 54)).Eval(), U(54, -2, 2, 2, 3, 2, 2)),
        ["LayerNorm"] = () => (Randomized(new LayerNorm([3, 4]), 55), U(55, -2, 2, 2, 3, 4)),
        ["GroupNorm"] = () => (Randomized(new GroupNorm(2, 4), 56), U(56, -2, 2, 2, 4, 3)),
        ["InstanceNorm2d"] = () => (Randomized(new InstanceNorm2d(2, affine: true), 57), U(57, -2, 2, 2, 2, 3, 3)),
        ["BasicBlock"] = () => (Randomized(new BasicBlock(2, 3, 2, Gen(58)), 58), U(58, -1, 1, 2, 2, 5, 5)),
        ["Sequential MLP"] = () => (Mlp(), U(59, -1, 1, 5, 4)),
        ["Sequential CNN"] = () => (Cnn(), U(60, -1, 1, 3, 1, 4, 4)),
    };

    public static TheoryData<string> ParameterCases() => [.. ParameterRows.Keys];

    [Theory]
    [MemberData(nameof(ParameterCases))]
    public void Parameter_gradients_through_the_module_match_finite_differences(string name)
    {
        var (m, x) = ParameterRows[name]();
        var ps = m.NamedParameters().ToArray();
        Assert.NotEmpty(ps);
        var y = m.Forward(x);
        var w = U(61, -1, 1, [.. y.Shape]);
        var analytic = Autograd.Grad([(y * w).Sum()], [.. ps.Select(p => p.Parameter.Data)]);
        var wd = w.ToArray();
        using var _ = Autograd.NoGrad();
        for (int k = 0; k < ps.Length; k++)
        {
            var (pname, p) = ps[k];
            Assert.Equal(p.Shape.ToArray(), analytic[k].Shape.ToArray());
            var s = p.Data.Span;
            for (int j = 0; j < s.Length; j++)
            {
                // GradCheck's recipe: relative step, the real float32 distance as denominator, JAX's float32 tolerances
                float x0 = s[j];
                double h = GradCheck.DefaultStep * Math.Max(1.0, Math.Abs(x0));
                float xp = (float)(x0 + h), xm = (float)(x0 - h);
                s[j] = xp; double fp = Weighted(m.Forward(x), wd);
                s[j] = xm; double fm = Weighted(m.Forward(x), wd);
                s[j] = x0;
                double numeric = (fp - fm) / ((double)xp - xm), a = analytic[k].Data[j];
                Assert.True(Math.Abs(a - numeric) <= GradCheck.DefaultAtol + GradCheck.DefaultRtol * Math.Abs(numeric),
                    $"{name}: {pname}[{j}]: analytic {a:g6}, numeric {numeric:g6}");
            }
        }
    }

    static double Weighted(Tensor y, float[] w)
    {
        var d = y.Data;
        double s = 0;
        for (int i = 0; i < d.Length; i++) s += (double)d[i] * w[i];
        return s;
    }

    // ---- every loss object under every reduction ---------------------------------------------

    static readonly Tensor Classes = T([0f, 3f, 1f, 1f, 2f]);

    static readonly Dictionary<string, Func<Reduction, (Loss L, Tensor[] X)>> LossRows = new()
    {
        ["L1Loss"] = r => (new L1Loss(r), [G(70, -2, 2, 3, 4), G(71, -2, 2, 3, 4)]),
        ["MseLoss"] = r => (new MseLoss(r), [G(70, -2, 2, 3, 4), G(71, -2, 2, 3, 4)]),
        ["SmoothL1Loss"] = r => (new SmoothL1Loss(r, beta: 0.5), [G(70, -2, 2, 3, 4), G(71, -2, 2, 3, 4)]),
        ["HuberLoss"] = r => (new HuberLoss(r, delta: 0.7), [G(70, -2, 2, 3, 4), G(71, -2, 2, 3, 4)]),
        ["BceLoss"] = r => (new BceLoss(r), [G(72, 0.05f, 0.95f, 3, 4), G(73, 0, 1, 3, 4)]),
        ["BceWithLogitsLoss"] = r => (new BceWithLogitsLoss(r, posWeight: T([2f, 0.5f, 1f, 3f])), [G(74, -4, 4, 3, 4), G(73, 0, 1, 3, 4)]),
        ["CrossEntropyLoss"] = r => (new CrossEntropyLoss(r, labelSmoothing: 0.1, weight: T([0.5f, 2f, 1f, 3f])), [G(75, -3, 3, 5, 4), Classes]),
        ["NllLoss"] = r => (new NllLoss(r, weight: T([0.5f, 2f, 1f, 3f])), [G(76, -3, 0, 5, 4), Classes]),
        ["MultiMarginLoss"] = r => (new MultiMarginLoss(r, p: 2, margin: 0.5), [G(77, -2, 2, 5, 4), Classes]),
        ["MulticlassHingeLoss"] = r => (new MulticlassHingeLoss(r), [G(78, -2, 2, 5, 4), Classes]),
    };

    public static TheoryData<string, Reduction> LossCases()
    {
        var d = new TheoryData<string, Reduction>();
        foreach (var name in LossRows.Keys)
            foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None }) d.Add(name, r);
        return d;
    }

    [Theory]
    [MemberData(nameof(LossCases))]
    public void Loss_object_gradients_match_finite_differences(string name, Reduction reduction)
    {
        var (loss, x) = LossRows[name](reduction);
        var r = GradCheck.Run(t => loss.Forward(t[0], t[1]), x);
        r.Check($"{name}, {reduction}");
        Assert.True(r.Checked >= x[0].Numel);
    }

    [Fact]
    public void Every_loss_class_has_a_row()
    {
        var losses = typeof(Loss).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Loss)) && !t.IsAbstract).Select(t => t.Name);
        Assert.All(losses, l => Assert.Contains(l, LossRows.Keys));
    }
}
