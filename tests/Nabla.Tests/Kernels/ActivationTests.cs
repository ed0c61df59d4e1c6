using Nabla.Kernels;

namespace Nabla.Tests.KernelsTests;

/// <summary>The fused sum and ReLU of a residual block: max(a + b, 0) element by element, whatever the size and split.</summary>
public class ActivationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(200_003)] // several chunks on the worker pool, a ragged last one
    public void AddRelu_is_the_clamped_sum(int n)
    {
        var a = Tensor.Randn([n], new Generator(1)).ToArray();
        var b = Tensor.Randn([n], new Generator(2)).ToArray();
        a[0] = float.NaN; // propagated, as torch.relu does
        var y = new float[n];
        Activation.AddRelu(a, b, y);
        Assert.True(float.IsNaN(y[0]));
        for (int i = 1; i < n; i++) Assert.Equal(Math.Max(a[i] + b[i], 0f), y[i]);
        // In place: y is a.
        var inPlace = (float[])a.Clone();
        Activation.AddRelu(inPlace, b, inPlace);
        Assert.Equal(y, inPlace);
    }

    [Fact]
    public void AddRelu_refuses_spans_of_different_lengths()
    {
        var e = Assert.Throws<ArgumentException>(() => Activation.AddRelu(new float[4], new float[3], new float[4]));
        Assert.Contains("4, 3 and 4", e.Message);
    }
}
