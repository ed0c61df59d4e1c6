using Nabla.Optim;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterOptim(Ops t)
    {
        t.Optimizer("sgd", (a, p) => new Sgd([p], lr: a.Double("lr"), momentum: a.Double("momentum"), dampening: a.Double("dampening"),
            weightDecay: a.Double("weight_decay"), nesterov: a.Bool("nesterov")).Step);
        t.Optimizer("adam", (a, p) => new Adam([p], lr: a.Double("lr"), beta1: a.Double("beta1"), beta2: a.Double("beta2"),
            eps: a.Double("eps"), weightDecay: a.Double("weight_decay")).Step);
        t.Optimizer("adamw", (a, p) => new AdamW([p], lr: a.Double("lr"), beta1: a.Double("beta1"), beta2: a.Double("beta2"),
            eps: a.Double("eps"), weightDecay: a.Double("weight_decay")).Step);
        t.Optimizer("rmsprop", (a, p) => new RmsProp([p], lr: a.Double("lr"), alpha: a.Double("alpha"), eps: a.Double("eps"),
            weightDecay: a.Double("weight_decay"), momentum: a.Double("momentum"), centered: a.Bool("centered")).Step);
    }
}
