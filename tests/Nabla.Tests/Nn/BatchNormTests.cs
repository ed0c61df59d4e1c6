using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.NnTests;

public class BatchNormTests
{
    static Tensor G(ulong seed, float lo, float hi, params int[] shape) => U(seed, lo, hi, shape).RequireGrad();

    [Fact]
    public void Training_by_hand()
    {
        // channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3)
        // channel 1: 10, 10, 14, 14 (mean 12, biased var 4, unbiased 16/3)
        var x = T([1, 10, 2, 10, 3, 14, 4, 14], 4, 2);
        var rm = T([0f, 1f]);
        var rv = T([1f, 2f]);
        var y = Functional.BatchNorm(x, rm, rv, T([2f, 1f]), T([0.5f, -1f]), training: true);
        double s0 = Math.Sqrt(1.25 + 1e-5), s1 = Math.Sqrt(4 + 1e-5);
        NormReference.AssertClose([
            -1.5 / s0 * 2 + 0.5, -2 / s1 - 1, -0.5 / s0 * 2 + 0.5, -2 / s1 - 1,
            0.5 / s0 * 2 + 0.5, 2 / s1 - 1, 1.5 / s0 * 2 + 0.5, 2 / s1 - 1], y);
        // running = 0.9 running + 0.1 batch, with the unbiased variance
        NormReference.AssertClose([0.1 * 2.5, 0.9 * 1 + 0.1 * 12], rm, 1e-6);
        NormReference.AssertClose([0.9 * 1 + 0.1 * 5.0 / 3, 0.9 * 2 + 0.1 * 16.0 / 3], rv, 1e-6);
    }

    [Fact]
    public void Eval_is_the_affine_map_with_running_statistics_and_updates_nothing()
    {
        var x = U(1, -3, 3, 5, 3, 4, 5);
        var rm = T([0.5f, -1f, 2f]);
        var rv = T([0.25f, 4f, 1f]);
        float[] gamma = [1.5f, -0.5f, 2f], beta = [0.1f, 0.2f, -0.3f];
        var y = Functional.BatchNorm(x, rm, rv, T(gamma), T(beta), training: false, momentum: 0.5);
        var expected = new double[x.Numel];
        for (int i = 0; i < expected.Length; i++)
        {
            int c = i / 20 % 3;
            expected[i] = (x.Data[i] - rm.Data[c]) / Math.Sqrt(rv.Data[c] + 1e-5) * gamma[c] + beta[c];
        }
        NormReference.AssertClose(expected, y);
        Assert.Equal([0.5f, -1f, 2f], rm.ToArray());
        Assert.Equal([0.25f, 4f, 1f], rv.ToArray());
    }

    public static TheoryData<int[]> Shapes() => new()
    {
        { [6, 3] },            // (N, C): row-vectorized path
        { [4, 3, 5] },         // (N, C, L) with short runs
        { [3, 4, 4, 5] },      // (N, C, H, W): channel-by-channel path
        { [8, 16, 16, 17] },   // large enough to share among threads
        { [2, 3, 4099] },      // runs longer than one summation block
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Training_forward_backward_and_running_statistics_match_the_reference(int[] shape)
    {
        int n = shape[0], c = shape[1], s = Tensor.Zeros(shape).Numel / (n * c);
        var x = U(3, -2, 4, shape).RequireGrad();
        var w = G(4, 0.5f, 1.5f, c);
        var b = G(5, -1, 1, c);
        var rm = U(6, -1, 1, c);
        var rv = U(7, 0.5f, 2, c);
        float[] rm0 = rm.ToArray(), rv0 = rv.ToArray();
        var y = Functional.BatchNorm(x, rm, rv, w, b, training: true, momentum: 0.3);
        var reference = NormReference.Batch(n, c, s);
        NormReference.AssertClose(reference.Forward(x.ToArray(), w.ToArray(), b.ToArray(), 1e-5), y, what: "output");
        long m = (long)n * s;
        var expectedRm = new double[c];
        var expectedRv = new double[c];
        for (int k = 0; k < c; k++)
        {
            expectedRm[k] = 0.7 * rm0[k] + 0.3 * reference.Mean[k];
            expectedRv[k] = 0.7 * rv0[k] + 0.3 * reference.Var[k] * m / (m - 1);
        }
        NormReference.AssertClose(expectedRm, rm, what: "running_mean");
        NormReference.AssertClose(expectedRv, rv, what: "running_var");

        var dy = U(8, -1, 1, shape);
        y.Backward(dy);
        var (dx, dg, db) = reference.Backward(x.ToArray(), dy.ToArray(), w.ToArray(), 1e-5, c);
        NormReference.AssertClose(dx, x.Grad!, 1e-4, 1e-3, "dx");
        NormReference.AssertClose(dg, w.Grad!, 1e-4, 1e-3, "dgamma");
        NormReference.AssertClose(db, b.Grad!, 1e-4, 1e-3, "dbeta");
    }

    [Fact]
    public void Parallel_and_serial_results_are_bitwise_equal()
    {
        var x = U(11, -2, 2, 8, 16, 16, 17);
        var dy = U(12, -1, 1, 8, 16, 16, 17);
        (float[] Y, float[] Dx, float[] Rv) Run()
        {
            var xi = x.Clone().RequireGrad();
            var w = Tensor.Ones(16).RequireGrad();
            var rv = Tensor.Ones(16);
            var y = Functional.BatchNorm(xi, Tensor.Zeros(16), rv, w, null, training: true);
            y.Backward(dy);
            return (y.ToArray(), xi.Grad!.ToArray(), rv.ToArray());
        }
        int saved = Threading.NumThreads;
        try
        {
            Threading.NumThreads = 1;
            var serial = Run();
            Threading.NumThreads = 4;
            var parallel = Run();
            Assert.Equal(serial.Y, parallel.Y);
            Assert.Equal(serial.Dx, parallel.Dx);
            Assert.Equal(serial.Rv, parallel.Rv);
        }
        finally { Threading.NumThreads = saved; }
    }

    [Fact]
    public void A_large_mean_does_not_cancel_the_variance()
    {
        // E[x^2] - E[x]^2 in float would lose every digit here; two passes keep them
        var v = new float[64];
        for (int i = 0; i < v.Length; i++) v[i] = 10000f + (i % 2 == 0 ? -1 : 1) * (1 + i % 5 * 0.25f);
        var x = T(v, 16, 2, 2);
        var y = Functional.BatchNorm(x, null, null, training: true, eps: 0);
        NormReference.AssertClose(NormReference.Batch(16, 2, 2).Forward(v, null, null, 0), y, 1e-4, 1e-4);
    }

    sealed record Case(Func<Tensor[], Tensor> F, Tensor[] Inputs);

    static readonly Tensor Rm3 = T([0.2f, -0.3f, 0.1f]), Rv3 = T([0.8f, 1.5f, 2f]);

    // running statistics are fresh copies inside f: GradCheck calls f many times
    public static TheoryData<string> GradCases() => [.. GradCheckCases.Keys];

    static readonly Dictionary<string, Case> GradCheckCases = new()
    {
        ["train affine (N, C)"] = new(t => Functional.BatchNorm(t[0], Rm3.Clone(), Rv3.Clone(), t[1], t[2], training: true),
            [G(1, -2, 2, 5, 3), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["train no affine (N, C)"] = new(t => Functional.BatchNorm(t[0], null, null, training: true), [G(1, -2, 2, 5, 3)]),
        ["train affine (N, C, L)"] = new(t => Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true),
            [G(4, -2, 2, 2, 3, 3), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["train affine (N, C, H, W)"] = new(t => Functional.BatchNorm(t[0], Rm3.Clone(), Rv3.Clone(), t[1], t[2], training: true),
            [G(5, -2, 2, 2, 3, 4, 4), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["train no affine (N, C, H, W)"] = new(t => Functional.BatchNorm(t[0], null, null, training: true), [G(6, -2, 2, 2, 3, 4, 4)]),
        ["train weight only"] = new(t => Functional.BatchNorm(t[0], null, null, t[1], training: true),
            [G(5, -2, 2, 2, 3, 4, 4), G(2, 0.5f, 1.5f, 3)]),
        ["eval affine (N, C)"] = new(t => Functional.BatchNorm(t[0], Rm3, Rv3, t[1], t[2], training: false),
            [G(1, -2, 2, 5, 3), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["eval affine (N, C, H, W)"] = new(t => Functional.BatchNorm(t[0], Rm3, Rv3, t[1], t[2], training: false),
            [G(5, -2, 2, 2, 3, 4, 4), G(2, 0.5f, 1.5f, 3), G(3, -1, 1, 3)]),
        ["eval no affine"] = new(t => Functional.BatchNorm(t[0], Rm3, Rv3, training: false), [G(5, -2, 2, 2, 3, 4, 4)]),
        ["module BatchNorm1d train"] = new(t => Module1d().Forward(t[0]), [G(7, -2, 2, 4, 3)]),
        ["module BatchNorm1d eval"] = new(t => Module1d().Eval().Forward(t[0]), [G(7, -2, 2, 4, 3, 2)]),
        ["module BatchNorm2d train"] = new(t => new BatchNorm2d(3).Forward(t[0]), [G(8, -2, 2, 2, 3, 4, 4)]),
        ["module BatchNorm2d no affine"] = new(t => new BatchNorm2d(3, affine: false).Forward(t[0]), [G(8, -2, 2, 2, 3, 4, 4)]),
    };

    static BatchNorm1d Module1d()
    {
        var m = new BatchNorm1d(3);
        Rm3.Data.CopyTo(m.RunningMean!.Data.Span);
        Rv3.Data.CopyTo(m.RunningVar!.Data.Span);
        return m;
    }

    [Theory]
    [MemberData(nameof(GradCases))]
    public void Gradients_agree_with_finite_differences(string name)
    {
        var c = GradCheckCases[name];
        GradCheck.Run(c.F, c.Inputs).Check(name);
    }

    [Fact]
    public void Module_parameter_gradients_agree_with_finite_differences()
    {
        // gamma and beta of the module, through the functional form with the module's tensors
        var x = U(9, -2, 2, 3, 2, 4, 4);
        var bn = new BatchNorm2d(2);
        Assert.NotNull(bn.Weight);
        GradCheck.Run(t => Functional.BatchNorm(x, null, null, t[0], t[1], training: true),
            [G(10, 0.5f, 1.5f, 2), G(11, -1, 1, 2)]).Check("gamma, beta");
        var y = bn.Forward(x);
        (y * U(12, -1, 1, 3, 2, 4, 4)).Sum().Backward();
        Assert.NotNull(bn.Weight!.Grad);
        Assert.NotNull(bn.Bias!.Grad);
    }

    [Fact]
    public void Module_buffers_track_the_running_statistics()
    {
        var bn = new BatchNorm1d(2, momentum: 0.1);
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
        Assert.Equal([0f, 0f], bn.RunningMean!.Data.ToArray());
        Assert.Equal([1f, 1f], bn.RunningVar!.Data.ToArray());
        Assert.Equal(0, bn.NumBatchesTracked!.Data.Rank);
        var x = T([1, 10, 2, 10, 3, 14, 4, 14], 4, 2);
        bn.Forward(x);
        bn.Forward(x);
        Assert.Equal(2f, bn.NumBatchesTracked.Data.Item());
        // two updates toward the same batch: 1 - 0.9^2 of the way
        NormReference.AssertClose([0.19 * 2.5, 0.19 * 12], bn.RunningMean.Data, 1e-6);
        NormReference.AssertClose([0.81 + 0.19 * 5.0 / 3, 0.81 + 0.19 * 16.0 / 3], bn.RunningVar.Data, 1e-6);

        bn.Eval();
        float[] rm = bn.RunningMean.Data.ToArray(), rv = bn.RunningVar.Data.ToArray();
        var y = bn.Forward(x);
        Assert.Equal(rm, bn.RunningMean.Data.ToArray());
        Assert.Equal(rv, bn.RunningVar.Data.ToArray());
        Assert.Equal(2f, bn.NumBatchesTracked.Data.Item());
        var expected = new double[8];
        for (int i = 0; i < 8; i++) expected[i] = (x.Data[i] - rm[i % 2]) / Math.Sqrt(rv[i % 2] + 1e-5);
        NormReference.AssertClose(expected, y);

        bn.ResetRunningStats();
        Assert.Equal([0f, 0f], bn.RunningMean.Data.ToArray());
        Assert.Equal([1f, 1f], bn.RunningVar.Data.ToArray());
        Assert.Equal(0f, bn.NumBatchesTracked.Data.Item());
    }

    [Fact]
    public void Momentum_null_gives_the_cumulative_average()
    {
        var bn = new BatchNorm1d(1, momentum: null);
        bn.Forward(T([1f, 3f], 2, 1));   // mean 2, unbiased var 2; factor 1/1
        bn.Forward(T([5f, 11f], 2, 1));  // mean 8, unbiased var 18; factor 1/2
        bn.Forward(T([0f, 2f], 2, 1));   // mean 1, unbiased var 2; factor 1/3
        NormReference.AssertClose([(2 + 8 + 1) / 3.0], bn.RunningMean!.Data, 1e-6);
        NormReference.AssertClose([(2 + 18 + 2) / 3.0], bn.RunningVar!.Data, 1e-6);
        Assert.Equal(3f, bn.NumBatchesTracked!.Data.Item());
    }

    [Fact]
    public void Without_running_statistics_evaluation_uses_the_batch()
    {
        var bn = new BatchNorm2d(3, trackRunningStats: false);
        Assert.Equal(["weight", "bias"], bn.StateDict().Keys);
        Assert.Null(bn.RunningMean);
        var x = U(13, -1, 3, 2, 3, 4, 4);
        var train = bn.Forward(x).ToArray();
        Assert.Equal(train, bn.Eval().Forward(x).ToArray());
        NormReference.AssertClose(NormReference.Batch(2, 3, 16).Forward(x.ToArray(), null, null, 1e-5), bn.Forward(x));
    }

    [Fact]
    public void Without_affine_there_are_no_parameters()
    {
        var bn = new BatchNorm2d(4, affine: false);
        Assert.Empty(bn.Parameters());
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.StateDict().Keys);
        Assert.Null(bn.Weight);
    }

    [Fact]
    public void Printed_like_PyTorch()
    {
        Assert.Equal("BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", new BatchNorm2d(32).ToString());
        Assert.Equal("BatchNorm1d(8, eps=0.001, momentum=None, affine=False, track_running_stats=False)",
            new BatchNorm1d(8, eps: 1e-3, momentum: null, affine: false, trackRunningStats: false).ToString());
    }

    // ---- errors ---------------------------------------------------------------------------

    [Fact]
    public void BatchNorm2d_rejects_a_wrong_rank_or_channel_count()
    {
        var bn = new BatchNorm2d(32);
        var e = Assert.Throws<ShapeException>(() => bn.Forward(Tensor.Zeros(8, 3, 28, 28)));
        Assert.Equal("BatchNorm2d(32) expects input of shape (N, 32, H, W); got [8, 3, 28, 28]", e.Message);
        e = Assert.Throws<ShapeException>(() => bn.Forward(Tensor.Zeros(8, 32)));
        Assert.Equal("BatchNorm2d(32) expects input of shape (N, 32, H, W); got [8, 32]", e.Message);
    }

    [Fact]
    public void BatchNorm1d_rejects_a_wrong_rank_or_channel_count()
    {
        var bn = new BatchNorm1d(5);
        var e = Assert.Throws<ShapeException>(() => bn.Forward(Tensor.Zeros(4, 5, 2, 2)));
        Assert.Equal("BatchNorm1d(5) expects input of shape (N, 5) or (N, 5, L); got [4, 5, 2, 2]", e.Message);
        e = Assert.Throws<ShapeException>(() => bn.Forward(Tensor.Zeros(4, 6)));
        Assert.Equal("BatchNorm1d(5) expects input of shape (N, 5) or (N, 5, L); got [4, 6]", e.Message);
    }

    [Fact]
    public void Training_with_one_value_per_channel_is_an_error()
    {
        var e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(1, 5), null, null, training: true));
        Assert.StartsWith("batch_norm: expected more than 1 value per channel when training; got input size [1, 5]", e.Message);
        Assert.Contains("hint:", e.Message, StringComparison.Ordinal);
        // evaluation of a single sample is fine
        Functional.BatchNorm(Tensor.Zeros(1, 5), Tensor.Zeros(5), Tensor.Ones(5), training: false);

        var bn = new BatchNorm2d(3);
        e = Assert.Throws<ShapeException>(() => bn.Forward(Tensor.Zeros(1, 3, 1, 1)));
        Assert.StartsWith("BatchNorm2d(3) expects more than 1 value per channel when training; got input size [1, 3, 1, 1]", e.Message);
        Assert.Equal(0f, bn.NumBatchesTracked!.Data.Item()); // the failed call counted nothing
        bn.Forward(Tensor.Zeros(1, 3, 2, 1)); // one sample but two positions: fine
    }

    [Fact]
    public void Evaluation_needs_running_statistics()
    {
        var e = Assert.Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), null, Tensor.Ones(3)));
        Assert.StartsWith("batch_norm: running_mean must be defined in evaluation mode", e.Message);
        e = Assert.Throws<ArgumentException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), Tensor.Zeros(3), null));
        Assert.StartsWith("batch_norm: running_var must be defined in evaluation mode", e.Message);
    }

    [Fact]
    public void Functional_checks_shapes()
    {
        var e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(4), null, null, training: true));
        Assert.Equal("batch_norm: expected input of shape (N, C, *) with at least 2 dimensions; got [4]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), Tensor.Zeros(4), Tensor.Ones(3)));
        Assert.Equal("batch_norm: expected running_mean of shape [3] (one value per channel); got [4]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), Tensor.Zeros(3), Tensor.Ones(3, 1)));
        Assert.Equal("batch_norm: expected running_var of shape [3] (one value per channel); got [3, 1]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), null, null, Tensor.Ones(2), training: true));
        Assert.Equal("batch_norm: expected weight of shape [3] (one value per channel); got [2]", e.Message);
        e = Assert.Throws<ShapeException>(() => Functional.BatchNorm(Tensor.Zeros(2, 3), null, null, null, Tensor.Ones(5), training: true));
        Assert.Equal("batch_norm: expected bias of shape [3] (one value per channel); got [5]", e.Message);
    }

    [Fact]
    public void Num_features_must_be_positive()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(0));
        Assert.StartsWith("BatchNorm2d: expected num_features >= 1; got 0", e.Message);
        Assert.Equal("numFeatures", e.ParamName);
    }

    [Fact]
    public void The_module_path_prefixes_errors()
    {
        var net = new Sequential(new BatchNorm2d(4));
        var e = Assert.Throws<ShapeException>(() => net.Forward(Tensor.Zeros(2, 3, 4, 4)));
        Assert.Equal("0: BatchNorm2d(4) expects input of shape (N, 4, H, W); got [2, 3, 4, 4]", e.Message);
    }
}
