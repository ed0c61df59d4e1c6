namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Picks values along <paramref name="dim"/> by index, as <c>torch.gather</c>: for dim = 1,
    /// out[i, j, k] = x[i, index[i, j, k], k]. The index has x's rank and is no larger than x in the
    /// other dimensions; the output has the index's shape. Its gradient scatter-adds back to x.
    /// </summary>
    /// <param name="x">The source.</param>
    /// <param name="dim">The dimension indexed.</param>
    /// <param name="index">Integral values in [0, x.Size(dim)), stored as floats.</param>
    public static Tensor Gather(Tensor x, int dim, Tensor index)
    {
        dim = NormalizeDim(dim, x.Rank, "gather", x.Dims);
        var offs = IndexOffsets(x, dim, index, null, "gather");
        var y = new Tensor((int[])index.Dims.Clone(), clear: false);
        var xs = x.Storage; var ys = y.Storage;
        for (int p = 0; p < offs.Length; p++) ys[p] = xs[offs[p]];
        return Record(y, "gather", [x, index], g => [ScatterAdd(Zeros(x.Dims), dim, index, g), null]);
    }

    /// <summary>Instance form of <see cref="Gather(Tensor, int, Tensor)"/>.</summary>
    public Tensor Gather(int dim, Tensor index) => Gather(this, dim, index);

    /// <summary>
    /// A copy of x with src added at the indexed positions, as <c>torch.scatter_add</c>: for dim = 1,
    /// out[i, index[i, j, k], k] += src[i, j, k]. Repeated indices accumulate. The index has x's rank,
    /// is no larger than src in any dimension and no larger than x outside <paramref name="dim"/>;
    /// only the part of src the index covers is used. Gradients: x gets g, src gets g gathered by index.
    /// </summary>
    public static Tensor ScatterAdd(Tensor x, int dim, Tensor index, Tensor src)
    {
        dim = NormalizeDim(dim, x.Rank, "scatter_add", x.Dims);
        var srcOffs = src.Rank == index.Rank ? Offsets(index.Dims, ContiguousStrides(src.Dims)) : null;
        var offs = IndexOffsets(x, dim, index, src, "scatter_add");
        var y = x.Clone();
        var ys = y.Storage; var ss = src.Storage;
        for (int p = 0; p < offs.Length; p++) ys[offs[p]] += ss[srcOffs![p]];
        return Record(y, "scatter_add", [x, index, src], g =>
        {
            Tensor? gs = null;
            if (src.RequiresGrad)
            {
                gs = Zeros(src.Dims);
                var gOffs = IndexOffsets(g, dim, index, null, "scatter_add");
                for (int p = 0; p < gOffs.Length; p++) gs.Storage[srcOffs![p]] = g.Storage[gOffs[p]];
            }
            return [g, null, gs];
        });
    }

    /// <summary>Instance form of <see cref="ScatterAdd(Tensor, int, Tensor, Tensor)"/>.</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => ScatterAdd(this, dim, index, src);

    /// <summary>
    /// The slices of x at the given positions along <paramref name="dim"/>, in the index's order, as
    /// <c>torch.index_select</c>. The index is one-dimensional (or a scalar); positions may repeat.
    /// </summary>
    public static Tensor IndexSelect(Tensor x, int dim, Tensor index)
    {
        dim = NormalizeDim(dim, x.Rank, "index_select", x.Dims);
        if (index.Rank > 1)
            throw new ShapeException("index_select", "a one-dimensional index", $"index {index.ShapeString}");
        int size = x.Rank == 0 ? 1 : x.Dims[dim];
        var pos = new int[index.Numel];
        for (int k = 0; k < pos.Length; k++) pos[k] = CheckIndex(index.Storage[k], size, k, index, x, dim, "index_select");
        var (outer, _, inner) = Split(x.Dims, dim);
        var dims = (int[])x.Dims.Clone();
        if (dims.Length > 0) dims[dim] = pos.Length;
        var y = new Tensor(dims, clear: false);
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < pos.Length; k++)
                x.Storage.AsSpan((o * size + pos[k]) * inner, inner).CopyTo(y.Storage.AsSpan((o * pos.Length + k) * inner, inner));
        return Record(y, "index_select", [x, index], g =>
        {
            var gx = Zeros(x.Dims);
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < pos.Length; k++)
                {
                    var d = gx.Storage.AsSpan((o * size + pos[k]) * inner, inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(d, g.Storage.AsSpan((o * pos.Length + k) * inner, inner), d);
                }
            return [gx, null];
        });
    }

    /// <summary>Instance form of <see cref="IndexSelect(Tensor, int, Tensor)"/>.</summary>
    public Tensor IndexSelect(int dim, Tensor index) => IndexSelect(this, dim, index);

    /// <summary>Sizes before, at and after <paramref name="dim"/>, viewing a tensor as [outer, n, inner].</summary>
    internal static (int Outer, int N, int Inner) Split(int[] dims, int dim)
    {
        if (dims.Length == 0) return (1, 1, 1);
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= dims[i];
        for (int i = dim + 1; i < dims.Length; i++) inner *= dims[i];
        return (outer, dims[dim], inner);
    }

    /// <summary>The offset, in a tensor with <paramref name="strides"/>, of each element of a tensor of shape <paramref name="dims"/> (row-major).</summary>
    static int[] Offsets(int[] dims, int[] strides)
    {
        var r = new int[NumelOf(dims)];
        var idx = new int[dims.Length];
        int off = 0;
        for (int p = 0; p < r.Length; p++)
        {
            r[p] = off;
            for (int d = dims.Length - 1; d >= 0; d--)
            {
                off += strides[d];
                if (++idx[d] < dims[d]) break;
                off -= strides[d] * dims[d];
                idx[d] = 0;
            }
        }
        return r;
    }

    static int CheckIndex(float v, int size, int position, Tensor index, Tensor x, int dim, string op)
    {
        if (!(v >= 0 && v < size) || v != MathF.Floor(v))
            throw new ShapeException(op, $"integral index values in [0, {size - 1}] (size of dim {dim} of input {x.ShapeString})",
                $"{v} at flat position {position} of index {index.ShapeString}");
        return (int)v;
    }

    /// <summary>
    /// Validates a gather/scatter index against x (and src) and returns, for each index element, the
    /// offset in x it addresses.
    /// </summary>
    static int[] IndexOffsets(Tensor x, int dim, Tensor index, Tensor? src, string op)
    {
        if (index.Rank != x.Rank || (src is not null && src.Rank != x.Rank))
            throw new ShapeException(op, $"index{(src is null ? "" : " and src")} with the input's rank {x.Rank}",
                $"input {x.ShapeString}, index {index.ShapeString}{(src is null ? "" : $", src {src.ShapeString}")}");
        for (int d = 0; d < x.Rank; d++)
        {
            if (d != dim && index.Dims[d] > x.Dims[d])
                throw new ShapeException(op, $"index no larger than the input outside dim {dim}",
                    $"index {index.ShapeString} and input {x.ShapeString} (dimension {d})");
            if (src is not null && index.Dims[d] > src.Dims[d])
                throw new ShapeException(op, "index no larger than src in every dimension",
                    $"index {index.ShapeString} and src {src.ShapeString} (dimension {d})");
        }
        var xst = ContiguousStrides(x.Dims);
        int size = x.Rank == 0 ? 1 : x.Dims[dim];
        int step = x.Rank == 0 ? 0 : xst[dim];
        if (x.Rank > 0) xst[dim] = 0;
        var offs = Offsets(index.Dims, xst);
        var iv = index.Storage;
        for (int p = 0; p < offs.Length; p++) offs[p] += CheckIndex(iv[p], size, p, index, x, dim, op) * step;
        return offs;
    }
}
