namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// The same elements with a new shape; one size may be -1 and is inferred. Shares storage with
    /// this tensor (no copy), as a PyTorch view of a contiguous tensor.
    /// </summary>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var x = this;
        var dims = (int[])shape.Clone();
        int infer = -1; long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ShapeException("reshape", "at most one -1", $"shape {ShapeException.Str(shape)}");
                infer = i;
            }
            else if (dims[i] < 0) throw new ShapeException("reshape", "sizes >= 0 or a single -1", $"shape {ShapeException.Str(shape)}");
            else known *= dims[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ShapeException("reshape", $"a shape whose -1 can be inferred for {Numel} elements",
                    $"shape {ShapeException.Str(shape)} for input {ShapeString}");
            dims[infer] = (int)(Numel / known);
            known *= dims[infer];
        }
        if (known != Numel)
            throw new ShapeException("reshape", $"a shape with {Numel} elements (input {ShapeString})",
                $"shape {ShapeException.Str(shape)} with {known} elements");
        var y = new Tensor(Storage, dims);
        return Record(y, "reshape", [x], g => [g.Reshape(x.Dims)]);
    }

    /// <summary>
    /// Repeats size-1 dimensions (and adds leading ones) to reach <paramref name="shape"/>; -1 keeps a
    /// size. Unlike PyTorch's view, the result is a copy, since Nabla storage is always contiguous.
    /// </summary>
    public static Tensor Expand(Tensor x, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < x.Rank)
            throw new ShapeException("expand", $"at least {x.Rank} dimensions", $"shape {ShapeException.Str(shape)} for input {x.ShapeString}");
        var dims = (int[])shape.Clone();
        int lead = dims.Length - x.Rank;
        for (int i = 0; i < dims.Length; i++)
        {
            int src = i >= lead ? x.Dims[i - lead] : 1;
            if (dims[i] == -1)
            {
                if (i < lead) throw new ShapeException("expand", "-1 only in existing dimensions", $"shape {ShapeException.Str(shape)}");
                dims[i] = src;
            }
            else if (src != 1 && src != dims[i])
                throw new ShapeException("expand", $"size {src} or any size where the input has 1 (dimension {i})",
                    $"{dims[i]} (input {x.ShapeString}, target {ShapeException.Str(shape)})");
        }
        var y = new Tensor(dims, clear: false);
        StridedCopy(x.Storage, 0, Broadcast.Strides(x.Dims, dims), y.Storage, 0, ContiguousStrides(dims), dims);
        return Record(y, "expand", [x], g => [g]); // the engine sums g back to x's shape
    }

    /// <summary>Instance form of <see cref="Expand(Tensor, int[])"/>.</summary>
    public Tensor Expand(params int[] shape) => Expand(this, shape);

    /// <summary>
    /// Merges dimensions <paramref name="startDim"/> to <paramref name="endDim"/> into one, as
    /// <c>torch.flatten</c>; a scalar becomes a one-element vector. Shares storage.
    /// </summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = NormalizeDim(startDim, Rank, "flatten", Dims), e = NormalizeDim(endDim, Rank, "flatten", Dims);
        if (s > e)
            throw new ShapeException("flatten", "startDim <= endDim", $"startDim = {startDim}, endDim = {endDim} for input {ShapeString}");
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(Dims[i]);
        int merged = 1;
        for (int i = s; i <= e; i++) merged *= Dims[i];
        dims.Add(merged);
        for (int i = e + 1; i < Rank; i++) dims.Add(Dims[i]);
        return Reshape([.. dims]); // (..., d_s, ..., d_e, ...) -> (..., d_s * ... * d_e, ...)
    }

    /// <summary>Removes every dimension of size 1, as <c>torch.squeeze</c>. Shares storage.</summary>
    public Tensor Squeeze() => Reshape([.. Dims.Where(d => d != 1)]);

    /// <summary>Removes <paramref name="dim"/> if its size is 1; otherwise returns the same shape, as PyTorch. Shares storage.</summary>
    public Tensor Squeeze(int dim)
    {
        int d = NormalizeDim(dim, Rank, "squeeze", Dims);
        if (Rank == 0 || Dims[d] != 1) return Reshape(Dims);
        var dims = new List<int>(Dims);
        dims.RemoveAt(d);
        return Reshape([.. dims]);
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (in [-(rank+1), rank]), as <c>torch.unsqueeze</c>. Shares storage.</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = NormalizeDim(dim, Rank + 1, "unsqueeze", Dims);
        var dims = new List<int>(Dims);
        dims.Insert(d, 1);
        return Reshape([.. dims]);
    }
}
