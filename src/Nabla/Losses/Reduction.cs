namespace Nabla.Losses;

/// <summary>How a loss combines its per-element (or per-sample) values, as PyTorch's <c>reduction</c>.</summary>
public enum Reduction
{
    /// <summary>
    /// The average: over every element for point-wise losses; over samples for class losses, and for
    /// a weighted cross-entropy or NLL the weighted sum divided by the sum of the targets' weights.
    /// </summary>
    Mean,

    /// <summary>The sum of all values.</summary>
    Sum,

    /// <summary>No reduction: one value per element (point-wise losses) or per sample (class losses).</summary>
    None,
}
