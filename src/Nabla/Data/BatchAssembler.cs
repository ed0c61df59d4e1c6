namespace Nabla.Data;

/// <summary>
/// Stacks the samples at a list of indices into one <see cref="Batch"/> (PyTorch's default
/// <c>collate_fn</c>). Safe to call from several threads at once.
/// </summary>
internal sealed class BatchAssembler
{
    readonly IDataset _dataset;
    readonly TensorDataset? _root;
    readonly int[]? _map;

    public BatchAssembler(IDataset dataset)
    {
        _dataset = dataset;
        if (Dataset.ResolveTensorDataset(dataset) is var (root, map))
        {
            _root = root;
            _map = map;
        }
    }

    public Batch Assemble(ReadOnlySpan<int> indices) =>
        _root is not null ? FromTensors(_root, _map, indices) : FromSamples(indices);

    // The fast path: rows copied straight out of the tensor dataset's storage, no tensor per sample.
    static Batch FromTensors(TensorDataset root, int[]? map, ReadOnlySpan<int> indices)
    {
        var x = Gather(root.Inputs, map, indices);
        var y = Gather(root.Targets, map, indices);
        return new Batch(x, y);
    }

    static Tensor Gather(Tensor source, int[]? map, ReadOnlySpan<int> indices)
    {
        var dims = (int[])source.Dims.Clone();
        int rows = dims[0];
        dims[0] = indices.Length;
        var batch = Tensor.Owned(dims, clear: false); // (N, ...) -> (B, ...)
        var src = source.Data;
        int size = rows == 0 ? 0 : src.Length / rows;
        var dst = batch.Span;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = map is null ? indices[k] : map[indices[k]];
            src.Slice(i * size, size).CopyTo(dst.Slice(k * size, size));
        }
        return batch;
    }

    Batch FromSamples(ReadOnlySpan<int> indices)
    {
        Tensor? inputs = null, targets = null;
        int[] inDims = [], tgtDims = [];
        for (int k = 0; k < indices.Length; k++)
        {
            var (input, target) = _dataset.Get(indices[k]);
            if (input is null || target is null)
                throw new InvalidOperationException($"DataLoader: the dataset returned a null tensor for index {indices[k]}");
            if (inputs is null || targets is null)
            {
                inDims = input.Dims;
                tgtDims = target.Dims;
                inputs = Tensor.Owned([indices.Length, .. inDims], clear: false);
                targets = Tensor.Owned([indices.Length, .. tgtDims], clear: false);
            }
            Copy(input, inDims, inputs, k, indices[k], "input");
            Copy(target, tgtDims, targets, k, indices[k], "target");
        }
        return new Batch(inputs!, targets!);
    }

    static void Copy(Tensor sample, int[] dims, Tensor batch, int k, int index, string what)
    {
        if (!sample.Shape.SequenceEqual(dims))
            throw new ShapeException("DataLoader", $"every sample's {what} to have the first one's shape {ShapeException.Str(dims)} to stack them",
                $"{sample.ShapeString} at dataset index {index}");
        var src = sample.Data;
        src.CopyTo(batch.Span.Slice(k * src.Length, src.Length));
    }
}
