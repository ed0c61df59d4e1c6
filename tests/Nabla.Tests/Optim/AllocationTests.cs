using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.OptimTests;

public class AllocationTests
{
    public static TheoryData<string> Kinds => ["sgd", "sgd_momentum", "adam", "adamw", "rmsprop"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Steady_state_steps_allocate_nothing(string kind)
    {
        var ps = new[]
        {
            new Parameter(Tensor.Randn([64, 33], new Generator(1))),
            new Parameter(Tensor.Randn([33], new Generator(2))),
            new Parameter(Tensor.Randn([5, 3, 3], new Generator(3))),
        };
        foreach (var p in ps) p.Grad = Tensor.Randn(p.Shape.ToArray(), new Generator(4));
        var opt = OptimizerStepTests.Make(kind, ps);
        var sched = new CosineAnnealingLr(opt, tMax: 100);
        for (int i = 0; i < 3; i++) { opt.Step(); sched.Step(); } // warm-up: state buffers, JIT

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            opt.Step();
            sched.Step();
            GradClip.ClipGradValue(ps, 10);
        }
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        // ClipGradValue's list of gradients is the only allocation allowed (a few hundred bytes).
        Assert.True(perStep < 1024, $"{kind}: {perStep} bytes allocated per step");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Optimizer_step_alone_allocates_zero_bytes(string kind)
    {
        var p = new Parameter(Tensor.Randn([100], new Generator(1)));
        p.Grad = Tensor.Randn([100], new Generator(2));
        var opt = OptimizerStepTests.Make(kind, [p]);
        opt.Step();
        opt.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) opt.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
