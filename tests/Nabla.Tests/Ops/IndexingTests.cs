using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class IndexingTests
{
    [Fact]
    public void GatherPicksAlongDim()
    {
        var x = T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Close([3f, 1f, 5f, 5f], x.Gather(1, T([2f, 0f, 1f, 1f], 2, 2)));
        Close([4f, 2f], x.Gather(0, T([1f, 0f], 1, 2)));
    }

    [Fact]
    public void ScatterAddAccumulatesRepeats()
    {
        var x = Tensor.Zeros(2, 3);
        var y = x.ScatterAdd(1, T([0f, 0f, 2f, 1f], 2, 2), T([1f, 2f, 3f, 4f], 2, 2));
        Close([3f, 0f, 0f, 0f, 4f, 3f], y);
        Close([0f, 0f, 0f, 0f, 0f, 0f], x); // input untouched
    }

    [Fact]
    public void IndexSelectRepeatsAndReorders()
    {
        var x = T([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Close([3f, 1f, 3f, 6f, 4f, 6f], x.IndexSelect(1, T([2f, 0f, 2f])));
        Close([4f, 5f, 6f], x.IndexSelect(0, T([1f])));
    }

    [Fact]
    public void BadIndicesAreShapeErrors()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeException>(() => x.Gather(1, T([3f], 1, 1)));
        Assert.Contains("gather", e.Message);
        Assert.Contains("[0, 2]", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Throws<ShapeException>(() => x.Gather(1, T([-1f], 1, 1)));
        Assert.Throws<ShapeException>(() => x.Gather(1, T([0.5f], 1, 1)));
        Assert.Throws<ShapeException>(() => x.Gather(1, T([float.NaN], 1, 1)));
        e = Assert.Throws<ShapeException>(() => x.Gather(1, T([0f, 0f], 2)));
        Assert.Contains("rank", e.Message);
        e = Assert.Throws<ShapeException>(() => x.Gather(1, Tensor.Zeros(3, 1)));
        Assert.Contains("[3, 1]", e.Message);
        e = Assert.Throws<ShapeException>(() => x.ScatterAdd(1, Tensor.Zeros(2, 2), Tensor.Zeros(2, 1)));
        Assert.Contains("scatter_add", e.Message);
        Assert.Contains("src [2, 1]", e.Message);
        e = Assert.Throws<ShapeException>(() => x.IndexSelect(0, T([2f])));
        Assert.Contains("index_select", e.Message);
        Assert.Throws<ShapeException>(() => x.IndexSelect(0, Tensor.Zeros(1, 1)));
    }
}
