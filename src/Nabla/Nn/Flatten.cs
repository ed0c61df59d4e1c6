namespace Nabla.Nn;

/// <summary>
/// Flattens dimensions startDim..endDim into one, as <c>nn.Flatten</c> (default: all but the batch
/// dimension, (N, C, H, W) -> (N, C*H*W)). Shares storage with its input.
/// </summary>
public sealed class Flatten : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="startDim">The first dimension to merge (default 1, keeping the batch dimension); negative counts from the end.</param>
    /// <param name="endDim">The last dimension to merge (default -1, the last); negative counts from the end.</param>
    /// <exception cref="ArgumentException">Both dimensions count from the same end and <paramref name="startDim"/> comes after <paramref name="endDim"/>.</exception>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        // Dimensions of mixed signs can only be compared once the input's rank is known.
        if ((startDim >= 0) == (endDim >= 0) && startDim > endDim)
            throw new ArgumentException(
                $"Flatten: start_dim cannot come after end_dim; got start_dim={startDim}, end_dim={endDim}", nameof(startDim));
        StartDim = startDim;
        EndDim = endDim;
    }

    /// <summary>The first dimension merged.</summary>
    public int StartDim { get; }

    /// <summary>The last dimension merged.</summary>
    public int EndDim { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        int rank = input.Rank;
        // A scalar flattens to one element whatever the dimensions, as in PyTorch.
        if (rank > 0)
        {
            int need = Math.Max(StartDim >= 0 ? StartDim + 1 : -StartDim, EndDim >= 0 ? EndDim + 1 : -EndDim);
            int s = StartDim < 0 ? StartDim + rank : StartDim, e = EndDim < 0 ? EndDim + rank : EndDim;
            if (rank < need || s > e)
                throw ShapeException.ForLayer($"Flatten(start_dim={StartDim}, end_dim={EndDim})",
                    rank < need ? $"input with at least {need} dimensions" : "input in which start_dim does not come after end_dim",
                    input.ShapeString);
        }
        return input.Flatten(StartDim, EndDim);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>Returns its input unchanged, as <c>nn.Identity</c>: a placeholder where a layer is optional.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => input;
}
