using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.LossTests;

/// <summary>Every error a loss raises: what was wrong, where, and what was expected.</summary>
public class LossErrorTests
{
    static readonly Tensor Logits = Tensor.Zeros(4, 5);

    static string Message(Action a) => Assert.ThrowsAny<ArgumentException>(a).Message;

    [Fact]
    public void Point_wise_losses_need_a_target_of_the_input_shape()
    {
        Assert.Equal("mse_loss: expected a target of the input's shape [2, 3]; got [3, 2]",
            Message(() => Loss.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2))));
        Assert.Equal("L1Loss() expects a target of the input's shape [4]; got [4, 1]",
            Message(() => new L1Loss().Forward(Tensor.Zeros(4), Tensor.Zeros(4, 1))));
        Assert.Equal("binary_cross_entropy_with_logits: expected a target of the input's shape [2]; got [3]",
            Message(() => Loss.BinaryCrossEntropyWithLogits(Tensor.Zeros(2), Tensor.Zeros(3))));
    }

    [Fact]
    public void Reduction_must_be_one_of_the_three()
    {
        Assert.StartsWith("mse_loss: expected reduction Mean, Sum or None; got 7",
            Message(() => Loss.MseLoss(Logits, Logits, (Reduction)7)));
        Assert.StartsWith("cross_entropy: expected reduction Mean, Sum or None; got -1",
            Message(() => Loss.CrossEntropy(Logits, Tensor.Zeros(4), (Reduction)(-1))));
        Assert.StartsWith("HuberLoss: expected reduction Mean, Sum or None; got 3",
            Message(() => _ = new HuberLoss((Reduction)3)));
    }

    [Fact]
    public void Loss_settings_are_checked()
    {
        Assert.StartsWith("smooth_l1_loss: expected beta >= 0; got -1", Message(() => Loss.SmoothL1Loss(Logits, Logits, beta: -1)));
        Assert.StartsWith("SmoothL1Loss: expected beta >= 0; got -0.5", Message(() => _ = new SmoothL1Loss(beta: -0.5)));
        Assert.StartsWith("huber_loss: expected delta > 0; got 0", Message(() => Loss.HuberLoss(Logits, Logits, delta: 0)));
        Assert.StartsWith("HuberLoss: expected delta > 0; got NaN", Message(() => _ = new HuberLoss(delta: double.NaN)));
        Assert.StartsWith("cross_entropy: expected labelSmoothing in [0, 1]; got 1.5",
            Message(() => Loss.CrossEntropy(Logits, Tensor.Zeros(4), labelSmoothing: 1.5)));
        Assert.StartsWith("cross_entropy: expected labelSmoothing in [0, 1]; got -0.1", Message(() => _ = new CrossEntropyLoss(labelSmoothing: -0.1)));
        Assert.StartsWith("multi_margin_loss: expected p = 1 or 2; got 3", Message(() => Loss.MultiMarginLoss(Logits, Tensor.Zeros(4), p: 3)));
        Assert.StartsWith("multi_margin_loss: expected p = 1 or 2; got 0", Message(() => _ = new MultiMarginLoss(p: 0)));
    }

    [Fact]
    public void Bce_names_the_first_value_outside_zero_one()
    {
        Assert.Equal("binary_cross_entropy: expected input probabilities in [0, 1]; got 1.5 at input[1, 0]\n" +
                     "hint: apply Sigmoid first, or pass the raw scores to BinaryCrossEntropyWithLogits (more stable)",
            Message(() => Loss.BinaryCrossEntropy(T([0.5f, 1f, 1.5f, -2f], 2, 2), Tensor.Zeros(2, 2))));
        Assert.StartsWith("BceLoss() expects input probabilities in [0, 1]; got -0.25 at input[2]",
            Message(() => new BceLoss().Forward(T([0f, 0.5f, -0.25f]), Tensor.Zeros(3))));
        Assert.StartsWith("binary_cross_entropy: expected input probabilities in [0, 1]; got NaN at input[0]",
            Message(() => Loss.BinaryCrossEntropy(T([float.NaN]), Tensor.Zeros(1))));
    }

    [Fact]
    public void Pos_weight_must_match_the_last_dimension()
    {
        Assert.Equal("binary_cross_entropy_with_logits: expected a posWeight of shape [5] (one weight per entry of the input's last dimension) or [1]; got [4]",
            Message(() => Loss.BinaryCrossEntropyWithLogits(Logits, Logits, posWeight: Tensor.Ones(4))));
        Assert.StartsWith("BceWithLogitsLoss() expects a posWeight of shape [5]",
            Message(() => new BceWithLogitsLoss(posWeight: Tensor.Ones(1, 5)).Forward(Logits, Logits)));
    }

    [Fact]
    public void Class_losses_check_input_and_target_shapes()
    {
        Assert.Equal("cross_entropy: expected input of shape (N, C), (N, C, d1, ...) or (C); got []",
            Message(() => Loss.CrossEntropy(Tensor.Scalar(1f), Tensor.Scalar(0f))));
        Assert.Equal("multi_margin_loss: expected input of shape (N, C) or (C); got [2, 3, 4]",
            Message(() => Loss.MultiMarginLoss(Tensor.Zeros(2, 3, 4), Tensor.Zeros(2, 4))));
        Assert.Equal("multiclass_hinge_loss: expected input of shape (N, C) or (C); got []",
            Message(() => Loss.MulticlassHingeLoss(Tensor.Scalar(1f), Tensor.Scalar(0f))));
        Assert.Equal("cross_entropy: expected a target of class indices of shape [4]; got [3] for input [4, 5]",
            Message(() => Loss.CrossEntropy(Logits, Tensor.Zeros(3))));
        Assert.Equal("nll_loss: expected a target of class indices of shape [2, 6]; got [2, 5] for input [2, 3, 6]",
            Message(() => Loss.NllLoss(Tensor.Zeros(2, 3, 6), Tensor.Zeros(2, 5))));
        Assert.Equal("nll_loss: expected a target of class indices of shape []; got [1] for input [5]",
            Message(() => Loss.NllLoss(Tensor.Zeros(5), Tensor.Zeros(1))));
        // a target of the input's rank holds class probabilities, as PyTorch decides
        Assert.Equal("cross_entropy: expected a target of class probabilities of the input's shape [5]; got [1]\n" +
                     "hint: a target of class indices has shape []",
            Message(() => Loss.CrossEntropy(Tensor.Zeros(5), Tensor.Zeros(1))));
        Assert.Equal("nll_loss: expected a target of class indices of shape [4]; got [4, 5] for input [4, 5]\n" +
                     "hint: class probabilities as targets are not supported; pass the class indices (an argmax over dim 1)",
            Message(() => Loss.NllLoss(Logits, Logits)));
    }

    [Fact]
    public void Class_indices_must_be_integers_in_range_and_the_culprit_is_named()
    {
        Assert.Equal("cross_entropy: expected class indices in [0, 5); got 5 at target[1]",
            Message(() => Loss.CrossEntropy(Logits, T([0f, 5f, 7f, 1f]))));
        Assert.Equal("nll_loss: expected class indices in [0, 5); got -1 at target[3]",
            Message(() => Loss.NllLoss(Logits, T([0f, 1f, 2f, -1f]))));
        Assert.Equal("multi_margin_loss: expected integer class indices; got 1.5 at target[2]",
            Message(() => Loss.MultiMarginLoss(Logits, T([0f, 1f, 1.5f, 2f]))));
        Assert.Equal("MulticlassHingeLoss() expects integer class indices; got NaN at target[0]",
            Message(() => new MulticlassHingeLoss().Forward(Logits, T([float.NaN, 1f, 1f, 2f]))));
        Assert.Equal("cross_entropy: expected integer class indices; got ∞ at target[0]".Replace("∞", "Infinity", StringComparison.Ordinal),
            Message(() => Loss.CrossEntropy(Logits, T([float.PositiveInfinity, 1f, 1f, 2f]))));
        Assert.Equal("cross_entropy: expected class indices in [0, 3); got 3 at target[1, 2]",
            Message(() => Loss.CrossEntropy(Tensor.Zeros(2, 3, 4), T([0f, 1f, 2f, 0f, 1f, 1f, 3f, 0f], 2, 4))));
        Assert.Equal("cross_entropy: expected class indices in [0, 5); got 9 at target[]",
            Message(() => Loss.CrossEntropy(Tensor.Zeros(5), Tensor.Scalar(9f))));
    }

    [Fact]
    public void Class_weights_need_one_entry_per_class()
    {
        Assert.Equal("cross_entropy: expected a class weight of shape [5]; got [4]",
            Message(() => Loss.CrossEntropy(Logits, Tensor.Zeros(4), weight: Tensor.Ones(4))));
        Assert.Equal("NllLoss() expects a class weight of shape [5]; got [1, 5]",
            Message(() => new NllLoss(weight: Tensor.Ones(1, 5)).Forward(Logits, Tensor.Zeros(4))));
        Assert.Equal("multi_margin_loss: expected a class weight of shape [5]; got [6]",
            Message(() => Loss.MultiMarginLoss(Logits, Tensor.Zeros(4), weight: Tensor.Ones(6))));
    }
}
