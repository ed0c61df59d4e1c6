namespace Nabla.Data;

/// <summary>
/// A dataset over two tensors that share their first dimension, as PyTorch's <c>TensorDataset</c>:
/// sample i is (inputs[i], targets[i]).
/// </summary>
/// <remarks>
/// The tensors are kept, not copied. <see cref="Get"/> copies one row into new tensors; a
/// <see cref="DataLoader"/> skips it and copies the rows of a batch straight from the storage,
/// so batching a tensor dataset allocates nothing per sample.
/// Shapes: inputs (N, ...), targets (N) holding class indices as floats, or (N, ...).
/// </remarks>
public sealed class TensorDataset : IDataset
{
    /// <summary>Creates the dataset; both tensors need the same first dimension N.</summary>
    public TensorDataset(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Rank == 0)
            throw new ShapeException("TensorDataset", "inputs of shape (N, ...)", "a scalar of shape []");
        if (targets.Rank == 0 || targets.Shape[0] != inputs.Shape[0])
            throw new ShapeException("TensorDataset", $"targets with {inputs.Shape[0]} rows (the inputs' first dimension)",
                $"shape {targets.ShapeString} for inputs of shape {inputs.ShapeString}");
        Inputs = inputs;
        Targets = targets;
    }

    /// <summary>The inputs, shape (N, ...).</summary>
    public Tensor Inputs { get; }

    /// <summary>The targets, shape (N) or (N, ...).</summary>
    public Tensor Targets { get; }

    /// <inheritdoc/>
    public int Count => Inputs.Shape[0];

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        Dataset.CheckIndex(index, Count);
        return new Sample(Row(Inputs, index), Row(Targets, index));
    }

    /// <summary>Row <paramref name="index"/> of <paramref name="t"/> as a new tensor of shape t.shape[1:].</summary>
    static Tensor Row(Tensor t, int index)
    {
        var dims = t.Dims.AsSpan(1).ToArray();
        var row = Tensor.Owned(dims, clear: false);
        int size = row.Numel;
        t.Data.Slice(index * size, size).CopyTo(row.Span);
        return row;
    }
}
