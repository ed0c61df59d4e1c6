using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

internal sealed partial class Ops
{
    static partial void RegisterConv(Ops t)
    {
        t.Op("conv2d", a => Functional.Conv2d(a.In("input"), a.In("weight"), a.OptIn("bias"),
            a.Pair("stride"), a.Pair("padding"), a.Pair("dilation"), a.Int("groups")));
    }

    static partial void RegisterPooling(Ops t)
    {
        t.Op("max_pool2d", a => Functional.MaxPool2d(a.In("input"), a.Pair("kernel_size"), a.Pair("stride"), a.Pair("padding", (0, 0))));
        t.Op("avg_pool2d", a => Functional.AvgPool2d(a.In("input"), a.Pair("kernel_size"), a.Pair("stride"), a.Pair("padding", (0, 0)),
            a.Bool("count_include_pad", true)));
        t.Op("adaptive_avg_pool2d", a => Functional.AdaptiveAvgPool2d(a.In("input"), a.Pair("output_size")));
    }
}
