namespace Nabla.Data;

/// <summary>
/// A collection of samples addressed by index, like PyTorch's map-style <c>Dataset</c>: what a
/// <see cref="DataLoader"/> batches, shuffles and splits.
/// </summary>
/// <remarks>
/// <see cref="Get"/> must return a sample that depends only on the index, and must be safe to call
/// from several threads at once when a loader has more than one worker; then batches are the same
/// for any number of workers.
/// </remarks>
public interface IDataset
{
    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>The sample at <paramref name="index"/>, 0 &lt;= index &lt; <see cref="Count"/>.</summary>
    Sample Get(int index);
}

/// <summary>One sample: the input a model sees and the target it should predict.</summary>
/// <param name="Input">The input, e.g. an image of shape (C, H, W) or a feature vector (F).</param>
/// <param name="Target">The target: a scalar holding a class index, or a tensor (e.g. a regression target).</param>
public readonly record struct Sample(Tensor Input, Tensor Target);

/// <summary>A batch of samples stacked along a new first dimension, as a <see cref="DataLoader"/> yields it.</summary>
/// <param name="Inputs">The inputs, shape (B, ...): the sample input's shape with the batch size in front.</param>
/// <param name="Targets">The targets, shape (B) for class indices or (B, ...) for tensor targets.</param>
public sealed record Batch(Tensor Inputs, Tensor Targets)
{
    /// <summary>The number of samples in the batch (the last batch of an epoch may be smaller).</summary>
    public int Size => Inputs.Shape[0];
}
