using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Tests.OptimTests.OptimizerStepTests;

namespace Nabla.Tests.OptimTests;

public class ParamGroupTests
{
    [Fact]
    public void Groups_inherit_defaults_and_override_lr_and_weight_decay()
    {
        var a = P(1f);
        var b = P(1f);
        var opt = new Sgd([new ParamGroup([a], lr: 0.5), new ParamGroup([b], weightDecay: 0.1)], lr: 0.1, momentum: 0.9);
        Assert.Equal(0.5, opt.ParamGroups[0].Lr);
        Assert.Equal(0.0, opt.ParamGroups[0].WeightDecay);
        Assert.Equal(0.9, opt.ParamGroups[0]["momentum"]);
        Assert.Equal(0.1, opt.ParamGroups[1].Lr);
        Assert.Equal(0.1, opt.ParamGroups[1].WeightDecay);
        a.Grad = TestUtil.T([1f]);
        b.Grad = TestUtil.T([1f]);
        opt.Step();
        Assert.Equal(0.5f, a.Data.Item(), 6);           // 1 − 0.5 · 1
        Assert.Equal(1 - 0.1 * 1.1, b.Data.Item(), 6);  // 1 − 0.1 · (1 + 0.1 · 1)
    }

    [Fact]
    public void A_group_with_zero_weight_decay_is_not_decayed()
    {
        var model = new Linear(2, 2, generator: new Generator(5));
        var groups = ParamGroup.SplitByRank(model, weightDecay: 0.5);
        var opt = new AdamW(groups, lr: 0.1);
        var weight = model.Parameters().First().Data.ToArray();
        var bias = model.Parameters().Last().Data.ToArray();
        foreach (var p in model.Parameters()) p.Grad = Tensor.ZerosLike(p.Data);
        opt.Step();
        float f = (float)(1 - 0.1 * 0.5);
        Assert.Equal(weight.Select(w => w * f).ToArray(), model.Parameters().First().Data.ToArray());
        Assert.Equal(bias, model.Parameters().Last().Data.ToArray());
    }

    [Fact]
    public void SplitByRank_puts_matrices_in_the_decay_group_and_vectors_in_the_other()
    {
        var model = new Sequential(new Linear(3, 4), new Linear(4, 2, bias: false));
        var groups = ParamGroup.SplitByRank(model, weightDecay: 0.1);
        Assert.Equal(2, groups.Length);
        Assert.Equal(2, groups[0].Parameters.Count);
        Assert.All(groups[0].Parameters, p => Assert.Equal(2, p.Shape.Length));
        Assert.Single(groups[1].Parameters);
        Assert.Equal(0.1, groups[0].WeightDecay);
        Assert.Equal(0.0, groups[1].WeightDecay);
    }

    [Fact]
    public void SplitByRank_leaves_out_frozen_parameters()
    {
        var model = new Linear(3, 4);
        model.Parameters().First().RequiresGrad = false;
        var groups = ParamGroup.SplitByRank(model, weightDecay: 0.1);
        Assert.Empty(groups[0].Parameters);
        Assert.Single(groups[1].Parameters);
    }

    [Fact]
    public void Lr_can_be_changed_between_steps()
    {
        var a = P(1f);
        var opt = new Sgd([a], lr: 0.1);
        opt.ParamGroups[0].Lr = 0.25;
        a.Grad = TestUtil.T([1f]);
        opt.Step();
        Assert.Equal(0.75f, a.Data.Item());
    }

    [Fact]
    public void AddParamGroup_adds_a_group_with_defaults()
    {
        var a = P(1f);
        var b = P(2f);
        var opt = new Adam([a], lr: 0.01);
        opt.AddParamGroup(new ParamGroup([b], lr: 0.001));
        Assert.Equal(2, opt.ParamGroups.Count);
        Assert.Equal(0.999, opt.ParamGroups[1]["beta2"]);
        Assert.Equal(0.001, opt.ParamGroups[1].Lr);
    }

    [Fact]
    public void An_unknown_option_names_the_group_and_lists_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([P(1f)], beta1: 0.8)]));
        Assert.StartsWith("Sgd: param group 0 sets beta1, which Sgd does not use; its options are lr, momentum, dampening, weight_decay", e.Message);
    }

    [Fact]
    public void A_group_override_is_checked_like_a_constructor_argument()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([new ParamGroup([P(1f)], momentum: -1)]));
        Assert.StartsWith("Invalid momentum value: -1.0", e.Message);
    }

    [Fact]
    public void A_parameter_in_two_groups_is_an_error()
    {
        var a = P(1f);
        var e = Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup([a]), new ParamGroup([a])]));
        Assert.StartsWith("some parameters appear in more than one parameter group", e.Message);
    }

    [Fact]
    public void A_parameter_twice_in_one_group_is_an_error()
    {
        var a = P(1f);
        var e = Assert.Throws<ArgumentException>(() => new Adam([a, a]));
        Assert.StartsWith("Adam: param group 0 contains a parameter more than once", e.Message);
    }

    [Fact]
    public void A_group_added_twice_or_holding_null_is_an_error()
    {
        var g = new ParamGroup([P(1f)]);
        var opt = new Adam([g]);
        Assert.StartsWith("Adam: param group 1 was already added", Assert.Throws<ArgumentException>(() => opt.AddParamGroup(g)).Message);
        Assert.StartsWith("ParamGroup: expected parameters; got a null entry",
            Assert.Throws<ArgumentException>(() => new ParamGroup([P(1f), null!])).Message);
    }

    [Fact]
    public void An_empty_parameter_list_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<Parameter>()));
        Assert.StartsWith("optimizer got an empty parameter list", e.Message);
    }

    [Fact]
    public void An_unknown_group_option_lists_the_group_options()
    {
        var g = new ParamGroup([P(1f)], lr: 0.1);
        var e = Assert.Throws<KeyNotFoundException>(() => g["betas"]);
        Assert.Equal("ParamGroup: expected one of the options lr; got \"betas\"", e.Message);
    }

    [Fact]
    public void ToString_lists_groups_like_PyTorch()
    {
        var opt = new Sgd([P(1f)], lr: 0.1);
        Assert.Equal("Sgd (\nParameter Group 0\n    lr: 0.1\n    momentum: 0\n    dampening: 0\n    weight_decay: 0\n)", opt.ToString());
    }

    // ---- constructor messages (PyTorch's) --------------------------------------------------

    public static TheoryData<string, string> ConstructorErrors => new()
    {
        { "sgd lr", "Invalid learning rate: -0.1" },
        { "sgd momentum", "Invalid momentum value: -0.5" },
        { "sgd weight_decay", "Invalid weight_decay value: -0.01" },
        { "sgd nesterov", "Nesterov momentum requires a momentum and zero dampening" },
        { "sgd nesterov dampening", "Nesterov momentum requires a momentum and zero dampening" },
        { "adam lr", "Invalid learning rate: -0.1" },
        { "adam eps", "Invalid epsilon value: -1e-08" },
        { "adam beta1", "Invalid beta parameter at index 0: 1.0" },
        { "adam beta2", "Invalid beta parameter at index 1: -0.1" },
        { "adam weight_decay", "Invalid weight_decay value: -0.01" },
        { "adamw lr", "Invalid learning rate: -0.1" },
        { "adamw beta1", "Invalid beta parameter at index 0: 1.5" },
        { "adamw weight_decay", "Invalid weight_decay value: -1.0" },
        { "rmsprop lr", "Invalid learning rate: -0.1" },
        { "rmsprop eps", "Invalid epsilon value: -1.0" },
        { "rmsprop momentum", "Invalid momentum value: -0.9" },
        { "rmsprop weight_decay", "Invalid weight_decay value: -0.01" },
        { "rmsprop alpha", "Invalid alpha value: -0.99" },
    };

    [Theory]
    [MemberData(nameof(ConstructorErrors))]
    public void Constructor_checks_use_PyTorch_messages(string what, string message)
    {
        Parameter[] ps = [P(1f)];
        Action make = what switch
        {
            "sgd lr" => () => _ = new Sgd(ps, lr: -0.1),
            "sgd momentum" => () => _ = new Sgd(ps, momentum: -0.5),
            "sgd weight_decay" => () => _ = new Sgd(ps, weightDecay: -0.01),
            "sgd nesterov" => () => _ = new Sgd(ps, nesterov: true),
            "sgd nesterov dampening" => () => _ = new Sgd(ps, momentum: 0.9, dampening: 0.1, nesterov: true),
            "adam lr" => () => _ = new Adam(ps, lr: -0.1),
            "adam eps" => () => _ = new Adam(ps, eps: -1e-8),
            "adam beta1" => () => _ = new Adam(ps, beta1: 1.0),
            "adam beta2" => () => _ = new Adam(ps, beta2: -0.1),
            "adam weight_decay" => () => _ = new Adam(ps, weightDecay: -0.01),
            "adamw lr" => () => _ = new AdamW(ps, lr: -0.1),
            "adamw beta1" => () => _ = new AdamW(ps, beta1: 1.5),
            "adamw weight_decay" => () => _ = new AdamW(ps, weightDecay: -1),
            "rmsprop lr" => () => _ = new RmsProp(ps, lr: -0.1),
            "rmsprop eps" => () => _ = new RmsProp(ps, eps: -1),
            "rmsprop momentum" => () => _ = new RmsProp(ps, momentum: -0.9),
            "rmsprop weight_decay" => () => _ = new RmsProp(ps, weightDecay: -0.01),
            "rmsprop alpha" => () => _ = new RmsProp(ps, alpha: -0.99),
            _ => throw new ArgumentException(what),
        };
        var e = Assert.ThrowsAny<ArgumentException>(make);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Nan_hyper_parameters_are_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([P(1f)], lr: double.NaN));
        Assert.StartsWith("Invalid learning rate: nan", e.Message);
    }
}
