using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Tests.OptimTests.OptimizerStateDictTests;
using static Nabla.Tests.OptimTests.OptimizerStepTests;

namespace Nabla.Tests.OptimTests;

public class SchedulerStateDictTests
{
    static LrScheduler Build(string kind, Optimizer opt) => kind switch
    {
        "cosine" => new CosineAnnealingLr(opt, tMax: 7, etaMin: 1e-5),
        "exponential" => new ExponentialLr(opt, gamma: 0.93),
        "linear" => new LinearLr(opt, startFactor: 0.1, totalIters: 6),
        "multistep" => new MultiStepLr(opt, [2, 4, 9], gamma: 0.3),
        "onecycle" => new OneCycleLr(opt, maxLr: 3e-3, totalSteps: 20),
        "sequential" => new SequentialLr(opt,
            [new LinearLr(opt, startFactor: 0.01, totalIters: 4), new CosineAnnealingLr(opt, tMax: 11)], [4]),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [InlineData("cosine")]
    [InlineData("exponential")]
    [InlineData("linear")]
    [InlineData("multistep")]
    [InlineData("onecycle")]
    [InlineData("sequential")]
    public void Resuming_a_scheduled_AdamW_run_is_bitwise_identical(string kind)
    {
        const int k = 5, n = 12;
        var full = new Parameter(Tensor.FromArray(Init19()));
        var opt = new AdamW([full], lr: 3e-4);
        var sched = Build(kind, opt);
        Parameter? resumed = null;
        Dictionary<string, Tensor>? optState = null, schedState = null;
        for (int t = 0; t < n; t++)
        {
            if (t == k)
            {
                resumed = new Parameter(full.Data.Clone());
                optState = Saved(opt.StateDict());
                schedState = Saved(sched.StateDict());
            }
            full.Grad = Tensor.FromArray(Grad19(t));
            opt.Step();
            sched.Step();
        }

        // The PyTorch order: build both, then load the optimizer, then the scheduler.
        var opt2 = new AdamW([resumed!], lr: 3e-4);
        var sched2 = Build(kind, opt2);
        opt2.LoadStateDict(optState!);
        sched2.LoadStateDict(schedState!);
        Assert.Equal(k, sched2.LastEpoch);
        for (int t = k; t < n; t++)
        {
            resumed!.Grad = Tensor.FromArray(Grad19(t));
            opt2.Step();
            sched2.Step();
        }
        Assert.Equal(full.Data.ToArray(), resumed!.Data.ToArray());
        Assert.Equal(opt.ParamGroups[0].Lr, opt2.ParamGroups[0].Lr);
        Assert.Equal(opt.ParamGroups[0]["beta1"], opt2.ParamGroups[0]["beta1"]);
        Assert.Equal(sched.GetLastLr(), sched2.GetLastLr());
    }

    [Fact]
    public void A_rate_changed_by_hand_is_kept_as_saved_rather_than_replayed()
    {
        var opt = new Sgd([P(1f)], lr: 0.1);
        var s = new ExponentialLr(opt, gamma: 0.5);
        s.Step();
        opt.ParamGroups[0].Lr = 0.3; // no longer what the schedule alone would give
        s.Step();
        var optState = Saved(opt.StateDict());
        var schedState = Saved(s.StateDict());
        var opt2 = new Sgd([P(1f)], lr: 0.1);
        var s2 = new ExponentialLr(opt2, gamma: 0.5);
        opt2.LoadStateDict(optState);
        s2.LoadStateDict(schedState);
        Assert.Equal((double)0.15f, opt2.ParamGroups[0].Lr);
        Assert.Equal(2, s2.LastEpoch);
        s2.Step();
        Assert.Equal((double)0.15f * 0.5, opt2.ParamGroups[0].Lr);
    }

    [Fact]
    public void Scheduler_state_dict_keys()
    {
        var opt = new Sgd([P(1f)], lr: 0.1);
        var s = new SequentialLr(opt, [new LinearLr(opt), new StepLr(opt, 2)], [5]);
        Assert.Equal(
        [
            "last_epoch", "_step_count", "base_lrs.0", "_last_lr.0",
            "_schedulers.0.last_epoch", "_schedulers.0._step_count", "_schedulers.0.base_lrs.0", "_schedulers.0._last_lr.0",
            "_schedulers.1.last_epoch", "_schedulers.1._step_count", "_schedulers.1.base_lrs.0", "_schedulers.1._last_lr.0",
        ], s.StateDict().Keys);
        Assert.All(s.StateDict().Values, t => Assert.Equal(0, t.Rank));
    }

    [Fact]
    public void A_bad_scheduler_state_dict_lists_every_problem()
    {
        var opt = new Sgd([P(1f)], lr: 0.1);
        var s = new StepLr(opt, 2);
        var d = Saved(s.StateDict());
        d.Remove("base_lrs.0");
        d["last_epoch"] = Tensor.Scalar(2.5f);
        d["_last_lr.0"] = Tensor.Zeros(2);
        d["gamma"] = Tensor.Scalar(0.1f);
        var e = Assert.Throws<ArgumentException>(() => s.LoadStateDict(d));
        var lines = e.Message.Split('\n');
        Assert.Equal("StepLr.LoadStateDict: error(s) in loading the state dict:", lines[0]);
        Assert.Contains("  last_epoch: expected an integer >= -1; got 2.5", lines);
        Assert.Contains("  missing key \"base_lrs.0\"", lines);
        Assert.Contains("  _last_lr.0: expected a 0-d tensor; got shape [2]", lines);
        Assert.Contains("  unexpected key \"gamma\"", lines);
        Assert.Equal(0, s.LastEpoch);
    }

    [Fact]
    public void ReduceLrOnPlateau_resumes_exactly()
    {
        double[] metrics = [5, 4, 4, 4, 4, 3.9, 3.9, 3.9, 3.9, 3.9, 3.8, 3.8, 3.8];
        var opt = new Sgd([P(1f)], lr: 0.3);
        var s = new ReduceLrOnPlateau(opt, patience: 1, factor: 0.3, cooldown: 1);
        Dictionary<string, Tensor>? optState = null, schedState = null;
        for (int i = 0; i < metrics.Length; i++)
        {
            if (i == 7) { optState = Saved(opt.StateDict()); schedState = Saved(s.StateDict()); }
            s.Step(metrics[i]);
        }
        var opt2 = new Sgd([P(1f)], lr: 0.3);
        var s2 = new ReduceLrOnPlateau(opt2, patience: 1, factor: 0.3, cooldown: 1);
        opt2.LoadStateDict(optState!);
        s2.LoadStateDict(schedState!);
        for (int i = 7; i < metrics.Length; i++) s2.Step(metrics[i]);
        Assert.True(opt.ParamGroups[0].Lr < 0.3 * 0.3, "the run should have cut the rate at least twice");
        Assert.Equal(opt.ParamGroups[0].Lr, opt2.ParamGroups[0].Lr);
        Assert.Equal(s.NumBadEpochs, s2.NumBadEpochs);
        Assert.Equal(s.CooldownCounter, s2.CooldownCounter);
        Assert.Equal(s.Best, s2.Best);
        Assert.Equal(s.LastEpoch, s2.LastEpoch);
    }

    [Fact]
    public void ReduceLrOnPlateau_bad_state_dict()
    {
        var opt = new Sgd([P(1f)], lr: 0.3);
        var s = new ReduceLrOnPlateau(opt);
        var d = Saved(s.StateDict());
        d.Remove("best");
        d["num_bad_epochs"] = Tensor.Scalar(-1);
        var e = Assert.Throws<ArgumentException>(() => s.LoadStateDict(d));
        Assert.Contains("  missing key \"best\"", e.Message.Split('\n'));
        Assert.Contains("  num_bad_epochs: expected an integer >= 0; got -1", e.Message.Split('\n'));
    }
}
