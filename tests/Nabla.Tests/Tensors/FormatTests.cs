using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.TensorsTests;

public class FormatTests
{
    [Fact]
    public void MatrixOneRowPerLine()
    {
        Assert.Equal("tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2])", T([1f, 2f, 3f, 4f], 2, 2).ToString());
    }

    [Fact]
    public void ScalarEmptyAndSpecialValues()
    {
        Assert.Equal("tensor(3.5000, shape=[])", Tensor.Scalar(3.5f).ToString());
        Assert.Equal("tensor([], shape=[0, 3])", Tensor.Zeros(0, 3).ToString());
        Assert.Equal("tensor([   nan,    inf,   -inf, 1.0000], shape=[4])",
            T([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f]).ToString());
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00], shape=[2])", T([1e-5f, 1f]).ToString());
    }

    [Fact]
    public void ColumnsAlignAndRank3UsesBlankLines()
    {
        Assert.Equal("tensor([-10.0000,   2.5000], shape=[2])", T([-10f, 2.5f]).ToString());
        var s = Tensor.Arange(8).Reshape(2, 2, 2).ToString();
        Assert.Equal("tensor([[[0.0000, 1.0000],\n         [2.0000, 3.0000]],\n\n        [[4.0000, 5.0000],\n         [6.0000, 7.0000]]], shape=[2, 2, 2])", s);
    }

    [Fact]
    public void BigTensorsAreSummarized()
    {
        var s = Tensor.Arange(2000).ToString();
        Assert.Equal("tensor([   0.0000,    1.0000,    2.0000, ..., 1997.0000, 1998.0000, 1999.0000], shape=[2000])", s);
        var m = Tensor.Zeros(100, 100).ToString();
        Assert.Contains("...,\n", m);
        Assert.EndsWith("shape=[100, 100])", m);
        Assert.True(m.Length < 1000);
    }

    [Fact]
    public void GradInformation()
    {
        var x = T([1f, 2f]).RequireGrad();
        Assert.EndsWith(", requires_grad=True)", x.ToString());
        Assert.EndsWith(", shape=[2], grad_fn=<mul>)", (x * x).ToString());
    }
}
