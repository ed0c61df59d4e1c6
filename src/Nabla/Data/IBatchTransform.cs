namespace Nabla.Data;

/// <summary>
/// A transform of a whole batch, applied after the <see cref="DataLoader"/> has stacked it, as
/// torchvision's v2 <c>MixUp</c> and <c>CutMix</c> (they mix samples with each other, so they
/// cannot run per sample). Give one to the loader's <c>batchTransform</c>.
/// </summary>
public interface IBatchTransform
{
    /// <summary>Transforms <paramref name="batch"/>, drawing any random choice from <paramref name="generator"/>.</summary>
    Batch Apply(Batch batch, Generator generator);
}
