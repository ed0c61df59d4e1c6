namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterActivations(Ops t)
    {
        t.Op("sigmoid", a => a.In("input").Sigmoid());
        t.Op("tanh", a => a.In("input").Tanh());
        t.Op("relu", a => a.In("input").Relu());
    }
}
