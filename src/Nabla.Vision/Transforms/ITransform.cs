namespace Nabla.Vision.Transforms;

/// <summary>
/// An image transform, as a torchvision transform: takes an image of shape (C, H, W) and returns
/// a new tensor (the input is never modified).
/// </summary>
/// <remarks>
/// Every random choice comes from the generator passed to <see cref="Apply"/>, never from
/// a hidden global, so the same generator state gives the same output; a dataset can give each
/// sample its own generator (see <see cref="TransformedDataset"/>) and stay reproducible for any
/// number of loader workers.
/// </remarks>
public interface ITransform
{
    /// <summary>Transforms <paramref name="image"/>, drawing any random choice from <paramref name="generator"/>.</summary>
    Tensor Apply(Tensor image, Generator generator);
}
