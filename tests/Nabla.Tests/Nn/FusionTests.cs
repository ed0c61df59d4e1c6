using Nabla.Nn;

namespace Nabla.Tests.NnTests;

/// <summary>Fused kernels must give exactly what the layers give one after the other.</summary>
public class FusionTests
{
    public static TheoryData<bool, bool> Modes => new() { { true, true }, { true, false }, { false, true } };

    [Theory]
    [MemberData(nameof(Modes))]
    public void Batch_norm_then_relu_in_a_sequential_equals_the_two_layers_apart(bool twoD, bool training)
    {
        int[] shape = twoD ? [4, 3, 5, 6] : [8, 5];
        var x = Tensor.Randn(shape, new Generator(1));
        BatchNormBase Bn() => twoD ? new BatchNorm2d(shape[1]) : new BatchNorm1d(shape[1]);
        var fusedBn = Bn();
        var plainBn = Bn();
        foreach (var bn in new[] { fusedBn, plainBn })
        {
            bn.Weight!.Data.Span.Fill(1.5f);
            bn.Bias!.Data.Span.Fill(0.25f);
            bn.Train(training);
        }
        var fused = new Sequential(fusedBn, new Relu());
        fused.Train(training);

        var x1 = x.Clone().RequireGrad();
        var x2 = x.Clone().RequireGrad();
        var y1 = fused.Forward(x1);
        var y2 = plainBn.Forward(x2).Relu();
        Assert.Equal("batch_norm_relu", y1.GradFnName);
        Assert.Equal(y2.ToArray(), y1.ToArray());

        var gy = Tensor.Randn(shape, new Generator(2));
        y1.Backward(gy);
        y2.Backward(gy);
        Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
        Assert.Equal(plainBn.Weight!.Grad!.ToArray(), fusedBn.Weight!.Grad!.ToArray());
        Assert.Equal(plainBn.Bias!.Grad!.ToArray(), fusedBn.Bias!.Grad!.ToArray());
        Assert.Equal(plainBn.RunningMean!.Data.ToArray(), fusedBn.RunningMean!.Data.ToArray());
        Assert.Equal(plainBn.RunningVar!.Data.ToArray(), fusedBn.RunningVar!.Data.ToArray());
    }

    [Fact]
    public void Fused_batch_norm_relu_passes_gradcheck()
    {
        var bn = new BatchNorm2d(2);
        var model = new Sequential(bn, new Relu());
        var x = Tensor.Randn([3, 2, 4, 4], new Generator(3)).RequireGrad();
        GradCheck.Run(xs => model.Forward(xs[0]), [x]).Check("batch_norm_relu");
    }

    [Fact]
    public void Linear_then_relu_in_a_sequential_equals_the_two_layers_apart()
    {
        var fusedLinear = new Linear(7, 5, generator: new Generator(4));
        var plain = new Linear(7, 5, generator: new Generator(4));
        var model = new Sequential(fusedLinear, new Relu());
        var x1 = Tensor.Randn([6, 7], new Generator(5)).RequireGrad();
        var x2 = x1.Detach().Clone().RequireGrad();
        var y1 = model.Forward(x1);
        var y2 = plain.Forward(x2).Relu();
        Assert.Equal("linear_relu", y1.GradFnName);
        Assert.Equal(y2.ToArray(), y1.ToArray());
        var gy = Tensor.Randn([6, 5], new Generator(6));
        y1.Backward(gy);
        y2.Backward(gy);
        Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
        Assert.Equal(plain.Weight.Grad!.ToArray(), fusedLinear.Weight.Grad!.ToArray());
        Assert.Equal(plain.Bias!.Grad!.ToArray(), fusedLinear.Bias!.Grad!.ToArray());
        GradCheck.Run(xs => model.Forward(xs[0]), [Tensor.Randn([3, 7], new Generator(7)).RequireGrad()]).Check("linear_relu");
    }

    public static TheoryData<int, int, bool> PoolCases => new()
    {
        { 8, 8, true }, { 5, 7, true }, { 28, 28, true }, { 6, 9, false }, { 14, 14, false },
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void Batch_norm_relu_max_pool_in_a_sequential_equals_the_three_layers_apart(int h, int w, bool training)
    {
        int[] shape = [3, 4, h, w];
        var x = Tensor.Randn(shape, new Generator(11));
        var fusedBn = new BatchNorm2d(4);
        var plainBn = new BatchNorm2d(4);
        foreach (var bn in new[] { fusedBn, plainBn })
        {
            bn.Weight!.Data.Span.Fill(1.25f);
            bn.Weight!.Data.Span[1] = -0.5f; // a negative scale flips which inputs survive the ReLU
            bn.Bias!.Data.Span.Fill(0.1f);
            bn.RunningMean!.Data.Span.Fill(0.2f);
            bn.RunningVar!.Data.Span.Fill(1.5f);
        }
        var fused = new Sequential(fusedBn, new Relu(), new MaxPool2d(2));
        fused.Train(training);
        plainBn.Train(training);

        var x1 = x.Clone().RequireGrad();
        var x2 = x.Clone().RequireGrad();
        var y1 = fused.Forward(x1);
        var y2 = Functional.MaxPool2d(plainBn.Forward(x2).Relu(), 2);
        Assert.Equal("batch_norm_relu_max_pool2d", y1.GradFnName);
        Assert.Equal(y2.Shape.ToArray(), y1.Shape.ToArray());
        Assert.Equal(y2.ToArray(), y1.ToArray());
        Assert.Equal(plainBn.RunningMean!.Data.ToArray(), fusedBn.RunningMean!.Data.ToArray());
        Assert.Equal(plainBn.RunningVar!.Data.ToArray(), fusedBn.RunningVar!.Data.ToArray());

        var gy = Tensor.Randn(y1.Shape.ToArray(), new Generator(12));
        y1.Backward(gy);
        y2.Backward(gy);
        // The same gradients up to the order of summation.
        TestUtil.Close(x2.Grad!.ToArray(), x1.Grad!, 1e-4f);
        TestUtil.Close(plainBn.Weight!.Grad!.ToArray(), fusedBn.Weight!.Grad!, 1e-4f);
        TestUtil.Close(plainBn.Bias!.Grad!.ToArray(), fusedBn.Bias!.Grad!, 1e-4f);
    }

    [Fact]
    public void Fused_batch_norm_relu_max_pool_passes_gradcheck_and_small_planes_are_not_fused()
    {
        var model = new Sequential(new BatchNorm2d(2), new Relu(), new MaxPool2d(2));
        var x = (Tensor.Randperm(2 * 2 * 6 * 6, new Generator(13)).Reshape(2, 2, 6, 6) * 0.05f).Detach().RequireGrad();
        GradCheck.Run(xs => model.Forward(xs[0]), [x]).Check("batch_norm_relu_max_pool2d");
        // A 3 x 3 plane is too small for the fused kernel: the layers run one by one (ReLU fused into batch norm).
        var small = model.Forward(Tensor.Randn([2, 2, 3, 3], new Generator(14)).RequireGrad());
        Assert.Equal("max_pool2d", small.GradFnName);
    }

    [Fact]
    public void A_model_shared_by_threads_gives_each_call_its_own_result()
    {
        // Fused and plain calls of the same layers at once: a fusion chosen by one call must not leak into another.
        var bn = new BatchNorm2d(3);
        bn.Eval();
        var linear = new Linear(12, 4, generator: new Generator(1));
        var fused = new Sequential(bn, new Relu(), new Flatten(), linear, new Relu());
        var x = Tensor.Randn([2, 3, 2, 2], new Generator(2));
        float[] expectedPlain, expectedFused;
        using (Autograd.NoGrad())
        {
            expectedPlain = linear.Forward(bn.Forward(x).Flatten(1)).ToArray();
            expectedFused = fused.Forward(x).ToArray();
        }
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var _ = Autograd.NoGrad();
            if (i % 2 == 0) Assert.Equal(expectedFused, fused.Forward(x).ToArray());
            else Assert.Equal(expectedPlain, linear.Forward(bn.Forward(x).Flatten(1)).ToArray());
        });
    }
}
