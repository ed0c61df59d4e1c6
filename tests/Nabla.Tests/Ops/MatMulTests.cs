using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class MatMulTests
{
    static Tensor R(params int[] shape) => Tensor.Arange(Tensor.Zeros(shape).Numel).Reshape(shape);

    /// <summary>A float64 reference for (..., m, k) x (..., k, n) with broadcast batches.</summary>
    static float[] Reference(Tensor a, Tensor b, int[] batch)
    {
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        var ae = a.Expand([.. batch, m, k]).ToArray();
        var be = b.Expand([.. batch, k, n]).ToArray();
        int count = ae.Length / (m * k);
        var r = new float[count * m * n];
        for (int t = 0; t < count; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)ae[t * m * k + i * k + p] * be[t * k * n + p * n + j];
                    r[t * m * n + i * n + j] = (float)s;
                }
        return r;
    }

    [Fact]
    public void MatrixTimesMatrix()
    {
        var a = T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = T([7f, 8f, 9f, 10f, 11f, 12f], 3, 2);
        var y = a.MatMul(b);
        Shape([2, 2], y);
        Close([58f, 64f, 139f, 154f], y);
    }

    [Fact]
    public void VectorPromotion()
    {
        var v = T([1f, 2f, 3f]);
        var m = R(3, 2); // [[0, 1], [2, 3], [4, 5]]
        var dot = v.MatMul(v);
        Shape([], dot);
        Close([14f], dot);
        var vm = v.MatMul(m);
        Shape([2], vm);
        Close([16f, 22f], vm);
        var mv = m.T.MatMul(v);
        Shape([2], mv);
        Close([16f, 22f], mv);
        var bv = R(4, 2, 3).MatMul(v); // batched matrix x vector
        Shape([4, 2], bv);
        var vb = v.MatMul(R(4, 3, 2)); // vector x batched matrix
        Shape([4, 2], vb);
        Close(Reference(T([1f, 2f, 3f], 1, 3), R(4, 3, 2), [4]), vb);
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4 }, new[] { 4, 5 }, new[] { 2 })]          // folded: batched x matrix
    [InlineData(new[] { 3, 4 }, new[] { 2, 4, 5 }, new[] { 2 })]          // matrix x batched
    [InlineData(new[] { 2, 1, 3, 4 }, new[] { 3, 4, 5 }, new[] { 2, 3 })] // both broadcast
    [InlineData(new[] { 1, 3, 4 }, new[] { 2, 4, 5 }, new[] { 2 })]
    public void BatchedBroadcastMatchesReference(int[] sa, int[] sb, int[] batch)
    {
        var a = U(1, -1, 1, sa);
        var b = U(2, -1, 1, sb);
        var y = a.MatMul(b);
        Shape([.. batch, sa[^2], sb[^1]], y);
        Close(Reference(a, b, batch), y, 1e-5f);
    }

    [Fact]
    public void EmptyInnerDimensionGivesZeros()
    {
        var y = Tensor.Ones(2, 0).MatMul(Tensor.Ones(0, 3));
        Shape([2, 3], y);
        Close([0f, 0f, 0f, 0f, 0f, 0f], y);
        Shape([0, 3], Tensor.Ones(0, 4).MatMul(Tensor.Ones(4, 3)));
    }

    [Fact]
    public void InnerMismatchNamesBothShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Zeros(64, 1568).MatMul(Tensor.Zeros(6272, 10)));
        Assert.StartsWith("matmul: expected inner dimensions to match; got [64, 1568] and [6272, 10]", e.Message);
        Assert.Contains("hint:", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(3).MatMul(Tensor.Zeros(4)));
        Assert.Contains("[3] and [4]", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Zeros(2, 3, 4).MatMul(Tensor.Zeros(5, 4, 6)));
        Assert.Contains("batch", e.Message);
        Assert.Contains("[2, 3, 4] and [5, 4, 6]", e.Message);
        e = Assert.Throws<ShapeException>(() => Tensor.Scalar(1f).MatMul(Tensor.Zeros(1)));
        Assert.Contains("matmul", e.Message);
    }

    [Fact]
    public void BroadcastBatchGradientIsSummed()
    {
        var a = U(1, -1, 1, 3, 4).RequireGrad();
        var b = U(2, -1, 1, 2, 4, 5).RequireGrad();
        a.MatMul(b).Sum().Backward();
        // d/da sum(a b_t) = sum_t 1 b_t^T, i.e. the row sums of b_0 + b_1, repeated per row of a
        var bs = b.Detach().Sum([0, 2]).ToArray();
        var ga = a.Grad!.ToArray();
        for (int i = 0; i < 3; i++)
            for (int p = 0; p < 4; p++) Assert.Equal(bs[p], ga[i * 4 + p], 4);
    }
}
