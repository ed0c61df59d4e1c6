using static Nabla.Tests.TestUtil;

namespace Nabla.Tests.OpsTests;

public class BroadcastTests
{
    [Theory]
    [InlineData(new[] { 2, 3 }, new[] { 3 }, new[] { 2, 3 })]
    [InlineData(new[] { 2, 1 }, new[] { 1, 3 }, new[] { 2, 3 })]
    [InlineData(new[] { 4, 1, 3 }, new[] { 2, 1 }, new[] { 4, 2, 3 })]
    [InlineData(new int[0], new[] { 2, 3 }, new[] { 2, 3 })]
    [InlineData(new[] { 1 }, new int[0], new[] { 1 })]
    [InlineData(new[] { 0, 3 }, new[] { 1, 3 }, new[] { 0, 3 })]
    [InlineData(new[] { 5, 1, 1 }, new[] { 1, 1 }, new[] { 5, 1, 1 })]
    public void ShapesThatBroadcast(int[] a, int[] b, int[] expected)
    {
        var x = U(1, -1, 1, a);
        var y = U(2, -1, 1, b);
        foreach (var r in new[] { x + y, x * y, Tensor.Maximum(x, y), x.Lt(y), Tensor.Where(x.Gt(0f), x, y), x.Pow(y.Abs()) })
            Shape(expected, r);
        // every output element equals the op on the expanded operands
        Close((x.Expand(expected) - y.Expand(expected)).ToArray(), x - y);
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, new[] { 2 }, "[2, 3] and [2]")]
    [InlineData(new[] { 2, 3 }, new[] { 3, 2 }, "[2, 3] and [3, 2]")]
    [InlineData(new[] { 4, 2, 3 }, new[] { 3, 3 }, "[4, 2, 3] and [3, 3]")]
    [InlineData(new[] { 0 }, new[] { 2 }, "[0] and [2]")]
    public void ShapesThatMustFail(int[] a, int[] b, string shapes)
    {
        var x = Tensor.Zeros(a);
        var y = Tensor.Zeros(b);
        foreach (var (name, op) in new (string, Func<Tensor>)[]
        {
            ("add", () => x + y), ("sub", () => x - y), ("mul", () => x * y), ("div", () => x / y),
            ("pow", () => x.Pow(y)), ("maximum", () => Tensor.Maximum(x, y)), ("minimum", () => Tensor.Minimum(x, y)),
            ("eq", () => x.Eq(y)), ("ne", () => x.Ne(y)), ("lt", () => x.Lt(y)), ("le", () => x.Le(y)),
            ("gt", () => x.Gt(y)), ("ge", () => x.Ge(y)), ("where", () => Tensor.Where(x, x, y)),
        })
        {
            var e = Assert.Throws<ShapeException>(op);
            Assert.StartsWith(name + ": expected", e.Message);
            Assert.Contains(shapes, e.Message);
        }
    }

    [Fact]
    public void WhereNamesAllThreeShapes()
    {
        var e = Assert.Throws<ShapeException>(() => Tensor.Where(Tensor.Zeros(2), Tensor.Zeros(3), Tensor.Zeros(1)));
        Assert.Contains("where", e.Message);
        Assert.Contains("[2], [3] and [1]", e.Message);
    }
}
