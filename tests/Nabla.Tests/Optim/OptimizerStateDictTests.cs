using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Tests.OptimTests.OptimizerStepTests;

namespace Nabla.Tests.OptimTests;

public class OptimizerStateDictTests
{
    /// <summary>A copy, as if written to disk and read back.</summary>
    internal static Dictionary<string, Tensor> Saved(OrderedDictionary<string, Tensor> dict) =>
        dict.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());

    static Parameter[] MakeParams() =>
    [
        new(Tensor.FromArray(Init19())),
        new(Tensor.FromArray([0.3f, -0.2f, 0.7f, 0.1f, -0.9f, 0.4f], 2, 3)),
        new(Tensor.FromArray([1f, 2f])), // never gets a gradient
    ];

    static void Feed(Parameter[] ps, int t)
    {
        ps[0].Grad = Tensor.FromArray(Grad19(t));
        ps[1].Grad = Tensor.FromArray(Grad19(t + 7).Take(6).ToArray(), 2, 3);
    }

    static Optimizer Build(string kind, Parameter[] ps) => kind switch
    {
        // Two groups so that group options and parameter numbering across groups are exercised.
        "adamw" => new AdamW([new ParamGroup([ps[0]]), new ParamGroup([ps[1], ps[2]], weightDecay: 0)], lr: 3e-4, weightDecay: 0.1),
        "adam_ams" => new Adam([new ParamGroup([ps[0], ps[1]]), new ParamGroup([ps[2]], lr: 1e-3)], lr: 7e-3, amsgrad: true, weightDecay: 1e-4),
        "sgd" => new Sgd([new ParamGroup([ps[0]]), new ParamGroup([ps[1], ps[2]], lr: 0.03)], lr: 0.013, momentum: 0.9, nesterov: true, weightDecay: 5e-4),
        "rmsprop" => new RmsProp([new ParamGroup([ps[0], ps[1]]), new ParamGroup([ps[2]])], lr: 3e-3, momentum: 0.3, centered: true),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [InlineData("adamw")]
    [InlineData("adam_ams")]
    [InlineData("sgd")]
    [InlineData("rmsprop")]
    public void Resuming_from_a_state_dict_is_bitwise_identical_to_an_uninterrupted_run(string kind)
    {
        const int k = 3, n = 7;
        var full = MakeParams();
        var optFull = Build(kind, full);
        Parameter[]? resumed = null;
        Dictionary<string, Tensor>? checkpoint = null;
        for (int t = 0; t < n; t++)
        {
            if (t == k)
            {
                resumed = full.Select(p => new Parameter(p.Data.Clone())).ToArray();
                checkpoint = Saved(optFull.StateDict());
            }
            Feed(full, t);
            optFull.Step();
        }

        var optResumed = Build(kind, resumed!);
        optResumed.LoadStateDict(checkpoint!);
        for (int t = k; t < n; t++)
        {
            Feed(resumed!, t);
            optResumed.Step();
        }
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i].Data.ToArray(), resumed![i].Data.ToArray());
        Assert.Equal(Saved(optFull.StateDict()).Keys, Saved(optResumed.StateDict()).Keys);
        foreach (var (key, value) in optFull.StateDict())
            Assert.Equal(value.ToArray(), optResumed.StateDict()[key].ToArray());
    }

    [Fact]
    public void Adam_state_dict_has_PyTorch_keys_in_order()
    {
        var ps = MakeParams();
        var opt = Build("adamw", ps);
        Feed(ps, 0);
        opt.Step();
        opt.Step();
        var d = opt.StateDict();
        Assert.Equal(
        [
            "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq",
            "state.1.step", "state.1.exp_avg", "state.1.exp_avg_sq",
            "param_groups.0.params", "param_groups.0.lr", "param_groups.0.beta1", "param_groups.0.beta2",
            "param_groups.0.eps", "param_groups.0.weight_decay",
            "param_groups.1.params", "param_groups.1.weight_decay", "param_groups.1.lr", "param_groups.1.beta1",
            "param_groups.1.beta2", "param_groups.1.eps",
        ], d.Keys);
        Assert.Equal(0, d["state.0.step"].Rank);
        Assert.Equal(2f, d["state.0.step"].Item());
        Assert.Equal([1f, 2f], d["param_groups.1.params"].ToArray());
        Assert.Equal((float)3e-4, d["param_groups.0.lr"].Item());
        Assert.Equal([2, 3], d["state.1.exp_avg"].Shape.ToArray());
    }

    [Fact]
    public void Sgd_without_momentum_keeps_no_state()
    {
        var ps = MakeParams();
        var opt = new Sgd(ps, lr: 0.1);
        Feed(ps, 0);
        opt.Step();
        Assert.DoesNotContain(opt.StateDict().Keys, k => k.StartsWith("state.", StringComparison.Ordinal));
    }

    [Fact]
    public void Loading_keeps_the_exact_double_of_a_hyper_parameter_that_round_trips()
    {
        var ps = MakeParams();
        var opt = Build("adamw", ps);
        var d = Saved(opt.StateDict());
        var other = Build("adamw", MakeParams());
        other.ParamGroups[0].Lr = 0.5;
        other.LoadStateDict(d);
        Assert.Equal((double)(float)3e-4, other.ParamGroups[0].Lr); // changed: takes the saved float32
        var same = Build("adamw", MakeParams());
        same.LoadStateDict(d);
        Assert.Equal(3e-4, same.ParamGroups[0].Lr);                 // unchanged: keeps the double
    }

    [Fact]
    public void Loading_a_state_dict_copies_into_existing_buffers()
    {
        var ps = MakeParams();
        var opt = Build("adamw", ps);
        Feed(ps, 0);
        opt.Step();
        var before = opt.StateDict()["state.0.exp_avg"];
        var d = Saved(opt.StateDict());
        d["state.0.exp_avg"].Span.Fill(7f);
        opt.LoadStateDict(d);
        Assert.Equal(Enumerable.Repeat(7f, 19).ToArray(), before.ToArray());
    }

    [Fact]
    public void Loading_an_empty_state_clears_the_state()
    {
        var ps = MakeParams();
        var fresh = Saved(Build("adamw", ps).StateDict());
        var opt = Build("adamw", ps);
        Feed(ps, 0);
        opt.Step();
        opt.LoadStateDict(fresh);
        Assert.DoesNotContain(opt.StateDict().Keys, k => k.StartsWith("state.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_state_dict_is_rejected_with_every_problem_listed_and_nothing_changed()
    {
        var ps = MakeParams();
        var opt = Build("adamw", ps);
        Feed(ps, 0);
        opt.Step();
        var d = Saved(opt.StateDict());
        d["state.0.exp_avg"] = Tensor.Zeros(18);
        d.Remove("state.1.exp_avg_sq");
        d["state.0.momentum_buffer"] = Tensor.Zeros(19);
        d["state.5.step"] = Tensor.Scalar(1);
        d["state.1.step"] = Tensor.Scalar(1.5f);
        d.Remove("param_groups.1.eps");
        d["param_groups.0.lr"] = Tensor.Zeros(2);
        d["lr"] = Tensor.Scalar(1);
        var stepBefore = opt.StateDict()["state.1.exp_avg"].ToArray();
        var e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(d));
        var lines = e.Message.Split('\n');
        Assert.Equal("AdamW.LoadStateDict: error(s) in loading the state dict:", lines[0]);
        Assert.Contains("  size mismatch for state.0.exp_avg: the state dict has shape [18], parameter 0 has shape [19]", lines);
        Assert.Contains("  missing key \"state.1.exp_avg_sq\"", lines);
        Assert.Contains("  unexpected key \"state.0.momentum_buffer\": AdamW keeps no state \"momentum_buffer\"", lines);
        Assert.Contains("  unexpected key \"state.5.step\": the optimizer has 3 parameters", lines);
        Assert.Contains("  state.1.step: expected a 0-d tensor holding a step count; got 1.5", lines);
        Assert.Contains("  missing key \"param_groups.1.eps\"", lines);
        Assert.Contains("  param_groups.0.lr: expected a 0-d tensor; got shape [2]", lines);
        Assert.Contains("  unexpected key \"lr\"", lines);
        Assert.StartsWith("hint: ", lines[^1]);
        Assert.Equal(stepBefore, opt.StateDict()["state.1.exp_avg"].ToArray());
        Assert.Equal(3e-4, opt.ParamGroups[0].Lr);
    }

    [Fact]
    public void A_state_dict_with_other_groups_is_rejected()
    {
        var ps = MakeParams();
        var two = Saved(Build("adamw", ps).StateDict());
        var one = new AdamW(ps, lr: 3e-4);
        var e = Assert.Throws<ArgumentException>(() => one.LoadStateDict(two));
        Assert.Contains("  the state dict has 2 parameter groups; the optimizer has 1", e.Message.Split('\n'));
        Assert.Contains("  param group 0 has 3 parameters here; the state dict's has 1", e.Message.Split('\n'));
    }

    [Fact]
    public void An_amsgrad_state_dict_does_not_load_into_plain_Adam()
    {
        var ps = MakeParams();
        var ams = new Adam(ps, amsgrad: true);
        Feed(ps, 0);
        ams.Step();
        var plain = new Adam(ps);
        var e = Assert.Throws<ArgumentException>(() => plain.LoadStateDict(Saved(ams.StateDict())));
        Assert.Contains("  unexpected key \"state.0.max_exp_avg_sq\": Adam keeps no state \"max_exp_avg_sq\"", e.Message.Split('\n'));
    }
}
