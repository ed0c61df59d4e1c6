using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

/// <summary>Layer, group and instance normalization.</summary>
public class NormTests
{
    [Fact]
    public void LayerNorm_by_hand()
    {
        // rows 1, 2, 3, 4 (mean 2.5, var 1.25) and 2, 2, 6, 6 (mean 4, var 4)
        var y = Functional.LayerNorm(T([1, 2, 3, 4, 2, 2, 6, 6], 2, 4), [4], T([1, 2, 1, 2]), T([0, 0, 1, 1]));
        double s0 = Math.Sqrt(1.25 + 1e-5), s1 = Math.Sqrt(4 + 1e-5);
        NormReference.AssertClose([-1.5 / s0, -1 / s0, 0.5 / s0 + 1, 3 / s0 + 1, -2 / s1, -4 / s1, 2 / s1 + 1, 4 / s1 + 1], y);
    }

    public static TheoryData<int[], int[]> LayerShapes() => new()
    {
        { [3, 8], [8] },
        { [2, 6, 5, 5], [6, 5, 5] },
        { [2, 3, 4101], [4101] },   // rows longer than one summation block
        { [130, 7], [7] },          // more rows than one float accumulation block of dgamma
    };

    [Theory]
    [MemberData(nameof(LayerShapes))]
    public void LayerNorm_matches_the_reference(int[] shape, int[] normalized)
    {
        int d = Tensor.Zeros(normalized).Numel, rows = Tensor.Zeros(shape).Numel / d;
        var x = G(1, -2, 3, shape);
        var w = G(2, 0.5f, 1.5f, normalized);
        var b = G(3, -1, 1, normalized);
        var y = Functional.LayerNorm(x, normalized, w, b);
        var reference = NormReference.Layer(rows, d);
        NormReference.AssertClose(reference.Forward(x.ToArray(), w.ToArray(), b.ToArray(), 1e-5), y);
        var dy = U(4, -1, 1, shape);
        y.Backward(dy);
        var (dx, dg, db) = reference.Backward(x.ToArray(), dy.ToArray(), w.ToArray(), 1e-5, d);
        NormReference.AssertClose(dx, x.Grad!, 1e-4, 1e-3, "dx");
        NormReference.AssertClose(dg, w.Grad!, 1e-4, 1e-3, "dgamma");
        NormReference.AssertClose(db, b.Grad!, 1e-4, 1e-3, "dbeta");
    }

    [Theory]
    [InlineData(2, 6, 4, 3)]
    [InlineData(3, 4, 1, 2)]   // (N, C): one position per channel
    [InlineData(2, 8, 20, 4)]
    public void GroupNorm_matches_the_reference(int n, int c, int s, int groups)
    {
        var x = G(5, -2, 3, n, c, s);
        var w = G(6, 0.5f, 1.5f, c);
        var b = G(7, -1, 1, c);
        var y = Functional.GroupNorm(x, groups, w, b);
        var reference = NormReference.Group(n, c, s, groups);
        NormReference.AssertClose(reference.Forward(x.ToArray(), w.ToArray(), b.ToArray(), 1e-5), y);
        var dy = U(8, -1, 1, n, c, s);
        y.Backward(dy);
        var (dx, dg, db) = reference.Backward(x.ToArray(), dy.ToArray(), w.ToArray(), 1e-5, c);
        NormReference.AssertClose(dx, x.Grad!, 1e-4, 1e-3, "dx");
        NormReference.AssertClose(dg, w.Grad!, 1e-4, 1e-3, "dgamma");
        NormReference.AssertClose(db, b.Grad!, 1e-4, 1e-3, "dbeta");
    }

    [Fact]
    public void InstanceNorm_matches_the_reference()
    {
        var x = G(9, -2, 3, 2, 3, 4, 5);
        var w = G(10, 0.5f, 1.5f, 3);
        var b = G(11, -1, 1, 3);
        var y = Functional.InstanceNorm(x, weight: w, bias: b);
        var reference = NormReference.Instance(2, 3, 20);
        NormReference.AssertClose(reference.Forward(x.ToArray(), w.ToArray(), b.ToArray(), 1e-5), y);
        var dy = U(12, -1, 1, 2, 3, 4, 5);
        y.Backward(dy);
        var (dx, dg, db) = reference.Backward(x.ToArray(), dy.ToArray(), w.ToArray(), 1e-5, 3);
        NormReference.AssertClose(dx, x.Grad!, 1e-4, 1e-3, "dx");
        NormReference.AssertClose(dg, w.Grad!, 1e-4, 1e-3, "dgamma");
        NormReference.AssertClose(db, b.Grad!, 1e-4, 1e-3, "dbeta");
    }

    [Fact]
    public void GroupNorm_with_one_group_is_LayerNorm_and_with_C_groups_is_InstanceNorm()
    {
        var x = U(13, -2, 2, 2, 4, 3, 3);
        NormReference.AssertClose([.. Functional.LayerNorm(x, [4, 3, 3]).Data.ToArray().Select(v => (double)v)],
            Functional.GroupNorm(x, 1), 1e-6);
        NormReference.AssertClose([.. Functional.InstanceNorm(x).Data.ToArray().Select(v => (double)v)],
            Functional.GroupNorm(x, 4), 1e-6);
    }

    [Fact]
    public void InstanceNorm_updates_running_statistics_with_the_batch_average()
    {
        // sample 0, channel 0: 1, 3 (mean 2, unbiased var 2); sample 1, channel 0: 5, 11 (mean 8, unbiased var 18)
        // channel 1: 0, 0 (mean 0, var 0) and 2, 4 (mean 3, unbiased var 2)
        var x = T([1, 3, 0, 0, 5, 11, 2, 4], 2, 2, 2);
        var rm = T([1f, 1f]);
        var rv = T([1f, 1f]);
        Functional.InstanceNorm(x, rm, rv, momentum: 0.25);
        NormReference.AssertClose([0.75 + 0.25 * 5, 0.75 + 0.25 * 1.5], rm, 1e-6);
        NormReference.AssertClose([0.75 + 0.25 * 10, 0.75 + 0.25 * 1], rv, 1e-6);
    }

    [Fact]
    public void InstanceNorm_without_input_statistics_is_batch_norm_in_evaluation()
    {
        var x = U(14, -2, 2, 2, 3, 4, 4);
        var rm = T([0.5f, -1f, 0f]);
        var rv = T([2f, 0.5f, 1f]);
        var y = Functional.InstanceNorm(x, rm, rv, T([1f, 2f, 3f]), T([0f, 1f, 0f]), useInputStats: false);
        Assert.Equal(Functional.BatchNorm(x, rm, rv, T([1f, 2f, 3f]), T([0f, 1f, 0f])).ToArray(), y.ToArray());
        Assert.Equal([0.5f, -1f, 0f], rm.ToArray());
    }

    sealed record Case(Func<Tensor[], Tensor> F, Tensor[] Inputs);

    public static TheoryData<string> GradCases() => [.. GradCheckCases.Keys];

    static readonly Dictionary<string, Case> GradCheckCases = new()
    {
        ["layer_norm affine"] = new(t => Functional.LayerNorm(t[0], [5], t[1], t[2]), [G(1, -2, 2, 3, 5), G(2, 0.5f, 1.5f, 5), G(3, -1, 1, 5)]),
        ["layer_norm 2-d shape"] = new(t => Functional.LayerNorm(t[0], [3, 4], t[1], t[2]),
            [G(4, -2, 2, 2, 3, 4), G(2, 0.5f, 1.5f, 3, 4), G(3, -1, 1, 3, 4)]),
        ["layer_norm no affine"] = new(t => Functional.LayerNorm(t[0], [5]), [G(1, -2, 2, 3, 5)]),
        ["layer_norm weight only"] = new(t => Functional.LayerNorm(t[0], [5], t[1]), [G(1, -2, 2, 3, 5), G(2, 0.5f, 1.5f, 5)]),
        ["LayerNorm module"] = new(t => new LayerNorm(5).Forward(t[0]), [G(5, -2, 2, 2, 3, 5)]),
        ["group_norm affine"] = new(t => Functional.GroupNorm(t[0], 2, t[1], t[2]),
            [G(6, -2, 2, 2, 4, 3), G(2, 0.5f, 1.5f, 4), G(3, -1, 1, 4)]),
        ["group_norm (N, C)"] = new(t => Functional.GroupNorm(t[0], 2, t[1], t[2]),
            [G(7, -2, 2, 3, 4), G(2, 0.5f, 1.5f, 4), G(3, -1, 1, 4)]),
        ["group_norm no affine"] = new(t => Functional.GroupNorm(t[0], 3, null, null), [G(8, -2, 2, 2, 6, 2, 2)]),
        ["GroupNorm module"] = new(t => new GroupNorm(2, 4).Forward(t[0]), [G(9, -2, 2, 2, 4, 2, 2)]),
        ["instance_norm affine"] = new(t => Functional.InstanceNorm(t[0], null, null, t[1], t[2]),
            [G(10, -2, 2, 2, 3, 2, 3), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["instance_norm no affine"] = new(t => Functional.InstanceNorm(t[0]), [G(11, -2, 2, 2, 3, 5)]),
        ["instance_norm running statistics"] = new(t => Functional.InstanceNorm(t[0], T([0.1f, 0.2f]), T([1f, 2f]), t[1], t[2], useInputStats: false),
            [G(12, -2, 2, 2, 2, 5), G(2, 0.5f, 1.5f, 2), G(3, -1, 1, 2)]),
        ["InstanceNorm2d module affine"] = new(t => new InstanceNorm2d(3, affine: true).Forward(t[0]), [G(13, -2, 2, 2, 3, 2, 3)]),
        ["InstanceNorm2d module unbatched"] = new(t => new InstanceNorm2d(3).Forward(t[0]), [G(14, -2, 2, 3, 2, 3)]),
    };

    [Theory]
    [MemberData(nameof(GradCases))]
    public void Gradients_agree_with_finite_differences(string name)
    {
        var c = GradCheckCases[name];
        GradCheck.Run(c.F, c.Inputs).Check(name);
    }

    // ---- modules --------------------------------------------------------------------------

    [Fact]
    public void LayerNorm_module_parameters_and_repr()
    {
        var ln = new LayerNorm([6, 5, 5]);
        Assert.Equal(["weight", "bias"], ln.StateDict().Keys);
        Shape([6, 5, 5], ln.Weight!.Data);
        Assert.All(ln.Weight.Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(ln.Bias!.Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal("LayerNorm((6, 5, 5), eps=1e-05, elementwise_affine=True)", ln.ToString());
        Assert.Equal("LayerNorm((8,), eps=1e-06, elementwise_affine=False)", new LayerNorm(8, eps: 1e-6, elementwiseAffine: false).ToString());
        Assert.Empty(new LayerNorm(8, elementwiseAffine: false).Parameters());
        var noBias = new LayerNorm(8, bias: false);
        Assert.Equal(["weight"], noBias.StateDict().Keys);
        Assert.Null(noBias.Bias);
        var x = U(15, -1, 1, 2, 6, 5, 5);
        Assert.Equal(Functional.LayerNorm(x, [6, 5, 5]).ToArray(), ln.Forward(x).ToArray());
    }

    [Fact]
    public void GroupNorm_module_parameters_and_repr()
    {
        var gn = new GroupNorm(3, 6);
        Assert.Equal(["weight", "bias"], gn.StateDict().Keys);
        Shape([6], gn.Weight!.Data);
        Assert.Equal("GroupNorm(3, 6, eps=1e-05, affine=True)", gn.ToString());
        Assert.Empty(new GroupNorm(2, 4, affine: false).Parameters());
        var x = U(16, -1, 1, 2, 6, 3);
        Assert.Equal(Functional.GroupNorm(x, 3).ToArray(), gn.Forward(x).ToArray());
    }

    [Fact]
    public void InstanceNorm2d_module()
    {
        var plain = new InstanceNorm2d(3);
        Assert.Empty(plain.StateDict());
        Assert.Equal("InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)", plain.ToString());
        var x = U(17, -1, 1, 2, 3, 4, 4);
        var batched = plain.Forward(x).ToArray();
        Assert.Equal(Functional.InstanceNorm(x).ToArray(), batched);
        var unbatched = plain.Forward(x.Reshape(6, 4, 4).Narrow(0, 0, 3)); // the first sample as (C, H, W)
        Shape([3, 4, 4], unbatched);
        Assert.Equal(batched[..48], unbatched.ToArray());
        plain.Eval();
        Assert.Equal(batched, plain.Forward(x).ToArray()); // no running statistics: always the instance's

        var tracked = new InstanceNorm2d(3, affine: true, trackRunningStats: true);
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], tracked.StateDict().Keys);
        tracked.Forward(x);
        var rm = tracked.RunningMean!.Data.ToArray();
        Assert.NotEqual([0f, 0f, 0f], rm);
        // PyTorch's _InstanceNorm registers num_batches_tracked and never increments it (its momentum is never None).
        Assert.Equal(0f, tracked.StateDict()["num_batches_tracked"].Item());
        tracked.Eval();
        var y = tracked.Forward(x);
        Assert.Equal(rm, tracked.RunningMean.Data.ToArray());
        Assert.Equal(Functional.BatchNorm(x, tracked.RunningMean, tracked.RunningVar, tracked.Weight, tracked.Bias).ToArray(), y.ToArray());
    }

    // ---- errors ---------------------------------------------------------------------------

    [Fact]
    public void LayerNorm_errors()
    {
        var e = Assert.Throws<ShapeException>(() => Functional.LayerNorm(Tensor.Zeros(2, 5), [8]));
        Assert.Equal("layer_norm: expected input of shape [*, 8] (ending in normalized_shape [8]); got [2, 5]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.LayerNorm(Tensor.Zeros(5), [2, 5]));
        Assert.Equal("layer_norm: expected input of shape [*, 2, 5] (ending in normalized_shape [2, 5]); got [5]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.LayerNorm(Tensor.Zeros(2, 5), [5], Tensor.Ones(4)));
        Assert.Equal("layer_norm: expected weight of shape [5] (normalized_shape); got [4]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.LayerNorm(Tensor.Zeros(2, 5), [5], null, Tensor.Ones(1, 5)));
        Assert.Equal("layer_norm: expected bias of shape [5] (normalized_shape); got [1, 5]", e.Message);
        var a = Assert.Throws<ArgumentException>(() => Functional.LayerNorm(Tensor.Zeros(2, 5), []));
        Assert.StartsWith("layer_norm: expected normalized_shape to have at least one dimension; got []", a.Message);

        e = Assert.Throws<ShapeException>(() => new LayerNorm(8).Forward(Tensor.Zeros(2, 5)));
        Assert.Equal("LayerNorm((8,)) expects input of shape (*, 8); got [2, 5]", e.Message);
        e = Assert.Throws<ShapeException>(() => new LayerNorm([3, 4]).Forward(Tensor.Zeros(2, 4, 3)));
        Assert.Equal("LayerNorm((3, 4)) expects input of shape (*, 3, 4); got [2, 4, 3]", e.Message);
        a = Assert.Throws<ArgumentException>(() => new LayerNorm([4, 0]));
        Assert.StartsWith("LayerNorm: expected a non-empty normalized_shape of positive sizes; got [4, 0]", a.Message);
    }

    [Fact]
    public void GroupNorm_errors()
    {
        var a = Assert.Throws<ArgumentException>(() => new GroupNorm(4, 6));
        Assert.StartsWith("num_channels must be divisible by num_groups", a.Message);
        Assert.Equal("numChannels", a.ParamName);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new GroupNorm(0, 6));
        Assert.StartsWith("GroupNorm: expected num_groups >= 1; got 0", r.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => Functional.GroupNorm(Tensor.Zeros(2, 6), -1));
        Assert.StartsWith("group_norm: expected num_groups >= 1; got -1", r.Message);

        var e = Assert.Throws<ShapeException>(() => Functional.GroupNorm(Tensor.Zeros(2, 6, 4), 4));
        Assert.Equal("group_norm: expected a number of channels divisible by num_groups = 4; got input of shape [2, 6, 4]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.GroupNorm(Tensor.Zeros(6), 2));
        Assert.Equal("group_norm: expected input of shape (N, C, *) with at least 2 dimensions; got [6]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.GroupNorm(Tensor.Zeros(2, 6), 2, Tensor.Ones(3)));
        Assert.Equal("group_norm: expected weight of shape [6] (one value per channel); got [3]", e.Message);
        e = Assert.Throws<ShapeException>(() => new GroupNorm(2, 6).Forward(Tensor.Zeros(2, 4, 3)));
        Assert.Equal("GroupNorm(2, 6) expects input of shape (N, 6, *); got [2, 4, 3]", e.Message);
    }

    [Fact]
    public void InstanceNorm_errors()
    {
        var e = Assert.Throws<ShapeException>(() => Functional.InstanceNorm(Tensor.Zeros(2, 3, 1, 1)));
        Assert.StartsWith("instance_norm: expected more than 1 spatial element when training; got input size [2, 3, 1, 1]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.InstanceNorm(Tensor.Zeros(3)));
        Assert.Equal("instance_norm: expected input of shape (N, C, *) with at least 2 dimensions; got [3]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.InstanceNorm(Tensor.Zeros(2, 3, 4), Tensor.Zeros(2)));
        Assert.Equal("instance_norm: expected running_mean of shape [3] (one value per channel); got [2]", e.Message);
        var a = Assert.Throws<ArgumentException>(() => Functional.InstanceNorm(Tensor.Zeros(2, 3, 4), null, Tensor.Ones(3), useInputStats: false));
        Assert.StartsWith("instance_norm: running_mean must be defined when useInputStats is false", a.Message);
        a = Assert.Throws<ArgumentException>(() => Functional.InstanceNorm(Tensor.Zeros(2, 3, 4), Tensor.Zeros(3), null, useInputStats: false));
        Assert.StartsWith("instance_norm: running_var must be defined when useInputStats is false", a.Message);

        e = Assert.Throws<ShapeException>(() => new InstanceNorm2d(3).Forward(Tensor.Zeros(2, 12)));
        Assert.Equal("InstanceNorm2d(3) expects input of shape (N, 3, H, W) or (3, H, W); got [2, 12]", e.Message);
        e = Assert.Throws<ShapeException>(() => new InstanceNorm2d(3, affine: true).Forward(Tensor.Zeros(2, 4, 2, 2)));
        Assert.Equal("InstanceNorm2d(3) expects input of shape (N, 3, H, W) or (3, H, W); got [2, 4, 2, 2]", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm2d(0));
        Assert.StartsWith("InstanceNorm2d: expected num_features >= 1; got 0", r.Message);
    }
}
