using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.LossTests;

/// <summary>Every loss under every reduction: analytic gradients (input, and target for point-wise losses) against finite differences.</summary>
public class LossGradientTests
{
    static Tensor G(ulong seed, float lo, float hi, params int[] shape) => U(seed, lo, hi, shape).RequireGrad();

    static readonly Tensor Classes = T([0f, 3f, 1f, 1f, 2f]);
    static readonly Tensor Classes2d = T([0f, 3f, 1f, 1f, 2f, 0f], 2, 3);
    static readonly Tensor Weight = T([0.5f, 2f, 1f, 3f]);
    // soft targets, deliberately not normalised: the formula holds for any finite target
    static readonly Tensor Probs = U(20, 0, 1, 5, 4);
    static readonly Tensor Probs2d = U(21, 0, 1, 2, 4, 3);

    static readonly Dictionary<string, Func<Reduction, (Func<Tensor[], Tensor> F, Tensor[] X)>> Table = new()
    {
        ["l1"] = r => (x => Loss.L1Loss(x[0], x[1], r), [G(1, -2, 2, 3, 4), G(2, -2, 2, 3, 4)]),
        ["mse"] = r => (x => Loss.MseLoss(x[0], x[1], r), [G(1, -2, 2, 3, 4), G(2, -2, 2, 3, 4)]),
        ["smooth_l1"] = r => (x => Loss.SmoothL1Loss(x[0], x[1], r, beta: 0.5), [G(1, -2, 2, 3, 4), G(2, -2, 2, 3, 4)]),
        ["huber"] = r => (x => Loss.HuberLoss(x[0], x[1], r, delta: 0.7), [G(1, -2, 2, 3, 4), G(2, -2, 2, 3, 4)]),
        ["bce"] = r => (x => Loss.BinaryCrossEntropy(x[0], x[1], r), [G(3, 0.05f, 0.95f, 3, 4), G(4, 0, 1, 3, 4)]),
        ["bce_with_logits"] = r => (x => Loss.BinaryCrossEntropyWithLogits(x[0], x[1], r), [G(5, -4, 4, 3, 4), G(6, 0, 1, 3, 4)]),
        ["bce_with_logits pos_weight"] = r => (x => Loss.BinaryCrossEntropyWithLogits(x[0], x[1], r, T([2f, 0.5f, 1f, 3f])),
            [G(5, -4, 4, 3, 4), G(6, 0, 1, 3, 4)]),
        ["cross_entropy"] = r => (x => Loss.CrossEntropy(x[0], Classes, r), [G(7, -3, 3, 5, 4)]),
        ["cross_entropy smoothing weight"] = r => (x => Loss.CrossEntropy(x[0], Classes, r, 0.15, Weight), [G(8, -3, 3, 5, 4)]),
        ["cross_entropy spatial"] = r => (x => Loss.CrossEntropy(x[0], Classes2d, r, 0.1, Weight), [G(9, -3, 3, 2, 4, 3)]),
        ["cross_entropy unbatched"] = r => (x => Loss.CrossEntropy(x[0], Tensor.Scalar(2f), r, 0.1), [G(10, -3, 3, 4)]),
        ["cross_entropy probabilities"] = r => (x => Loss.CrossEntropy(x[0], Probs, r), [G(16, -3, 3, 5, 4)]),
        ["cross_entropy probabilities smoothing weight"] = r => (x => Loss.CrossEntropy(x[0], Probs, r, 0.2, Weight), [G(17, -3, 3, 5, 4)]),
        ["cross_entropy probabilities spatial"] = r => (x => Loss.CrossEntropy(x[0], Probs2d, r, 0.1, Weight), [G(18, -3, 3, 2, 4, 3)]),
        ["cross_entropy probabilities unbatched"] = r => (x => Loss.CrossEntropy(x[0], T([0.1f, 0.6f, 0f, 0.3f]), r, 0.1), [G(19, -3, 3, 4)]),
        ["nll"] = r => (x => Loss.NllLoss(x[0], Classes, r, Weight), [G(11, -3, 0, 5, 4)]),
        ["nll spatial"] = r => (x => Loss.NllLoss(x[0], Classes2d, r), [G(12, -3, 0, 2, 4, 3)]),
        ["multi_margin"] = r => (x => Loss.MultiMarginLoss(x[0], Classes, r), [G(13, -2, 2, 5, 4)]),
        ["multi_margin p2 weight"] = r => (x => Loss.MultiMarginLoss(x[0], Classes, r, p: 2, margin: 0.5, weight: Weight), [G(14, -2, 2, 5, 4)]),
        ["multiclass_hinge"] = r => (x => Loss.MulticlassHingeLoss(x[0], Classes, r), [G(15, -2, 2, 5, 4)]),
    };

    public static TheoryData<string, Reduction> Cases()
    {
        var d = new TheoryData<string, Reduction>();
        foreach (var name in Table.Keys)
            foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None }) d.Add(name, r);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradient_matches_finite_differences(string name, Reduction reduction)
    {
        var (f, x) = Table[name](reduction);
        var result = GradCheck.Run(f, x);
        result.Check($"{name}, {reduction}");
        Assert.True(result.Checked >= x[0].Numel);
    }

    [Fact]
    public void Hinge_losses_have_gradients_where_margins_are_violated()
    {
        // guard against the margin-loss rows passing vacuously with all-zero gradients
        var x = G(13, -2, 2, 5, 4);
        Loss.MultiMarginLoss(x, Classes, Reduction.Sum).Backward();
        Assert.Contains(x.Grad!.ToArray(), v => v != 0);
    }
}
