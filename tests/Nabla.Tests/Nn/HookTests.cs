using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

/// <summary>Forward and full backward hooks: order, values, removal, and fused containers split for them.</summary>
public class HookTests
{
    static Sequential Mlp(ulong seed) => new(
        new Linear(4, 5, generator: new Generator(seed)), new Relu(),
        new Linear(5, 3, generator: new Generator(seed + 1)));

    [Fact]
    public void Forward_hooks_fire_in_forward_order_with_each_module_input_and_output()
    {
        var model = Mlp(1);
        var x = U(2, -1, 1, 6, 4);
        var seen = new List<(string Name, float[] In, float[] Out)>();
        var handles = model.NamedModules().Where(m => m.Name.Length > 0)
            .Select(m => m.Module.RegisterForwardHook((mod, i, o) => seen.Add((m.Name, i.ToArray(), o.ToArray())))).ToList();
        var y = model.Forward(x);

        Assert.Equal(["0", "1", "2"], seen.Select(s => s.Name));
        // Each input is the previous output, and the values are exactly those of the layers run alone
        // (Linear + ReLU is not fused while hooked: the ReLU's hook sees its own output).
        var h0 = ((Linear)model[0]).Forward(x);
        Assert.Equal(x.ToArray(), seen[0].In);
        Assert.Equal(h0.ToArray(), seen[0].Out);
        Assert.Equal(seen[0].Out, seen[1].In);
        Assert.Equal(h0.Relu().ToArray(), seen[1].Out);
        Assert.Equal(seen[1].Out, seen[2].In);
        Assert.Equal(y.ToArray(), seen[2].Out);

        foreach (var h in handles) h.Dispose();
        seen.Clear();
        var again = model.Forward(x);
        Assert.Empty(seen);
        Assert.Equal(y.ToArray(), again.ToArray());
    }

    [Fact]
    public void Hooks_run_in_registration_order_and_each_handle_removes_only_its_own()
    {
        var relu = new Relu();
        var calls = new List<string>();
        var a = relu.RegisterForwardHook((_, _, _) => calls.Add("a"));
        var b = relu.RegisterForwardHook((_, _, _) => calls.Add("b"));
        relu.Forward(T([1f, -1f]));
        Assert.Equal(["a", "b"], calls);

        a.Remove();
        a.Remove(); // twice does nothing
        calls.Clear();
        relu.Forward(T([1f]));
        Assert.Equal(["b"], calls);

        b.Dispose();
        calls.Clear();
        relu.Forward(T([1f]));
        Assert.Empty(calls);
    }

    [Fact]
    public void Backward_hooks_get_the_gradients_of_input_and_output_in_reverse_order()
    {
        var model = Mlp(3);
        var x = U(4, -1, 1, 6, 4).RequireGrad();
        var grads = new List<(string Name, float[]? In, float[] Out)>();
        foreach (var (name, m) in model.NamedModules().Where(m => m.Name.Length > 0))
            m.RegisterFullBackwardHook((_, gi, go) => grads.Add((name, gi?.ToArray(), go.ToArray())));
        var y = model.Forward(x);
        var w = U(5, -1, 1, 6, 3);
        (y * w).Sum().Backward();

        Assert.Equal(["2", "1", "0"], grads.Select(g => g.Name));
        // d(sum(y*w))/dy = w; each module's input gradient is the next (earlier) module's output gradient.
        Assert.Equal(w.ToArray(), grads[0].Out);
        Assert.Equal(grads[0].In, grads[1].Out);
        Assert.Equal(grads[1].In, grads[2].Out);
        Assert.Equal(x.Grad!.ToArray(), grads[2].In);

        // The ReLU's input gradient is its output gradient where the input was positive, else 0.
        var pre = ((Linear)model[0]).Forward(x.Detach()).ToArray();
        for (int i = 0; i < pre.Length; i++)
            Assert.Equal(pre[i] > 0 ? grads[1].Out[i] : 0f, grads[1].In![i]);
    }

    [Fact]
    public void Backward_hook_on_the_first_layer_gets_no_input_gradient_when_the_input_needs_none()
    {
        var lin = new Linear(3, 2, generator: new Generator(7));
        Tensor? gradIn = T([0f]);
        float[]? gradOut = null;
        lin.RegisterFullBackwardHook((_, gi, go) => { gradIn = gi; gradOut = go.ToArray(); });
        lin.Forward(U(8, -1, 1, 5, 3)).Sum().Backward();
        Assert.Null(gradIn);
        Assert.Equal(Enumerable.Repeat(1f, 10), gradOut!);
        Assert.NotNull(lin.Weight.Grad);
    }

    [Fact]
    public void Hooked_networks_compute_the_same_values_and_gradients_as_unhooked_ones()
    {
        // BatchNorm + ReLU + MaxPool runs fused without hooks and split with them; the numbers agree.
        Sequential Net() => new(new Conv2d(2, 4, 3, padding: 1, generator: new Generator(9)), new BatchNorm2d(4), new Relu(), new MaxPool2d(2),
                                new Flatten(), new Linear(4 * 2 * 2, 3, generator: new Generator(10)));
        var x = U(11, -1, 1, 5, 2, 4, 4);
        var plain = Net();
        var hooked = Net();
        foreach (var m in hooked.Modules())
        {
            m.RegisterForwardHook((_, _, _) => { });
            m.RegisterFullBackwardHook((_, _, _) => { });
        }
        var yp = plain.Forward(x);
        var yh = hooked.Forward(x);
        Close(yp.ToArray(), yh, 1e-5f);
        yp.Sum().Backward();
        yh.Sum().Backward();
        foreach (var ((name, p), (_, q)) in plain.NamedParameters().Zip(hooked.NamedParameters()))
            Close(p.Grad!.ToArray(), q.Grad!, 1e-4f);
    }

    [Fact]
    public void BasicBlock_runs_its_batch_norm_alone_when_hooked()
    {
        var block = new BasicBlock(2, 2, generator: new Generator(12));
        var x = U(13, -1, 1, 2, 2, 5, 5);
        var plain = block.Forward(x).ToArray();
        float[]? bnOut = null;
        var bn1 = block.NamedModules().First(m => m.Name == "bn1").Module;
        using (bn1.RegisterForwardHook((_, _, o) => bnOut = o.ToArray()))
            Close(plain, block.Forward(x), 1e-5f);
        // The hook sees batch norm's own output, negative values included (not the fused ReLU's).
        Assert.Contains(bnOut!, v => v < 0);
    }
}
