using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.TensorsTests;

public class TensorScopeTests
{
    static (Linear, Linear) Model()
    {
        var g = new Generator(5);
        return (new Linear(64, 256, generator: g), new Linear(256, 10, generator: g));
    }

    static float Step(Linear a, Linear b, Tensor x)
    {
        var h = a.Forward(x).Relu();
        var loss = (b.Forward(h) * b.Forward(h)).Mean();
        loss.Backward();
        return loss.Item();
    }

    [Fact]
    public void A_scoped_step_computes_exactly_what_an_unscoped_one_does()
    {
        var x = Tensor.Randn([32, 64], new Generator(1));
        var (a1, b1) = Model();
        var (a2, b2) = Model();
        for (int i = 0; i < 3; i++)
        {
            float l1 = Step(a1, b1, x);
            float l2;
            using (TensorScope.Begin()) l2 = Step(a2, b2, x);
            Assert.Equal(l1, l2);
            Assert.Equal(a1.Weight.Grad!.ToArray(), a2.Weight.Grad!.ToArray());
            Assert.Equal(b1.Bias!.Grad!.ToArray(), b2.Bias!.Grad!.ToArray());
        }
    }

    public static TheoryData<string> Optimizers => ["sgd", "adamw", "rmsprop"];

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Optimizer_state_made_inside_a_scope_survives_it(string name)
    {
        var x = Tensor.Randn([16, 64], new Generator(1));
        var (a1, b1) = Model();
        var (a2, b2) = Model();
        Optimizer Make(Linear a, Linear b) => name switch
        {
            "sgd" => new Sgd([.. a.Parameters(), .. b.Parameters()], lr: 0.1, momentum: 0.9),
            "adamw" => new AdamW([.. a.Parameters(), .. b.Parameters()]),
            _ => new RmsProp([.. a.Parameters(), .. b.Parameters()], momentum: 0.5),
        };
        var o1 = Make(a1, b1);
        var o2 = Make(a2, b2);
        for (int i = 0; i < 4; i++)
        {
            o1.ZeroGrad();
            Step(a1, b1, x);
            o1.Step();
            using (TensorScope.Begin())
            {
                o2.ZeroGrad();
                Step(a2, b2, x);
                o2.Step();
            }
        }
        Assert.Equal(a1.Weight.Data.ToArray(), a2.Weight.Data.ToArray());
        Assert.Equal(o1.StateDict().Values.Select(t => t.ToArray()), o2.StateDict().Values.Select(t => t.ToArray()));
    }

    [Fact]
    public void Steady_state_steps_allocate_no_large_arrays()
    {
        var x = Tensor.Randn([128, 64], new Generator(1));
        var (a, b) = Model();
        for (int i = 0; i < 3; i++)
            using (TensorScope.Begin()) Step(a, b, x);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
            using (TensorScope.Begin()) Step(a, b, x);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        // Without the scope a step allocates its activations and gradients: 128 x 256 floats alone are 128 KB.
        Assert.True(perStep < 16 * 1024, $"a scoped step allocated {perStep} bytes");
    }

    [Fact]
    public void A_result_read_after_its_scope_ended_says_why_it_cannot_be()
    {
        Tensor y, kept, made;
        using (TensorScope.Begin())
        {
            y = Tensor.Ones(3, 4) * 2f;
            kept = y.Clone();
            made = Tensor.Zeros(2);
        }
        var e = Assert.Throws<InvalidOperationException>(() => y.ToArray());
        Assert.StartsWith("Tensor of shape [3, 4]: its memory went back to the pool when the TensorScope that created it ended", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => y.Item());
        // Operations given a recycled tensor fail the same way, never reading garbage.
        Assert.StartsWith("Tensor of shape [3, 4]: its memory went back to the pool",
            Assert.Throws<InvalidOperationException>(() => y.Exp()).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => y + kept);
        Assert.Throws<InvalidOperationException>(() => Nabla.Nn.Functional.Linear(y, Tensor.Ones(2, 4)));
        Assert.Contains("released", y.ToString(), StringComparison.Ordinal);
        Assert.All(kept.ToArray(), v => Assert.Equal(2f, v));
        Assert.Equal([0f, 0f], made.ToArray());
    }

    [Fact]
    public void Views_of_recycled_storage_are_invalidated_and_views_of_parameters_are_not()
    {
        var p = new Parameter(Tensor.Ones(2, 3));
        Tensor view, pview;
        using (TensorScope.Begin())
        {
            view = (p.Data * 3f).Reshape(6);
            pview = p.Data.Reshape(3, 2);
        }
        Assert.Throws<InvalidOperationException>(() => view.ToArray());
        Assert.Equal(new float[6].Select(_ => 1f), pview.ToArray());
    }

    [Fact]
    public void Scopes_nest_and_must_end_in_order()
    {
        Tensor outer, inner;
        using (TensorScope.Begin())
        {
            outer = Tensor.Ones(2) + 1f;
            using (TensorScope.Begin()) inner = Tensor.Ones(2) + 2f;
            Assert.Throws<InvalidOperationException>(() => inner.ToArray());
            Assert.Equal([2f, 2f], outer.ToArray());
        }
        Assert.Throws<InvalidOperationException>(() => outer.ToArray());

        // A view made in an inner scope of an outer scope's result dies with the outer scope.
        Tensor view;
        using (TensorScope.Begin())
        {
            var made = Tensor.Ones(4) * 3f;
            using (TensorScope.Begin()) view = made.Reshape(2, 2);
            Assert.Equal([3f, 3f, 3f, 3f], view.ToArray());
        }
        Assert.Throws<InvalidOperationException>(() => view.ToArray());

        var s1 = TensorScope.Begin();
        var s2 = TensorScope.Begin();
        var e = Assert.Throws<InvalidOperationException>(() => s1.Dispose());
        Assert.Contains("reverse order", e.Message, StringComparison.Ordinal);
        s2.Dispose();
    }

    [Fact]
    public void Recycled_arrays_come_back_cleared_when_an_op_asks_for_zeros()
    {
        for (int i = 0; i < 3; i++)
            using (TensorScope.Begin())
            {
                var x = Tensor.Full([2, 5], 7f) * 1f; // leaves 7s in a pooled array
                var z = Tensor.SumTo(Tensor.Ones(4, 2, 5), [1, 5]);
                Assert.Equal([8f, 8f, 8f, 8f, 8f], z.ToArray());
                Assert.Equal(7f, x.ToArray()[0]);
            }
    }
}
