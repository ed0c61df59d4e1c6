namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Reorders the dimensions, as <c>torch.permute</c>: output dimension i is input dimension
    /// <paramref name="dims"/>[i]. The result is a copy (storage is always contiguous), made with
    /// merged contiguous runs and tiled transposes; the gradient is the inverse permutation.
    /// </summary>
    public Tensor Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var x = this;
        if (dims.Length != Rank)
            throw new ShapeException("permute", $"a permutation of {Rank} dimensions for input {ShapeString}", $"dims {ShapeException.Str(dims)}");
        var perm = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormalizeDim(dims[i], Rank, "permute", Dims);
            if (seen[d])
                throw new ShapeException("permute", $"each dimension once for input {ShapeString}", $"dims {ShapeException.Str(dims)} (dimension {d} repeated)");
            seen[d] = true;
            perm[i] = d;
        }
        var xst = ContiguousStrides(x.Dims);
        var outDims = new int[Rank];
        var srcStrides = new int[Rank];
        for (int i = 0; i < Rank; i++) { outDims[i] = x.Dims[perm[i]]; srcStrides[i] = xst[perm[i]]; }
        var y = new Tensor(outDims, clear: false);
        StridedCopy(x.Storage, 0, srcStrides, y.Storage, 0, ContiguousStrides(outDims), outDims);
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++) inverse[perm[i]] = i;
        return Record(y, "permute", [x], g => [g.Permute(inverse)]);
    }

    /// <summary>Swaps two dimensions, as <c>torch.transpose</c> (a copy).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        if (Rank == 0)
        {
            NormalizeDim(dim0, 0, "transpose", Dims);
            NormalizeDim(dim1, 0, "transpose", Dims);
            return Reshape();
        }
        int a = NormalizeDim(dim0, Rank, "transpose", Dims), b = NormalizeDim(dim1, Rank, "transpose", Dims);
        var perm = Enumerable.Range(0, Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a matrix; a vector or scalar is returned unchanged, as PyTorch's <c>.T</c> for rank &lt;= 2.</summary>
    public Tensor T
    {
        get
        {
            if (Rank > 2)
                throw new ShapeException("T", "a tensor of at most 2 dimensions", $"{ShapeString}", "use Transpose(d0, d1) or Permute(...) for higher ranks");
            return Rank == 2 ? Transpose(0, 1) : Reshape(Dims);
        }
    }
}
