using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterNorms(Ops t)
    {
        // The case's running tensors themselves, updated in place, as F.batch_norm does.
        t.Op("batch_norm", a => Functional.BatchNorm(a.In("input"), a.In("running_mean"), a.In("running_var"), a.In("weight"), a.In("bias"),
            a.Bool("training"), a.Double("momentum"), a.Double("eps")));
        t.Op("layer_norm", a => Functional.LayerNorm(a.In("input"), a.Ints("normalized_shape"), a.In("weight"), a.In("bias"), a.Double("eps")));
        t.Op("group_norm", a => Functional.GroupNorm(a.In("input"), a.Int("num_groups"), a.In("weight"), a.In("bias"), a.Double("eps")));
        t.Op("instance_norm", a => Functional.InstanceNorm(a.In("input"), null, null, a.In("weight"), a.In("bias"), eps: a.Double("eps")));
    }
}
