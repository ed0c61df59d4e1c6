using System.Numerics.Tensors;

namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Sorted, distinct, non-negative dimensions; an empty list means every dimension.</summary>
    internal static int[] NormalizeDims(int[]? dims, int rank, string op, int[]? shape = null)
    {
        if (dims is null || dims.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var r = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) r[i] = NormalizeDim(dims[i], rank, op, shape);
        Array.Sort(r);
        for (int i = 1; i < r.Length; i++)
            if (r[i] == r[i - 1]) throw new ShapeException(op, "distinct dimensions", shape is null ? $"dim {r[i]} listed twice" : $"dim {r[i]} listed twice for input {ShapeException.Str(shape)}");
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

    /// <summary>How <see cref="ReduceDims"/> combines the elements of a reduced block.</summary>
    internal enum ReduceKind { Sum, Max, Min }

    /// <summary>Sum over the given dimensions (no autograd); see <see cref="ReduceDims"/>.</summary>
    internal static Tensor SumDims(Tensor x, int[] dims, bool keepDim) => ReduceDims(x, dims, keepDim, ReduceKind.Sum, "sum");

    /// <summary>
    /// Sum, max or min over the given dimensions (no autograd). Dimensions are collapsed into
    /// alternating kept and reduced blocks; the innermost block is either reduced as one vectorized
    /// run (reduced) or combined row by row with a vectorized element-wise op (kept). Accumulation
    /// order is fixed. Max and min propagate NaN and reject an empty reduction, as PyTorch does.
    /// </summary>
    internal static Tensor ReduceDims(Tensor x, int[] dims, bool keepDim, ReduceKind kind, string op)
    {
        var outDims = ReducedShape(x.Dims, dims, keepDim);
        var r = new Tensor(outDims);
        if (kind != ReduceKind.Sum)
        {
            if (x.Numel == 0 && r.Numel > 0)
                throw new ShapeException(op, "non-empty dimensions to reduce (the identity of max/min is undefined)",
                    $"input {x.ShapeString} reduced over dims {ShapeException.Str(dims)}");
            r.Span.Fill(kind == ReduceKind.Max ? float.NegativeInfinity : float.PositiveInfinity);
        }
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
            var s = src.AsSpan(io, inner);
            if (innerReduced)
                dst[oo] = kind switch
                {
                    ReduceKind.Sum => dst[oo] + TensorPrimitives.Sum(s),
                    ReduceKind.Max => MaxPropagateNaN(dst[oo], TensorPrimitives.Max(s)),
                    _ => MinPropagateNaN(dst[oo], TensorPrimitives.Min(s)),
                };
            else
            {
                var dd = dst.AsSpan(oo, inner);
                switch (kind)
                {
                    case ReduceKind.Sum: TensorPrimitives.Add(dd, s, dd); break;
                    case ReduceKind.Max: TensorPrimitives.Max(dd, s, dd); break;
                    default: TensorPrimitives.Min(dd, s, dd); break;
                }
            }
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

    static float MaxPropagateNaN(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : MathF.Max(a, b);
    static float MinPropagateNaN(float a, float b) => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : MathF.Min(a, b);

    /// <summary>The sum of all elements, as a zero-dimensional tensor.</summary>
    public Tensor Sum() => Sum(null, keepDim: false);

    /// <summary>The sum over <paramref name="dims"/> (all when null or empty), as <c>torch.sum</c>.</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        var x = this;
        var nd = NormalizeDims(dims, Rank, "sum", Dims);
        var y = SumDims(x, nd, keepDim);
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        return Record(y, "sum", [x], g => [Expand(g.Reshape(keptShape), x.Dims)]);
    }

    /// <summary>The sum over one dimension.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);
}
