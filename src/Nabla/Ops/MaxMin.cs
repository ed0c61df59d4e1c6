namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// The largest value along <paramref name="dim"/> and its position, as <c>torch.max(x, dim)</c>.
    /// The first occurrence wins a tie; NaN counts as larger than everything (the first NaN wins).
    /// The gradient goes to the returned position only. Indices are integral floats and need no gradient.
    /// </summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false) => Extreme(this, dim, keepDim, max: true, "max");

    /// <summary>The smallest value along <paramref name="dim"/> and its position; see <see cref="Max(int, bool)"/>.</summary>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepDim = false) => Extreme(this, dim, keepDim, max: false, "min");

    /// <summary>The position of the largest value along <paramref name="dim"/> (first on ties), as integral floats.</summary>
    public Tensor Argmax(int dim, bool keepDim = false) => ArgExtreme(this, dim, keepDim, max: true, "argmax").Indices;

    /// <summary>The position of the smallest value along <paramref name="dim"/> (first on ties), as integral floats.</summary>
    public Tensor Argmin(int dim, bool keepDim = false) => ArgExtreme(this, dim, keepDim, max: false, "argmin").Indices;

    /// <summary>The flat (row-major) position of the largest element, as a zero-dimensional tensor.</summary>
    public Tensor Argmax() => ArgExtreme(Reshape(-1), 0, keepDim: false, max: true, "argmax").Indices;

    /// <summary>The flat (row-major) position of the smallest element, as a zero-dimensional tensor.</summary>
    public Tensor Argmin() => ArgExtreme(Reshape(-1), 0, keepDim: false, max: false, "argmin").Indices;

    /// <summary>The largest element, as a zero-dimensional tensor; NaN if any element is NaN. Ties share the gradient evenly.</summary>
    public Tensor Max() => Amax(null);

    /// <summary>The smallest element, as a zero-dimensional tensor; NaN if any element is NaN. Ties share the gradient evenly.</summary>
    public Tensor Min() => Amin(null);

    /// <summary>
    /// The maximum over <paramref name="dims"/> (all when null or empty), as <c>torch.amax</c>. NaN
    /// propagates. Unlike <see cref="Max(int, bool)"/>, tied maxima share the gradient evenly.
    /// </summary>
    public Tensor Amax(int[]? dims, bool keepDim = false) => Extremum(this, dims, keepDim, ReduceKind.Max, "amax");

    /// <summary>The minimum over <paramref name="dims"/>; see <see cref="Amax"/>.</summary>
    public Tensor Amin(int[]? dims, bool keepDim = false) => Extremum(this, dims, keepDim, ReduceKind.Min, "amin");

    static Tensor Extremum(Tensor x, int[]? dims, bool keepDim, ReduceKind kind, string op)
    {
        var nd = NormalizeDims(dims, x.Rank, op, x.Dims);
        var y = ReduceDims(x, nd, keepDim, kind, op);
        var keptShape = ReducedShape(x.Dims, nd, keepDim: true);
        return Record(y, op, [x], g =>
        {
            var yk = y.Reshape(keptShape);
            // Positions equal to the extremum (NaN matches NaN), each taking an equal share.
            var hit = Add(Eq(x, yk), Mul(Ne(x, x), Ne(yk, yk)));
            return [Mul(g.Reshape(keptShape), Div(hit, SumDims(hit, nd, keepDim: true)))];
        });
    }

    static (Tensor Values, Tensor Indices) Extreme(Tensor x, int dim, bool keepDim, bool max, string op)
    {
        var (values, indices) = ArgExtreme(x, dim, keepDim, max, op);
        int d = NormalizeDim(dim, x.Rank, op, x.Dims);
        var keptShape = x.Rank == 0 ? [] : ReducedShape(x.Dims, [d], keepDim: true);
        values = Record(values, op, [x], g => [ScatterAdd(Zeros(x.Dims), d, indices.Reshape(keptShape), g.Reshape(keptShape))]);
        return (values, indices);
    }

    /// <summary>The kernel (no autograd): values and first positions of the extremum along one dimension.</summary>
    static (Tensor Values, Tensor Indices) ArgExtreme(Tensor x, int dim, bool keepDim, bool max, string op)
    {
        dim = NormalizeDim(dim, x.Rank, op, x.Dims);
        var (outer, n, inner) = Split(x.Dims, dim);
        if (n == 0)
            throw new ShapeException(op, "a non-empty dimension to reduce", $"input {x.ShapeString} with dim {dim} of size 0");
        var outDims = x.Rank == 0 ? [] : ReducedShape(x.Dims, [dim], keepDim);
        var values = new Tensor(outDims, clear: false);
        var indices = new Tensor(outDims);
        float[] xs = x.Storage, vs = values.Storage, ix = indices.Storage;
        for (int o = 0; o < outer; o++)
        {
            int baseIn = o * n * inner, baseOut = o * inner;
            Array.Copy(xs, baseIn, vs, baseOut, inner);
            for (int i = 1; i < n; i++)
            {
                int row = baseIn + i * inner;
                for (int j = 0; j < inner; j++)
                {
                    float v = xs[row + j], cur = vs[baseOut + j];
                    if ((max ? v > cur : v < cur) || (float.IsNaN(v) && !float.IsNaN(cur)))
                    {
                        vs[baseOut + j] = v;
                        ix[baseOut + j] = i;
                    }
                }
            }
        }
        return (values, indices);
    }
}
