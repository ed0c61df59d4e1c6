using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.OptimTests;

/// <summary>Optimizer steps against the published algorithms evaluated in double precision.</summary>
public class OptimizerStepTests
{
    internal static Parameter P(params float[] values) => new(Tensor.FromArray(values));

    // 19 elements: a full vector block (8 or 16 lanes) plus a scalar tail, so both code paths run.
    internal static float[] Init19() => Enumerable.Range(0, 19).Select(i => 0.5f - 0.07f * i).ToArray();

    internal static float[] Grad19(int step) => Enumerable.Range(0, 19).Select(i => (float)Math.Sin(1.3 * i + step) * (1 + i % 3)).ToArray();

    static void Near(double[] expected, Parameter p, double tol = 2e-6)
    {
        var a = p.Data.ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}; got {a[i]}");
    }

    static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    // ---- Sgd -------------------------------------------------------------------------------

    [Fact]
    public void Sgd_plain_step_is_p_minus_lr_g()
    {
        var p = P(1f, -2f, 3f);
        var opt = new Sgd([p], lr: 0.1);
        p.Grad = TestUtil.T([0.5f, 1f, -1f]);
        opt.Step();
        Near([0.95, -2.1, 3.1], p);
    }

    [Theory]
    [InlineData(0.9, 0.0, 0.0, false)]
    [InlineData(0.9, 0.3, 0.0, false)]
    [InlineData(0.9, 0.0, 0.01, true)]
    [InlineData(0.5, 0.0, 0.1, false)]
    [InlineData(0.0, 0.0, 0.05, false)]
    public void Sgd_matches_the_formula_over_three_steps(double mu, double damp, double wd, bool nesterov)
    {
        var x = Init19();
        var p = P(x);
        var opt = new Sgd([p], lr: 0.05, momentum: mu, dampening: damp, weightDecay: wd, nesterov: nesterov);
        var theta = D(x);
        double[]? buf = null;
        for (int t = 0; t < 3; t++)
        {
            var g = Grad19(t);
            p.Grad = Tensor.FromArray(g);
            opt.Step();
            var d = new double[theta.Length];
            for (int i = 0; i < d.Length; i++) d[i] = g[i] + wd * theta[i];
            if (mu != 0)
            {
                // First step: the buffer is the gradient itself, undamped (PyTorch).
                if (buf is null) buf = (double[])d.Clone();
                else for (int i = 0; i < d.Length; i++) buf[i] = mu * buf[i] + (1 - damp) * d[i];
                for (int i = 0; i < d.Length; i++) d[i] = nesterov ? d[i] + mu * buf[i] : buf[i];
            }
            for (int i = 0; i < d.Length; i++) theta[i] -= 0.05 * d[i];
            Near(theta, p);
        }
    }

    [Fact]
    public void Sgd_first_momentum_step_equals_plain_step_then_momentum_accumulates()
    {
        var a = P(1f);
        var b = P(1f);
        var plain = new Sgd([a], lr: 0.1);
        var heavy = new Sgd([b], lr: 0.1, momentum: 0.9, dampening: 0.5);
        a.Grad = TestUtil.T([1f]);
        b.Grad = TestUtil.T([1f]);
        plain.Step();
        heavy.Step();
        Assert.Equal(a.Data.Item(), b.Data.Item());
        heavy.Step(); // buf = 0.9 * 1 + 0.5 * 1 = 1.4
        Assert.Equal(0.9 - 0.14, b.Data.Item(), 6);
    }

    // ---- Adam / AdamW ----------------------------------------------------------------------

    static double[] AdamReference(float[] x0, int steps, double lr, double b1, double b2, double eps, double wd,
        bool decoupled, bool amsgrad = false)
    {
        var theta = D(x0);
        var m = new double[theta.Length];
        var v = new double[theta.Length];
        var vmax = new double[theta.Length];
        for (int t = 1; t <= steps; t++)
        {
            var g = D(Grad19(t - 1).Take(theta.Length).ToArray());
            for (int i = 0; i < theta.Length; i++)
            {
                if (decoupled) theta[i] *= 1 - lr * wd;
                else g[i] += wd * theta[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                vmax[i] = Math.Max(vmax[i], v[i]);
                double denom = Math.Sqrt(amsgrad ? vmax[i] : v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                theta[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
        }
        return theta;
    }

    static Parameter RunAdam(Func<Parameter, Optimizer> make, int steps, int n = 19)
    {
        var p = P(Init19().Take(n).ToArray());
        var opt = make(p);
        for (int t = 0; t < steps; t++)
        {
            p.Grad = Tensor.FromArray(Grad19(t).Take(n).ToArray());
            opt.Step();
        }
        return p;
    }

    [Fact]
    public void Adam_three_steps_on_three_elements_match_the_formula()
    {
        for (int steps = 1; steps <= 3; steps++)
        {
            var p = RunAdam(q => new Adam([q], lr: 0.01), steps, n: 3);
            Near(AdamReference(Init19().Take(3).ToArray(), steps, 0.01, 0.9, 0.999, 1e-8, 0, decoupled: false), p);
        }
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.0, true)]
    [InlineData(0.05, true)]
    public void Adam_matches_the_formula(double wd, bool amsgrad)
    {
        var p = RunAdam(q => new Adam([q], lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: wd, amsgrad: amsgrad), 5);
        Near(AdamReference(Init19(), 5, 0.02, 0.8, 0.99, 1e-6, wd, decoupled: false, amsgrad), p);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdamW_matches_the_decoupled_formula(bool amsgrad)
    {
        var p = RunAdam(q => new AdamW([q], lr: 0.02, weightDecay: 0.1, amsgrad: amsgrad), 5);
        Near(AdamReference(Init19(), 5, 0.02, 0.9, 0.999, 1e-8, 0.1, decoupled: true, amsgrad), p);
    }

    [Fact]
    public void Adam_first_step_moves_every_coordinate_by_lr_whatever_the_gradient_scale()
    {
        // m̂ = g and √v̂ = |g| at t = 1, so the step is lr · sign(g): Adam is invariant to gradient scale.
        var p = P(0f, 0f, 0f);
        var opt = new Adam([p], lr: 0.01, eps: 0);
        p.Grad = TestUtil.T([1e-4f, -3f, 1e4f]);
        opt.Step();
        TestUtil.Close([-0.01f, 0.01f, -0.01f], p.Data, 1e-6f);
    }

    [Fact]
    public void Adam_and_AdamW_are_bitwise_equal_without_weight_decay()
    {
        var a = RunAdam(q => new Adam([q], lr: 0.03, weightDecay: 0), 6);
        var w = RunAdam(q => new AdamW([q], lr: 0.03, weightDecay: 0), 6);
        Assert.Equal(a.Data.ToArray(), w.Data.ToArray());
    }

    [Fact]
    public void Adam_and_AdamW_differ_with_weight_decay_as_their_formulas_say()
    {
        var a = RunAdam(q => new Adam([q], lr: 0.03, weightDecay: 0.2), 4);
        var w = RunAdam(q => new AdamW([q], lr: 0.03, weightDecay: 0.2), 4);
        Near(AdamReference(Init19(), 4, 0.03, 0.9, 0.999, 1e-8, 0.2, decoupled: false), a);
        Near(AdamReference(Init19(), 4, 0.03, 0.9, 0.999, 1e-8, 0.2, decoupled: true), w);
        double maxDiff = a.Data.ToArray().Zip(w.Data.ToArray(), (x, y) => Math.Abs(x - y)).Max();
        Assert.True(maxDiff > 1e-4, $"Adam and AdamW should differ with weight decay; max difference {maxDiff}");
    }

    [Fact]
    public void AdamW_with_zero_gradient_only_shrinks_the_weights()
    {
        // With g = 0 the Adam update is 0, leaving the decoupled decay θ(1 − γλ); Adam's L2 form would
        // instead take a full adaptive step of size γ along sign(θ).
        var p = P(2f, -4f);
        var opt = new AdamW([p], lr: 0.1, weightDecay: 0.5);
        p.Grad = TestUtil.T([0f, 0f]);
        opt.Step();
        Assert.Equal([2f * (float)(1 - 0.05), -4f * (float)(1 - 0.05)], p.Data.ToArray());

        var q = P(2f, -4f);
        var adam = new Adam([q], lr: 0.1, weightDecay: 0.5);
        q.Grad = TestUtil.T([0f, 0f]);
        adam.Step();
        TestUtil.Close([1.9f, -3.9f], q.Data, 1e-6f);
    }

    // ---- RmsProp ---------------------------------------------------------------------------

    [Theory]
    [InlineData(false, 0.0, 0.0)]
    [InlineData(true, 0.0, 0.0)]
    [InlineData(false, 0.9, 0.0)]
    [InlineData(true, 0.9, 0.01)]
    [InlineData(false, 0.0, 0.1)]
    public void RmsProp_matches_the_formula(bool centered, double mu, double wd)
    {
        const double lr = 0.01, alpha = 0.9, eps = 1e-8;
        var x = Init19();
        var p = P(x);
        var opt = new RmsProp([p], lr: lr, alpha: alpha, eps: eps, weightDecay: wd, momentum: mu, centered: centered);
        var theta = D(x);
        var sq = new double[theta.Length];
        var ga = new double[theta.Length];
        var buf = new double[theta.Length];
        for (int t = 0; t < 4; t++)
        {
            var g = Grad19(t);
            p.Grad = Tensor.FromArray(g);
            opt.Step();
            for (int i = 0; i < theta.Length; i++)
            {
                double gi = g[i] + wd * theta[i];
                sq[i] = alpha * sq[i] + (1 - alpha) * gi * gi;
                ga[i] = alpha * ga[i] + (1 - alpha) * gi;
                double avg = Math.Sqrt(centered ? sq[i] - ga[i] * ga[i] : sq[i]) + eps;
                if (mu > 0)
                {
                    buf[i] = mu * buf[i] + gi / avg;
                    theta[i] -= lr * buf[i];
                }
                else theta[i] -= lr * gi / avg;
            }
            Near(theta, p, 1e-5);
        }
    }

    [Fact]
    public void RmsProp_centered_divides_by_the_standard_deviation()
    {
        // One step, α = 0.5, g = 2: v = 2, ḡ = 1, centered denominator √(2 − 1) = 1, plain √2.
        var a = P(0f);
        var b = P(0f);
        var centered = new RmsProp([a], lr: 1, alpha: 0.5, eps: 0, centered: true);
        var plain = new RmsProp([b], lr: 1, alpha: 0.5, eps: 0);
        a.Grad = TestUtil.T([2f]);
        b.Grad = TestUtil.T([2f]);
        centered.Step();
        plain.Step();
        Assert.Equal(-2f, a.Data.Item(), 6);
        Assert.Equal(-2 / Math.Sqrt(2), b.Data.Item(), 6);
    }

    // ---- behaviour shared by all -----------------------------------------------------------

    public static TheoryData<string> Kinds => ["sgd", "sgd_momentum", "adam", "adamw", "rmsprop"];

    internal static Optimizer Make(string kind, IEnumerable<Parameter> ps) => kind switch
    {
        "sgd" => new Sgd(ps, lr: 0.1),
        "sgd_momentum" => new Sgd(ps, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3),
        "adam" => new Adam(ps, lr: 0.01, weightDecay: 1e-3, amsgrad: true),
        "adamw" => new AdamW(ps, lr: 3e-4),
        "rmsprop" => new RmsProp(ps, lr: 0.01, momentum: 0.5, centered: true, weightDecay: 1e-3),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Parameters_without_a_gradient_are_skipped_and_get_no_state(string kind)
    {
        var a = P(1f, 2f);
        var b = P(3f, 4f);
        var opt = Make(kind, [a, b]);
        b.Grad = TestUtil.T([1f, -1f]);
        opt.Step();
        Assert.Equal([1f, 2f], a.Data.ToArray());
        Assert.NotEqual([3f, 4f], b.Data.ToArray());
        Assert.DoesNotContain(opt.StateDict().Keys, k => k.StartsWith("state.0.", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ZeroGrad_clears_in_place_by_default_and_drops_with_setToNone(string kind)
    {
        var a = P(1f, 2f);
        var opt = Make(kind, [a]);
        var grad = TestUtil.T([1f, -1f]);
        a.Grad = grad;
        opt.ZeroGrad();
        Assert.Same(grad, a.Grad);
        Assert.Equal([0f, 0f], grad.ToArray());
        opt.ZeroGrad(setToNone: true);
        Assert.Null(a.Grad);
    }

    [Fact]
    public void ZeroGrad_then_backward_reuses_the_gradient_buffer()
    {
        var lin = new Linear(3, 2, generator: new Generator(1));
        var opt = new Sgd(lin.Parameters(), lr: 0.1);
        var x = Tensor.Ones(4, 3);
        lin.Forward(x).Sum().Backward();
        var g = lin.Parameters().First().Grad;
        opt.ZeroGrad();
        lin.Forward(x).Sum().Backward();
        Assert.Same(g, lin.Parameters().First().Grad);
    }

    [Fact]
    public void A_gradient_of_the_wrong_shape_is_reported_with_both_shapes()
    {
        var a = P(1f, 2f, 3f);
        var opt = new Adam([a]);
        a.Grad = TestUtil.T([1f, 2f]);
        var e = Assert.Throws<ShapeException>(opt.Step);
        Assert.Equal("Adam.Step: expected the gradient of parameter 0 to have its shape [3]; got [2]\n" +
                     "hint: a gradient was assigned by hand with the wrong shape", e.Message);
    }

    [Fact]
    public void Training_a_linear_regression_converges()
    {
        // y = 2x − 1 from 8 points; plain full-batch Adam reaches it.
        var lin = new Linear(1, 1, generator: new Generator(3));
        var opt = new Adam(lin.Parameters(), lr: 0.1);
        var x = Tensor.FromArray([-1f, -0.5f, 0f, 0.5f, 1f, 1.5f, 2f, 2.5f], 8, 1);
        var y = Tensor.FromArray(x.ToArray().Select(v => 2 * v - 1).ToArray(), 8, 1);
        for (int i = 0; i < 300; i++)
        {
            opt.ZeroGrad();
            var d = lin.Forward(x) - y;
            (d * d).Mean().Backward();
            opt.Step();
        }
        var ps = lin.Parameters().ToArray();
        Assert.Equal(2f, ps[0].Data.Item(), 2);
        Assert.Equal(-1f, ps[1].Data.Item(), 2);
    }
}
