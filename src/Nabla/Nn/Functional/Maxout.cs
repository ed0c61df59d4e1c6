namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>
    /// The maximum over groups of <paramref name="pieces"/> consecutive features of the last
    /// dimension: input (..., units * pieces) -> output (..., units), with
    /// out[..., u] = max_j input[..., u * pieces + j] (Goodfellow et al., 2013).
    /// </summary>
    /// <remarks>
    /// A maxout unit learns its own convex piecewise-linear activation from the linear pieces that
    /// feed it. The gradient goes to the maximum of each group only, to the first one on ties; a NaN
    /// in a group is its maximum, as in PyTorch's max.
    /// </remarks>
    public static Tensor Maxout(Tensor x, int pieces)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (pieces < 1)
            throw new ArgumentOutOfRangeException(nameof(pieces), pieces, $"maxout: expected pieces >= 1; got {pieces}");
        if (x.Rank == 0 || x.Dims[^1] % pieces != 0)
            throw new ShapeException("maxout", $"an input whose last dimension is a multiple of pieces = {pieces}", x.ShapeString);
        int[] outDims = [.. x.Dims[..^1], x.Dims[^1] / pieces];
        var y = new Tensor(outDims, clear: false);
        var xs = x.Storage;
        var ys = y.Storage;
        var arg = new int[ys.Length]; // the flat input index of each group's maximum, for backward
        for (int u = 0; u < ys.Length; u++)
        {
            int b = u * pieces, best = b;
            float v = xs[b];
            for (int j = 1; j < pieces && !float.IsNaN(v); j++)
            {
                float c = xs[b + j];
                if (c > v || float.IsNaN(c)) { v = c; best = b + j; }
            }
            ys[u] = v;
            arg[u] = best;
        }
        return Tensor.Record(y, "maxout", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone());
            var gs = g.Storage;
            var d = gx.Storage;
            for (int u = 0; u < arg.Length; u++) d[arg[u]] = gs[u];
            return [gx];
        });
    }
}
