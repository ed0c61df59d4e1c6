using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterActivations(Ops t)
    {
        t.Op("sigmoid", a => a.In("input").Sigmoid());
        t.Op("tanh", a => a.In("input").Tanh());
        t.Op("relu", a => a.In("input").Relu());
        t.Op("leaky_relu", a => Functional.LeakyRelu(a.In("input"), a.Double("negative_slope")));
        t.Op("elu", a => Functional.Elu(a.In("input"), a.Double("alpha")));
        t.Op("gelu", a => Functional.Gelu(a.In("input"), a.Str("approximate", "none")));
        t.Op("softplus", a => Functional.Softplus(a.In("input"), a.Double("beta", 1), a.Double("threshold", 20)));
        t.Op("softmax", a => Functional.Softmax(a.In("input"), a.Int("dim")));
        t.Op("log_softmax", a => Functional.LogSoftmax(a.In("input"), a.Int("dim")));
        t.Op("maxout", a => Functional.Maxout(a.In("input"), a.Int("pieces")));
    }
}
