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
        var y = BinaryForward(x, new Tensor(dims), BinaryOp.Add, "expand");
        return Record(y, "expand", [x], g => [g]); // the engine sums g back to x's shape
    }

    /// <summary>Instance form of <see cref="Expand(Tensor, int[])"/>.</summary>
    public Tensor Expand(params int[] shape) => Expand(this, shape);
}
