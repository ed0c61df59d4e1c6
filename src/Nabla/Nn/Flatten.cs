namespace Nabla.Nn;

/// <summary>
/// Flattens dimensions startDim..endDim into one, as <c>nn.Flatten</c> (default: all but the batch
/// dimension, (N, C, H, W) -> (N, C*H*W)). Shares storage with its input.
/// </summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => input.Flatten(startDim, endDim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={startDim}, end_dim={endDim}";
}

/// <summary>Returns its input unchanged, as <c>nn.Identity</c>: a placeholder where a layer is optional.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input) => input;
}
