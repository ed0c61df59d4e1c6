using Nabla.Losses;
using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static Reduction Reduce(CaseArgs a) => a.Str("reduction") switch
    {
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        "none" => Reduction.None,
        var r => throw new InvalidOperationException($"conformance: unknown reduction '{r}'"),
    };

    static partial void RegisterLosses(Ops t)
    {
        t.Op("l1_loss", a => Loss.L1Loss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("mse_loss", a => Loss.MseLoss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("smooth_l1_loss", a => Loss.SmoothL1Loss(a.In("input"), a.In("target"), Reduce(a), a.Double("beta", 1)));
        t.Op("huber_loss", a => Loss.HuberLoss(a.In("input"), a.In("target"), Reduce(a), a.Double("delta", 1)));
        t.Op("bce", a => Loss.BinaryCrossEntropy(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("bce_with_logits", a => Loss.BinaryCrossEntropyWithLogits(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("cross_entropy", a => Loss.CrossEntropy(a.In("input"), a.In("target"), Reduce(a), a.Double("label_smoothing", 0)));
        t.Op("nll_loss", a => Loss.NllLoss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("multi_margin_loss", a => Loss.MultiMarginLoss(a.In("input"), a.In("target"), Reduce(a), margin: a.Double("margin", 1)));
        t.Op("multiclass_hinge_loss", a => Loss.MulticlassHingeLoss(a.In("input"), a.In("target"), Reduce(a), a.Double("margin", 1)));
    }
}
