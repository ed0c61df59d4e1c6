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
        t.Op("l1_loss", a => Functional.L1Loss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("mse_loss", a => Functional.MseLoss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("smooth_l1_loss", a => Functional.SmoothL1Loss(a.In("input"), a.In("target"), Reduce(a), a.Double("beta", 1)));
        t.Op("huber_loss", a => Functional.HuberLoss(a.In("input"), a.In("target"), Reduce(a), a.Double("delta", 1)));
        t.Op("bce", a => Functional.BinaryCrossEntropy(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("bce_with_logits", a => Functional.BinaryCrossEntropyWithLogits(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("cross_entropy", a => Functional.CrossEntropy(a.In("input"), a.In("target"), Reduce(a), a.Double("label_smoothing", 0)));
        t.Op("nll_loss", a => Functional.NllLoss(a.In("input"), a.In("target"), Reduce(a)));
        t.Op("multi_margin_loss", a => Functional.MultiMarginLoss(a.In("input"), a.In("target"), Reduce(a), margin: a.Double("margin", 1)));
        t.Op("multiclass_hinge_loss", a => Functional.MulticlassHingeLoss(a.In("input"), a.In("target"), Reduce(a), a.Double("margin", 1)));
    }
}
