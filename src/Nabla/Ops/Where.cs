namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Element-wise selection, as <c>torch.where</c>: a where <paramref name="condition"/> is non-zero,
    /// b elsewhere, with broadcasting among all three. The condition is usually the 0/1 result of a
    /// comparison; it receives no gradient. a's gradient is g where the condition holds, b's elsewhere.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        var y = WhereForward(condition, a, b);
        return Record(y, "where", [condition, a, b], g =>
        [
            null,
            a.RequiresGrad ? WhereForward(condition, g, Scalar(0f)) : null,
            b.RequiresGrad ? WhereForward(condition, Scalar(0f), g) : null,
        ]);
    }

    /// <summary>Instance form: <c>cond.Where(a, b)</c> reads as <c>torch.where(cond, a, b)</c>.</summary>
    public Tensor Where(Tensor a, Tensor b) => Where(this, a, b);

    /// <summary>The select kernel (no autograd): collapsed broadcast iteration over three operands.</summary>
    internal static Tensor WhereForward(Tensor c, Tensor a, Tensor b)
    {
        int[] outDims;
        try { outDims = Broadcast.Shapes(Broadcast.Shapes(c.Dims, a.Dims, "where"), b.Dims, "where"); }
        catch (ShapeException)
        {
            throw new ShapeException("where", "condition, a and b shapes that broadcast together",
                $"{c.ShapeString}, {a.ShapeString} and {b.ShapeString}");
        }
        var r = new Tensor(outDims, clear: false);
        if (r.Numel == 0) return r;
        var (sizes, st) = Broadcast.Collapse(outDims, Broadcast.Strides(c.Dims, outDims),
            Broadcast.Strides(a.Dims, outDims), Broadcast.Strides(b.Dims, outDims));
        int rank = sizes.Length, inner = sizes[rank - 1];
        int sc = st[0][rank - 1], sa = st[1][rank - 1], sb = st[2][rank - 1];
        var idx = new int[rank];
        int oc = 0, oa = 0, ob = 0;
        float[] cs = c.Storage, xs = a.Storage, ys = b.Storage, rs = r.Storage;
        for (int o = 0; o < rs.Length; o += inner)
        {
            for (int i = 0; i < inner; i++)
                rs[o + i] = cs[oc + i * sc] != 0 ? xs[oa + i * sa] : ys[ob + i * sb];
            for (int d = rank - 2; d >= 0; d--)
            {
                oc += st[0][d]; oa += st[1][d]; ob += st[2][d];
                if (++idx[d] < sizes[d]) break;
                oc -= st[0][d] * sizes[d]; oa -= st[1][d] * sizes[d]; ob -= st[2][d] * sizes[d];
                idx[d] = 0;
            }
        }
        return r;
    }
}
