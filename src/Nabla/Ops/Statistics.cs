namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>The number of elements each output of a reduction over <paramref name="dims"/> combines.</summary>
    internal static int ReducedCount(int[] shape, int[] dims)
    {
        int n = 1;
        foreach (int d in dims) n *= shape[d];
        return n;
    }

    /// <summary>The mean of all elements, as a zero-dimensional tensor; NaN for an empty tensor.</summary>
    public Tensor Mean() => Mean(null, keepDim: false);

    /// <summary>The mean over one dimension.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>The mean over <paramref name="dims"/> (all when null or empty), as <c>torch.mean</c>; NaN over zero elements.</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        var x = this;
        var nd = NormalizeDims(dims, Rank, "mean", Dims);
        int n = ReducedCount(x.Dims, nd);
        var y = SumDims(x, nd, keepDim);
        System.Numerics.Tensors.TensorPrimitives.Divide(y.Storage, n, y.Storage);
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        return Record(y, "mean", [x], g => [Expand(Div(g.Reshape(keptShape), Scalar(n)), x.Dims)]);
    }

    /// <summary>The variance over one dimension; see <see cref="Var(int[], bool, bool)"/>.</summary>
    public Tensor Var(int dim, bool unbiased = true, bool keepDim = false) => Var([dim], unbiased, keepDim);

    /// <summary>
    /// The variance over <paramref name="dims"/> (all when null or empty), as <c>torch.var</c>:
    /// sum((x - mean)^2) / (N - 1) when <paramref name="unbiased"/> (Bessel's correction, the
    /// default), / N otherwise. The unbiased variance of a single element is NaN (0 / 0), as in PyTorch.
    /// </summary>
    /// <remarks>
    /// Two passes (the mean, then the squared deviations) rather than E[x^2] - E[x]^2, which cancels
    /// catastrophically when the mean is large compared with the spread.
    /// Gradient: 2 (x - mean) / (N - correction).
    /// </remarks>
    public Tensor Var(int[]? dims = null, bool unbiased = true, bool keepDim = false)
    {
        var x = this;
        var nd = NormalizeDims(dims, Rank, "var", Dims);
        int n = ReducedCount(x.Dims, nd);
        float denom = Math.Max(0, n - (unbiased ? 1 : 0));
        Tensor y, dev;
        using (Autograd.NoGrad())
        {
            dev = Sub(x, x.Mean(nd, keepDim: true));
            y = Div(SumDims(Mul(dev, dev), nd, keepDim), Scalar(denom));
        }
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        return Record(y, "var", [x], g => [Mul(Mul(g.Reshape(keptShape), dev), Scalar(2f / denom))]);
    }

    /// <summary>The standard deviation, sqrt of <see cref="Var(int[], bool, bool)"/>, as <c>torch.std</c>.</summary>
    public Tensor Std(int[]? dims = null, bool unbiased = true, bool keepDim = false) => Sqrt(Var(dims, unbiased, keepDim));
}
