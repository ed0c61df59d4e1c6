namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Joins tensors along an existing dimension, as <c>torch.cat</c>. All must have the same rank and
    /// the same sizes except along <paramref name="dim"/>. Each input's gradient is its slice of g.
    /// </summary>
    public static Tensor Cat(Tensor[] tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ShapeException("cat", "at least one tensor", "none");
        var first = tensors[0];
        if (first.Rank == 0)
            throw new ShapeException("cat", "tensors with at least one dimension", "a scalar (tensor 0)", "use Stack to join scalars");
        int d = NormalizeDim(dim, first.Rank, "cat", first.Dims);
        var outDims = (int[])first.Dims.Clone();
        long total = 0;
        for (int i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            bool ok = t.Rank == first.Rank;
            for (int k = 0; ok && k < t.Rank; k++) ok = k == d || t.Dims[k] == first.Dims[k];
            if (!ok)
                throw new ShapeException("cat", $"tensors of shape {first.ShapeString} except in dim {d}",
                    $"tensor {i} of shape {t.ShapeString}");
            total += t.Dims[d];
        }
        if (total > int.MaxValue) throw new ShapeException("cat", $"at most {int.MaxValue} elements along dim {d}", $"{total}");
        outDims[d] = (int)total;
        CheckedNumel(outDims, "cat");
        var y = new Tensor(outDims, clear: false);
        var yst = ContiguousStrides(outDims);
        var offsets = new int[tensors.Length];
        int at = 0;
        for (int i = 0; i < tensors.Length; i++)
        {
            var t = tensors[i];
            offsets[i] = at;
            StridedCopy(t.Storage, 0, ContiguousStrides(t.Dims), y.Storage, at * yst[d], yst, t.Dims);
            at += t.Dims[d];
        }
        var inputs = (Tensor[])tensors.Clone();
        return Record(y, "cat", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!inputs[i].RequiresGrad) continue;
                var starts = new int[g.Rank];
                starts[d] = offsets[i];
                grads[i] = SliceRegion(g, starts, inputs[i].Dims);
            }
            return grads;
        });
    }

    /// <summary>
    /// Joins tensors of one shape along a new dimension <paramref name="dim"/> (in [-(rank+1), rank]),
    /// as <c>torch.stack</c>.
    /// </summary>
    public static Tensor Stack(Tensor[] tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ShapeException("stack", "at least one tensor", "none");
        var first = tensors[0];
        for (int i = 1; i < tensors.Length; i++)
            if (!tensors[i].SameShape(first))
                throw new ShapeException("stack", $"tensors of one shape {first.ShapeString}", $"tensor {i} of shape {tensors[i].ShapeString}");
        int d = NormalizeDim(dim, first.Rank + 1, "stack", first.Dims);
        return Cat([.. tensors.Select(t => t.Unsqueeze(d))], d);
    }
}
