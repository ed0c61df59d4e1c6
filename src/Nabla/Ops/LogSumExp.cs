namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// log(sum(exp(x))) over <paramref name="dims"/> (all when null or empty), computed stably as
    /// m + log(sum(exp(x - m))) with m the maximum, as <c>torch.logsumexp</c>.
    /// </summary>
    /// <remarks>
    /// A slice of all -inf gives -inf (the log of an empty sum), and we define its gradient as 0
    /// rather than the NaN that exp(-inf - (-inf)) would give. Where the maximum is infinite the
    /// shift is 0 instead, so an inf - inf never appears in the forward pass. The gradient elsewhere
    /// is softmax(x) = exp(x - result). Over zero elements the result is -inf.
    /// </remarks>
    public Tensor LogSumExp(int[]? dims, bool keepDim = false)
    {
        var x = this;
        var nd = NormalizeDims(dims, Rank, "logsumexp", Dims);
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        var outShape = ReducedShape(x.Dims, nd, keepDim);
        Tensor yk;
        using (Autograd.NoGrad())
        {
            if (ReducedCount(x.Dims, nd) == 0) yk = Full(keptShape, float.NegativeInfinity);
            else
            {
                var m = ReduceDims(x, nd, keepDim: true, ReduceKind.Max, "logsumexp");
                m = Where(Eq(Abs(m), float.PositiveInfinity), Scalar(0f), m);
                yk = Add(Log(SumDims(Exp(Sub(x, m)), nd, keepDim: true)), m);
            }
        }
        var y = new Tensor(yk.Storage, outShape);
        return Record(y, "logsumexp", [x], g =>
            [Mul(g.Reshape(keptShape), Where(Eq(yk, float.NegativeInfinity), Scalar(0f), Exp(Sub(x, yk))))]);
    }

    /// <summary>log(sum(exp(x))) over one dimension; see <see cref="LogSumExp(int[], bool)"/>.</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false) => LogSumExp([dim], keepDim);
}
