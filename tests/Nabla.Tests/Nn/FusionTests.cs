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
}
