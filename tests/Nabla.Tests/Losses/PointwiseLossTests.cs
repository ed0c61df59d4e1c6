using Nabla.Losses;
using Nabla.Nn;
using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.LossTests;

/// <summary>Point-wise losses: values computed by hand (d = input - target = [1, 0, -2, 0.5]), stability, gradients.</summary>
public class PointwiseLossTests
{
    static readonly Tensor X = T([1f, 2f, 3f, 4f], 2, 2);
    static readonly Tensor Y = T([0f, 2f, 5f, 3.5f], 2, 2);

    static float[] InputGrad(Func<Tensor, Tensor> loss, Tensor x)
    {
        var t = x.Clone().RequireGrad();
        loss(t).Backward();
        return t.Grad!.ToArray();
    }

    [Fact]
    public void L1_loss_each_reduction()
    {
        Assert.Equal(0.875f, Loss.L1Loss(X, Y).Item());
        Assert.Equal(3.5f, Loss.L1Loss(X, Y, Reduction.Sum).Item());
        var none = Loss.L1Loss(X, Y, Reduction.None);
        Shape([2, 2], none);
        Assert.Equal([1f, 0f, 2f, 0.5f], none.ToArray());
        // sign(d) / numel, with sign(0) = 0
        Assert.Equal([0.25f, 0f, -0.25f, 0.25f], InputGrad(x => Loss.L1Loss(x, Y), X));
    }

    [Fact]
    public void Mse_loss_each_reduction()
    {
        Assert.Equal(1.3125f, Loss.MseLoss(X, Y).Item());
        Assert.Equal(5.25f, Loss.MseLoss(X, Y, Reduction.Sum).Item());
        Assert.Equal([1f, 0f, 4f, 0.25f], Loss.MseLoss(X, Y, Reduction.None).ToArray());
        Assert.Equal([0.5f, 0f, -1f, 0.25f], InputGrad(x => Loss.MseLoss(x, Y), X)); // 2 d / 4
    }

    [Fact]
    public void Smooth_l1_and_huber_losses()
    {
        // beta = 1: 0.5 d^2 inside, |d| - 0.5 outside
        Assert.Equal([0.5f, 0f, 1.5f, 0.125f], Loss.SmoothL1Loss(X, Y, Reduction.None).ToArray());
        // beta = 0.5: |d| = 0.5 is on the linear side (|d| < beta is quadratic)
        Assert.Equal([0.75f, 0f, 1.75f, 0.25f], Loss.SmoothL1Loss(X, Y, Reduction.None, beta: 0.5).ToArray());
        Assert.Equal(2.75f, Loss.SmoothL1Loss(X, Y, Reduction.Sum, beta: 0.5).Item());
        Assert.Equal(Loss.L1Loss(X, Y).Item(), Loss.SmoothL1Loss(X, Y, beta: 0).Item());
        Assert.Equal([0.25f, 0f, -0.25f, 0.125f], InputGrad(x => Loss.SmoothL1Loss(x, Y), X));
        Assert.Equal([0.25f, 0f, -0.25f, 0.25f], InputGrad(x => Loss.SmoothL1Loss(x, Y, beta: 0), X));
        // delta = 1.5: 0.5 d^2 inside, 1.5 (|d| - 0.75) outside
        Assert.Equal([0.5f, 0f, 1.875f, 0.125f], Loss.HuberLoss(X, Y, Reduction.None, delta: 1.5).ToArray());
        Assert.Equal(0.625f, Loss.HuberLoss(X, Y, delta: 1.5).Item());
        Assert.Equal([0.25f, 0f, -0.375f, 0.125f], InputGrad(x => Loss.HuberLoss(x, Y, delta: 1.5), X)); // clamp(d) / 4
        // Huber(delta) = delta * SmoothL1(beta = delta)
        var a = U(1, -3, 3, 10);
        var b = U(2, -3, 3, 10);
        Close(Loss.HuberLoss(a, b, Reduction.None, 0.7).ToArray(),
              Loss.SmoothL1Loss(a, b, Reduction.None, 0.7) * 0.7f, 1e-6f);
    }

    [Fact]
    public void Bce_values_and_its_clamped_logs()
    {
        // -log 0.9 and -log 0.8
        Close([0.10536051565782628f, 0.2231435513142097f], Loss.BinaryCrossEntropy(T([0.9f, 0.2f]), T([1f, 0f]), Reduction.None));
        Assert.Equal(0.164252033486018f, Loss.BinaryCrossEntropy(T([0.9f, 0.2f]), T([1f, 0f])).Item(), 6);
        // log(0) is clamped at -100, so a confidently wrong probability costs 100 and stays finite
        Assert.Equal([100f, 100f, 0f, 0f],
            Loss.BinaryCrossEntropy(T([0f, 1f, 0f, 1f]), T([1f, 0f, 0f, 1f]), Reduction.None).ToArray());
        var g = InputGrad(x => Loss.BinaryCrossEntropy(x, T([1f, 0f]), Reduction.Sum), T([0f, 1f]));
        Assert.Equal([-1e12f, 1e12f], g); // (x - y) / max(x (1 - x), 1e-12), PyTorch's
        // soft targets: (x - y) / (x (1 - x))
        Close([(0.3f - 0.6f) / (0.3f * 0.7f)], Tensor.FromArray(InputGrad(x => Loss.BinaryCrossEntropy(x, T([0.6f]), Reduction.Sum), T([0.3f]))));
    }

    [Fact]
    public void Bce_with_logits_is_stable_and_matches_bce_of_the_sigmoid()
    {
        var x = U(3, -4, 4, 3, 5);
        var y = Tensor.Rand([3, 5], new Generator(4));
        Close(Loss.BinaryCrossEntropy(x.Sigmoid(), y, Reduction.None).ToArray(),
              Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None), 1e-5f);
        // 100 with y = 0 costs 100 (not log(0)); log(1 + e^-30) keeps its digits; 0 with y = 0.5 is log 2
        var logits = T([100f, -100f, 30f, 0f]);
        var targets = T([0f, 1f, 1f, 0.5f]);
        var l = Loss.BinaryCrossEntropyWithLogits(logits, targets, Reduction.None).ToArray();
        Assert.Equal(100f, l[0]);
        Assert.Equal(100f, l[1]);
        Assert.Equal(9.357622968839737e-14, l[2], 1e-19);
        Assert.Equal(0.6931472f, l[3], 6);
        // gradient sigma(x) - y
        Close([1f, -1f, -9.357623e-14f, 0f], Tensor.FromArray(InputGrad(v => Loss.BinaryCrossEntropyWithLogits(v, targets, Reduction.Sum), logits)));
    }

    [Fact]
    public void Bce_with_logits_pos_weight_scales_the_positive_term()
    {
        // p y softplus(-x) + (1 - y) softplus(x) at x = 0.5, p = 3, y = 1, 0, 0.3 (Python)
        var x = T([0.5f, 0.5f, 0.5f], 1, 3);
        var y = T([1f, 0f, 0.3f], 1, 3);
        var l = Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None, T([3f, 3f, 3f]));
        Close([1.4222309525403201f, 0.9740769841801067f, 1.1085231746881707f], l, 1e-6f);
        // one weight per column; [1] broadcasts to all
        var per = Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None, T([3f, 1f, 1f])).ToArray();
        Assert.Equal(1.4222310f, per[0], 6);
        Assert.Equal(Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None).Data[2], per[2]);
        Assert.Equal(l.ToArray(), Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None, T([3f])).ToArray());
    }

    [Fact]
    public void Mean_of_an_empty_input_is_nan_and_sum_is_zero()
    {
        var e = Tensor.Zeros(0, 3);
        Assert.True(float.IsNaN(Loss.MseLoss(e, e).Item()));
        Assert.Equal(0f, Loss.L1Loss(e, e, Reduction.Sum).Item());
        Shape([0, 3], Loss.HuberLoss(e, e, Reduction.None));
    }

    [Fact]
    public void Loss_objects_forward_to_the_functional_forms()
    {
        var x = U(5, 0.1f, 0.9f, 4, 3);
        var y = Tensor.Rand([4, 3], new Generator(6));
        Assert.Equal(Loss.L1Loss(x, y).Item(), new L1Loss().Forward(x, y).Item());
        Assert.Equal(Loss.MseLoss(x, y, Reduction.Sum).Item(), new MseLoss(Reduction.Sum).Forward(x, y).Item());
        Assert.Equal(Loss.SmoothL1Loss(x, y, beta: 0.1).Item(), new SmoothL1Loss(beta: 0.1).Forward(x, y).Item());
        Assert.Equal(Loss.HuberLoss(x, y, delta: 0.1).Item(), new HuberLoss(delta: 0.1).Forward(x, y).Item());
        Assert.Equal(Loss.BinaryCrossEntropy(x, y).Item(), new BceLoss().Forward(x, y).Item());
        var pw = T([1f, 2f, 3f]);
        Assert.Equal(Loss.BinaryCrossEntropyWithLogits(x, y, Reduction.None, pw).ToArray(),
            new BceWithLogitsLoss(Reduction.None, pw).Forward(x, y).ToArray());
        Assert.Equal(Reduction.None, new BceWithLogitsLoss(Reduction.None).Reduction);
        Assert.Equal("MseLoss()", new MseLoss().ToString());
    }
}
