namespace Nabla.Tests.OpsTests;

/// <summary>Each op's bad input gives a ShapeException naming the op and the shapes involved.</summary>
public class ErrorMessageTests
{
    static readonly Tensor X = Tensor.Zeros(2, 3);

    public static TheoryData<string, string, string[]> Cases() => new()
    {
        { "reshape", "reshape", ["[2, 3]", "[4, 2]"] },
        { "expand", "expand", ["[2, 3]", "[4, 3]"] },
        { "flatten", "flatten", ["[2, 3]"] },
        { "squeeze", "squeeze", ["dim = 2 for input [2, 3]"] },
        { "unsqueeze", "unsqueeze", ["dim = 3 for input [2, 3]"] },
        { "permute", "permute", ["[2, 3]", "[0, 0]"] },
        { "permute rank", "permute", ["[2, 3]", "[0, 1, 2]"] },
        { "transpose", "transpose", ["dim = 5 for input [2, 3]"] },
        { "T", "T", ["[2, 3, 4]"] },
        { "narrow", "narrow", ["[2, 3]", "start = 2, length = 2"] },
        { "slice", "slice", ["[2, 3]", "1..5"] },
        { "indexer", "index", ["[2, 3]", "3 ranges"] },
        { "select", "select", ["[2, 3]", "index = 3"] },
        { "cat", "cat", ["[2, 3]", "[2, 4]", "tensor 1"] },
        { "cat empty", "cat", ["none"] },
        { "stack", "stack", ["[2, 3]", "[3, 2]"] },
        { "pad odd", "pad", ["[2, 3]", "3 sizes"] },
        { "pad negative", "pad", ["non-negative", "hint:"] },
        { "sum dim", "sum", ["dim = 2 for input [2, 3]"] },
        { "mean dims repeated", "mean", ["twice", "[2, 3]"] },
        { "var dim", "var", ["dim = -3 for input [2, 3]"] },
        { "max empty", "max", ["[2, 0]"] },
        { "argmax dim", "argmax", ["dim = 4 for input [2, 3]"] },
        { "logsumexp dim", "logsumexp", ["dim = 7 for input [2, 3]"] },
        { "gather range", "gather", ["[2, 3]", "[0, 2]"] },
        { "scatter_add rank", "scatter_add", ["[2, 3]", "[2]"] },
        { "index_select", "index_select", ["[2, 3]", "[0, 1]"] },
        { "matmul", "matmul", ["[2, 3]", "[2, 3]"] },
        { "item", "Item", ["[2, 3]"] },
    };

    static Tensor Run(string name) => name switch
    {
        "reshape" => X.Reshape(4, 2),
        "expand" => X.Expand(4, 3),
        "flatten" => X.Flatten(1, 0),
        "squeeze" => X.Squeeze(2),
        "unsqueeze" => X.Unsqueeze(3),
        "permute" => X.Permute(0, 0),
        "permute rank" => X.Permute(0, 1, 2),
        "transpose" => X.Transpose(0, 5),
        "T" => Tensor.Zeros(2, 3, 4).T,
        "narrow" => X.Narrow(1, 2, 2),
        "slice" => X.Slice(1, 1..5),
        "indexer" => X[.., .., ..],
        "select" => X.Select(1, 3),
        "cat" => Tensor.Cat([X, Tensor.Zeros(2, 4)], 0),
        "cat empty" => Tensor.Cat([]),
        "stack" => Tensor.Stack([X, Tensor.Zeros(3, 2)]),
        "pad odd" => X.Pad([1, 1, 1]),
        "pad negative" => X.Pad([-1, 0]),
        "sum dim" => X.Sum(2),
        "mean dims repeated" => X.Mean([1, -1]),
        "var dim" => X.Var(-3),
        "max empty" => Tensor.Zeros(2, 0).Max(1).Values,
        "argmax dim" => X.Argmax(4),
        "logsumexp dim" => X.LogSumExp(7),
        "gather range" => X.Gather(1, Tensor.FromArray([5f], 1, 1)),
        "scatter_add rank" => X.ScatterAdd(1, Tensor.Zeros(2), Tensor.Zeros(2)),
        "index_select" => X.IndexSelect(0, Tensor.FromArray([2f])),
        "matmul" => X.MatMul(X),
        "item" => Tensor.Scalar(X.Item()),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Cases))]
    public void MessageNamesOpAndShapes(string name, string op, string[] fragments)
    {
        var e = Assert.Throws<ShapeException>(() => Run(name));
        Assert.StartsWith(op + ": expected", e.Message);
        Assert.Equal(op, e.Op);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }
}
