using Nabla.Data;

namespace Nabla.Vision.Transforms;

/// <summary>
/// A transform of a whole batch, applied after the <see cref="DataLoader"/> has stacked it, as
/// torchvision's v2 <c>MixUp</c> and <c>CutMix</c> (they mix samples with each other, so they
/// cannot run per sample).
/// </summary>
public interface IBatchTransform
{
    /// <summary>Transforms <paramref name="batch"/>, drawing any random choice from <paramref name="generator"/>.</summary>
    Batch Apply(Batch batch, Generator generator);
}
