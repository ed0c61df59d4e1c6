using System.Numerics.Tensors;

namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Sorted, distinct, non-negative dimensions; an empty list means every dimension.</summary>
    internal static int[] NormalizeDims(int[]? dims, int rank, string op)
    {
        if (dims is null || dims.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var r = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) r[i] = NormalizeDim(dims[i], rank, op);
        Array.Sort(r);
        for (int i = 1; i < r.Length; i++)
            if (r[i] == r[i - 1]) throw new ShapeException(op, "distinct dimensions", $"dim {r[i]} listed twice");
        if (rank == 0) return [];
        return r;
    }

    /// <summary>The output shape of a reduction over <paramref name="dims"/> (sorted, distinct).</summary>
    internal static int[] ReducedShape(int[] shape, int[] dims, bool keepDim)
    {
        var r = new List<int>(shape.Length);
        for (int i = 0, k = 0; i < shape.Length; i++)
        {
            bool reduced = k < dims.Length && dims[k] == i;
            if (reduced) k++;
            if (!reduced) r.Add(shape[i]);
            else if (keepDim) r.Add(1);
        }
        return [.. r];
    }

    /// <summary>
    /// Sum over the given dimensions (no autograd). Dimensions are collapsed into alternating kept and
    /// reduced blocks; the innermost block is either summed as one vectorized run (reduced) or
    /// accumulated row by row with a vectorized add (kept). Accumulation order is fixed.
    /// </summary>
    internal static Tensor SumDims(Tensor x, int[] dims, bool keepDim)
    {
        var outDims = ReducedShape(x.Dims, dims, keepDim);
        var r = new Tensor(outDims);
        if (x.Numel == 0) return r;
        // Strides of the output seen from the input's index space: 0 on reduced dimensions.
        var full = (int[])x.Dims.Clone();
        foreach (int d in dims) full[d] = 1;
        var ost = Broadcast.Strides(full, x.Dims);
        var ist = ContiguousStrides(x.Dims);
        var (sizes, st) = Broadcast.Collapse(x.Dims, ist, ost);
        int rank = sizes.Length, inner = sizes[rank - 1];
        bool innerReduced = st[1][rank - 1] == 0;
        var idx = new int[rank];
        int io = 0, oo = 0;
        var src = x.Storage; var dst = r.Storage;
        for (int pos = 0; pos < src.Length; pos += inner)
        {
            if (innerReduced) dst[oo] += TensorPrimitives.Sum(src.AsSpan(io, inner));
            else TensorPrimitives.Add(dst.AsSpan(oo, inner), src.AsSpan(io, inner), dst.AsSpan(oo, inner));
            for (int d = rank - 2; d >= 0; d--)
            {
                io += st[0][d]; oo += st[1][d];
                if (++idx[d] < sizes[d]) break;
                io -= st[0][d] * sizes[d]; oo -= st[1][d] * sizes[d];
                idx[d] = 0;
            }
        }
        return r;
    }

    /// <summary>The sum of all elements, as a zero-dimensional tensor.</summary>
    public Tensor Sum() => Sum(null, keepDim: false);

    /// <summary>The sum over <paramref name="dims"/> (all when null or empty), as <c>torch.sum</c>.</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        var x = this;
        var nd = NormalizeDims(dims, Rank, "sum");
        var y = SumDims(x, nd, keepDim);
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        return Record(y, "sum", [x], g => [Expand(g.Reshape(keptShape), x.Dims)]);
    }

    /// <summary>The sum over one dimension.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);
}
