using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Tests.OptimTests.OptimizerStepTests;

namespace Nabla.Tests.OptimTests;

/// <summary>
/// Learning rates per epoch against tables printed by a line-by-line Python transcription of
/// torch/optim/lr_scheduler.py (PyTorch 2.x chainable get_lr, _get_closed_form_lr and SequentialLR),
/// run on a stand-in optimizer: <c>[lr after construction, after step 1, after step 2, ...]</c>.
/// </summary>
public class SchedulerTests
{
    static Sgd Opt(double lr = 0.1, double momentum = 0) => new([P(1f)], lr: lr, momentum: momentum);

    static void Table(double[] expected, Optimizer opt, LrScheduler s, double tol = 1e-15)
    {
        var got = new List<double> { opt.ParamGroups[0].Lr };
        for (int i = 1; i < expected.Length; i++)
        {
            s.Step();
            got.Add(opt.ParamGroups[0].Lr);
            Assert.Equal(got[^1], s.GetLastLr()[0]);
            Assert.Equal(i, s.LastEpoch);
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - got[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"epoch {i}: expected {expected[i]:R}; got {got[i]:R}");
    }

    [Fact]
    public void StepLr_matches_PyTorch()
    {
        var opt = Opt();
        Table([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125], opt, new StepLr(opt, stepSize: 3, gamma: 0.5));
    }

    [Fact]
    public void MultiStepLr_matches_PyTorch_including_a_repeated_milestone()
    {
        var opt = Opt();
        Table([0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.00010000000000000005,
               0.00010000000000000005, 1.0000000000000006e-05, 1.0000000000000006e-05, 1.0000000000000006e-05],
            opt, new MultiStepLr(opt, [2, 5, 5, 7]));
    }

    [Fact]
    public void ExponentialLr_matches_PyTorch()
    {
        var opt = Opt();
        Table([0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002, 0.05904900000000002,
               0.05314410000000002], opt, new ExponentialLr(opt, gamma: 0.9));
    }

    [Fact]
    public void CosineAnnealingLr_matches_PyTorch_through_the_minimum_and_back()
    {
        var opt = Opt();
        Table([0.1, 0.08681980515339464, 0.05500000000000001, 0.023180194846605363, 0.01, 0.023180194846605363,
               0.05500000000000002, 0.08681980515339469, 0.10000000000000006, 0.0868198051533947, 0.05500000000000005,
               0.023180194846605412, 0.01], opt, new CosineAnnealingLr(opt, tMax: 4, etaMin: 0.01), tol: 1e-14);
    }

    [Fact]
    public void LinearLr_matches_PyTorch()
    {
        var opt = Opt();
        Table([0.03333333333333333, 0.04666666666666667, 0.060000000000000005, 0.07333333333333335, 0.08666666666666668,
               0.1, 0.1, 0.1], opt, new LinearLr(opt));
        var opt2 = Opt();
        Table([0.025, 0.03125, 0.0375, 0.043750000000000004, 0.05, 0.05, 0.05], opt2,
            new LinearLr(opt2, startFactor: 0.25, endFactor: 0.5, totalIters: 4));
    }

    [Fact]
    public void OneCycleLr_cos_matches_PyTorch_and_cycles_momentum()
    {
        var opt = Opt(momentum: 0.9);
        var s = new OneCycleLr(opt, maxLr: 1.0, totalSteps: 10);
        double[] lr = [0.040000000000000036, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893,
            0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-06, 0.04951936798652623];
        double[] mom = [0.95, 0.8999999999999999, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842,
            0.9111260466978157, 0.9311744900929366, 0.945048443395121, 0.95, 0.945048443395121];
        for (int i = 0; i < lr.Length; i++)
        {
            if (i > 0) s.Step();
            Assert.Equal(lr[i], opt.ParamGroups[0].Lr, 14);
            Assert.Equal(mom[i], opt.ParamGroups[0]["momentum"], 14);
        }
        Assert.Equal(0.04, opt.ParamGroups[0]["initial_lr"], 15);
        Assert.Equal(1.0, opt.ParamGroups[0]["max_lr"]);
        Assert.Equal(4e-6, opt.ParamGroups[0]["min_lr"], 15);
        var e = Assert.Throws<InvalidOperationException>(s.Step);
        Assert.Equal("Tried to step 11 times. The specified number of total steps is 10", e.Message);
    }

    [Fact]
    public void OneCycleLr_linear_three_phase_matches_PyTorch()
    {
        var opt = Opt();
        Table([0.04, 0.52, 1.0, 0.52, 0.040000000000000036, 0.032000799999999996, 0.024001599999999998, 0.0160024,
               0.008003199999999995, 3.9999999999970615e-06, -0.007995200000000001], opt,
            new OneCycleLr(opt, maxLr: 1.0, totalSteps: 10, annealStrategy: AnnealStrategy.Linear, threePhase: true,
                cycleMomentum: false), tol: 1e-14);
    }

    [Fact]
    public void OneCycleLr_cycles_beta1_for_Adam()
    {
        var opt = new Adam([P(1f)]);
        var s = new OneCycleLr(opt, maxLr: 0.01, totalSteps: 10, baseMomentum: 0.8, maxMomentum: 0.9);
        Assert.Equal(0.9, opt.ParamGroups[0]["beta1"], 15);
        s.Step();
        s.Step();
        Assert.Equal(0.8, opt.ParamGroups[0]["beta1"], 15);
    }

    [Fact]
    public void OneCycleLr_argument_errors_use_PyTorch_messages()
    {
        var opt = Opt();
        Assert.StartsWith("Expected positive integer total_steps, but got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLr(opt, 1.0, 0)).Message);
        Assert.StartsWith("Expected float between 0 and 1 pct_start, but got 1.5",
            Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLr(opt, 1.0, 10, pctStart: 1.5)).Message);
        Assert.StartsWith("max_lr must have the same length as optimizer.param_groups. max_lr has 2 values, param_groups has 1.",
            Assert.Throws<ArgumentException>(() => new OneCycleLr(opt, [1.0, 2.0], 10)).Message);
        var e = Assert.Throws<InvalidOperationException>(() => new OneCycleLr(Opt(), 1.0, totalSteps: 10, pctStart: 0.1));
        Assert.StartsWith("OneCycleLr: phase 0 of the schedule has no steps (it ends at step 0.0, where it starts)", e.Message);
    }

    [Fact]
    public void SequentialLr_warmup_then_cosine_matches_PyTorch()
    {
        var opt = Opt();
        var warmup = new LinearLr(opt, startFactor: 0.1, endFactor: 1.0, totalIters: 3);
        var cosine = new CosineAnnealingLr(opt, tMax: 5);
        Table([0.010000000000000002, 0.04, 0.07, 0.1, 0.09045084971874738, 0.06545084971874737, 0.03454915028125263,
               0.009549150281252633, 0.0, 0.009549150281252628], opt, new SequentialLr(opt, [warmup, cosine], [3]), tol: 1e-14);
    }

    [Fact]
    public void SequentialLr_restarts_the_next_scheduler_from_the_base_rate()
    {
        var opt = Opt();
        var a = new ExponentialLr(opt, gamma: 0.5);
        var b = new StepLr(opt, stepSize: 2);
        Table([0.1, 0.05, 0.025, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002], opt,
            new SequentialLr(opt, [a, b], [3]));
    }

    [Fact]
    public void SequentialLr_argument_errors_use_PyTorch_messages()
    {
        var opt = Opt();
        var a = new StepLr(opt, 2);
        Assert.StartsWith("SequentialLr expects at least one scheduler, but got no scheduler.",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [], [])).Message);
        Assert.StartsWith("Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, " +
                          "but got number of schedulers 1 and the number of milestones to be equal to 1",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [a], [3])).Message);
        var other = Opt();
        Assert.StartsWith("SequentialLr expects all schedulers to belong to the same optimizer, but got scheduler StepLr at index 1",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [a, new StepLr(other, 2)], [3])).Message);
        Assert.StartsWith("SequentialLr: scheduler 1 is itself a SequentialLr; list its schedulers instead",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [a, new SequentialLr(opt, [new StepLr(opt, 2)], [])], [3])).Message);
        Assert.StartsWith("SequentialLr: scheduler 0 is null",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [null!], [])).Message);
        Assert.StartsWith("SequentialLr: expected milestones in increasing order; got [4, 2]",
            Assert.Throws<ArgumentException>(() => new SequentialLr(opt, [a, new StepLr(opt, 2), new StepLr(opt, 3)], [4, 2])).Message);
    }

    [Fact]
    public void Schedulers_record_initial_lr_once_and_chain()
    {
        var opt = Opt(lr: 1.0);
        var a = new ExponentialLr(opt, gamma: 0.5);
        var b = new StepLr(opt, stepSize: 1, gamma: 0.1);
        Assert.Equal(1.0, opt.ParamGroups[0]["initial_lr"]);
        Assert.Equal([1.0], b.BaseLrs);
        a.Step();
        b.Step();
        Assert.Equal(0.05, opt.ParamGroups[0].Lr, 15); // both factors apply: chainable
    }

    [Fact]
    public void Schedule_argument_errors()
    {
        var opt = Opt();
        Assert.StartsWith("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLr(opt, startFactor: 0)).Message);
        Assert.StartsWith("Ending multiplicative factor expected to be between 0 and 1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLr(opt, endFactor: 1.5)).Message);
        Assert.StartsWith("LinearLr: expected totalIters >= 1; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLr(opt, totalIters: 0)).Message);
        Assert.StartsWith("StepLr: expected stepSize >= 1; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new StepLr(opt, 0)).Message);
        Assert.StartsWith("CosineAnnealingLr: expected tMax >= 1; got 0",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLr(opt, 0)).Message);
        Assert.StartsWith("MultiStepLr: expected milestones in increasing order; got [3, 1]",
            Assert.Throws<ArgumentException>(() => new MultiStepLr(opt, [3, 1])).Message);
    }

    [Fact]
    public void A_group_added_after_the_scheduler_is_reported_at_step()
    {
        var opt = Opt();
        var s = new StepLr(opt, 2);
        opt.AddParamGroup(new ParamGroup([P(2f)]));
        var e = Assert.Throws<InvalidOperationException>(s.Step);
        Assert.StartsWith("StepLr.Step: the optimizer has 2 parameter groups; the scheduler was built for 1", e.Message);
    }

    [Fact]
    public void Schedules_apply_per_group()
    {
        var opt = new Sgd([new ParamGroup([P(1f)], lr: 1.0), new ParamGroup([P(1f)], lr: 0.5)]);
        var s = new ExponentialLr(opt, gamma: 0.5);
        s.Step();
        Assert.Equal([0.5, 0.25], s.GetLastLr());
        Assert.Equal([1.0, 0.5], s.BaseLrs);
    }

    // ---- ReduceLrOnPlateau ------------------------------------------------------------------

    static double[] Plateau(ReduceLrOnPlateau s, Optimizer opt, double[] metrics) =>
        metrics.Select(m => { s.Step(m); return opt.ParamGroups[0].Lr; }).ToArray();

    [Fact]
    public void ReduceLrOnPlateau_cuts_after_patience_bad_epochs()
    {
        var opt = Opt(lr: 1.0);
        var s = new ReduceLrOnPlateau(opt, patience: 2, factor: 0.5);
        Assert.Equal([1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25],
            Plateau(s, opt, [10, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8]));
    }

    [Fact]
    public void ReduceLrOnPlateau_cooldown_and_floor()
    {
        var opt = Opt(lr: 1.0);
        var s = new ReduceLrOnPlateau(opt, patience: 1, factor: 0.5, cooldown: 2, minLr: 0.1);
        Assert.Equal([1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.125, 0.1, 0.1, 0.1, 0.1, 0.1],
            Plateau(s, opt, Enumerable.Repeat(5.0, 19).ToArray()));
    }

    [Fact]
    public void ReduceLrOnPlateau_max_mode_absolute_threshold()
    {
        var opt = Opt(lr: 1.0);
        var s = new ReduceLrOnPlateau(opt, mode: PlateauMode.Max, patience: 0, factor: 0.1, threshold: 0.5,
            thresholdMode: ThresholdMode.Abs);
        Assert.Equal([1.0, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002],
            Plateau(s, opt, [1, 1.4, 1.6, 2.0, 2.2, 3.0]));
        Assert.Equal(3.0, s.Best);
    }

    [Fact]
    public void ReduceLrOnPlateau_argument_errors()
    {
        var opt = Opt();
        Assert.StartsWith("Factor should be < 1.0.", Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(opt, factor: 1.0)).Message);
        Assert.StartsWith("expected 1 min_lrs, got 2", Assert.Throws<ArgumentException>(() => new ReduceLrOnPlateau(opt, [0.1, 0.2])).Message);
        Assert.StartsWith("ReduceLrOnPlateau: expected patience >= 0; got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(opt, patience: -1)).Message);
        Assert.StartsWith("ReduceLrOnPlateau: expected cooldown >= 0; got -1",
            Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLrOnPlateau(opt, cooldown: -1)).Message);
    }
}
