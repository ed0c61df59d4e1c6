using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class ShapeOpsTests
{
    static Tensor R(params int[] shape) => Tensor.Arange(Tensor.Zeros(shape).Numel).Reshape(shape);

    [Fact]
    public void FlattenSqueezeUnsqueeze()
    {
        var x = R(2, 3, 4);
        Shape([24], x.Flatten());
        Shape([2, 12], x.Flatten(1));
        Shape([6, 4], x.Flatten(0, 1));
        Shape([1], Tensor.Scalar(3f).Flatten());
        var y = R(1, 3, 1);
        Shape([3], y.Squeeze());
        Shape([3, 1], y.Squeeze(0));
        Shape([1, 3, 1], y.Squeeze(1)); // size 3: unchanged, as PyTorch
        Shape([1, 3], y.Squeeze(-1));
        Shape([1, 2, 3, 4], x.Unsqueeze(0));
        Shape([2, 3, 4, 1], x.Unsqueeze(-1));
        Shape([2, 3, 1, 4], x.Unsqueeze(2));
        Close([0f, 1f, 2f], y.Squeeze());
    }

    [Fact]
    public void PermuteAndTranspose()
    {
        var x = R(2, 3, 4);
        var p = x.Permute(2, 0, 1);
        Shape([4, 2, 3], p);
        // p[k, i, j] = x[i, j, k] = 12 i + 4 j + k
        var pv = p.ToArray();
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(12 * i + 4 * j + k, pv[k * 6 + i * 3 + j]);
        Close([0f, 3f, 1f, 4f, 2f, 5f], R(2, 3).T);
        Close(R(2, 3, 4).ToArray(), x.Permute(1, 0, 2).Permute(1, 0, 2));
        Close(x.ToArray(), x.Transpose(0, 2).Transpose(-1, 0));
        Shape([3], R(3).T);
    }

    [Fact]
    public void LargeTransposeUsesTilesCorrectly()
    {
        // Big enough for the tiled path, with sizes that are not multiples of the tile.
        var x = R(3, 70, 45);
        var y = x.Transpose(1, 2);
        var xv = x.ToArray(); var yv = y.ToArray();
        for (int b = 0; b < 3; b++)
            for (int i = 0; i < 70; i++)
                for (int j = 0; j < 45; j++)
                    Assert.Equal(xv[b * 3150 + i * 45 + j], yv[b * 3150 + j * 70 + i]);
    }

    [Fact]
    public void SliceNarrowIndexerSelect()
    {
        var x = R(3, 4);
        Close([4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f], x.Slice(0, 1..));
        Close([1f, 2f, 5f, 6f, 9f, 10f], x.Slice(1, 1..^1));
        Close([2f, 3f, 6f, 7f, 10f, 11f], x.Narrow(1, -2, 2));
        Close([5f, 6f], x[1..2, 1..3]);
        Shape([1, 2], x[1..2, 1..3]);
        Shape([3, 4], x[..]);
        Shape([0, 4], x.Slice(0, 2..2));
        Close([1f, 5f, 9f], x.Select(1, 1));
        Close([8f, 9f, 10f, 11f], x.Select(0, -1));
    }

    [Fact]
    public void CatAndStack()
    {
        var a = R(2, 2);
        var b = R(2, 1) + 10f;
        Close([0f, 1f, 10f, 2f, 3f, 11f], Tensor.Cat([a, b], 1));
        Close([0f, 1f, 2f, 3f, 0f, 1f, 2f, 3f], Tensor.Cat([a, a]));
        Shape([4, 2], Tensor.Cat([a, a]));
        var s = Tensor.Stack([a, a + 4f], 1);
        Shape([2, 2, 2], s);
        Close([0f, 1f, 4f, 5f, 2f, 3f, 6f, 7f], s);
        Shape([2, 2, 3], Tensor.Stack([a, a, a], -1));
        Shape([2], Tensor.Stack([Tensor.Scalar(1f), Tensor.Scalar(2f)]));
    }

    [Fact]
    public void PadLikeTorch()
    {
        var x = R(2, 2);
        var y = x.Pad([1, 0]); // last dim: one before
        Shape([2, 3], y);
        Close([0f, 0f, 1f, 0f, 2f, 3f], y);
        var z = Tensor.Pad(x, [0, 1, 1, 0], -1f); // last dim: one after; first dim: one before
        Shape([3, 3], z);
        Close([-1f, -1f, -1f, 0f, 1f, -1f, 2f, 3f, -1f], z);
        Close(x.ToArray(), x.Pad([]));
    }

    [Fact]
    public void ExpandRepeatsAndKeepsNegativeZero()
    {
        var x = Tensor.FromArray([-0f, 2f], 2, 1);
        var y = x.Expand(2, 2, 3);
        Shape([2, 2, 3], y);
        Close([0f, 0f, 0f, 2f, 2f, 2f, 0f, 0f, 0f, 2f, 2f, 2f], y);
        Assert.True(float.IsNegative(y.ToArray()[0]));
    }
}
