using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterLinear(Ops t)
    {
        t.Op("linear", a => Functional.Linear(a.In("input"), a.In("weight"), a.OptIn("bias")));
    }
}
