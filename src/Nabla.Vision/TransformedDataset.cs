using Nabla.Data;
using Nabla.Vision.Transforms;

namespace Nabla.Vision;

/// <summary>
/// A dataset whose inputs pass through an <see cref="ITransform"/> (augmentation) as they are read,
/// as the <c>transform=</c> argument of torchvision datasets; targets pass unchanged.
/// </summary>
/// <remarks>
/// Sample i of epoch e is transformed with its own generator seeded from (<see cref="Seed"/>, e, i),
/// so the augmentation depends only on the seed, the epoch and the index: the same for any number
/// of loader workers and any order of reading, and different each epoch once <see cref="Epoch"/>
/// is advanced (set it at the start of each epoch, like a <c>DistributedSampler</c>'s <c>set_epoch</c>).
/// </remarks>
public sealed class TransformedDataset : IDataset
{
    /// <summary>Wraps <paramref name="source"/>; <paramref name="seed"/> fixes every random choice.</summary>
    public TransformedDataset(IDataset source, ITransform transform, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(transform);
        Source = source;
        Transform = transform;
        Seed = seed;
    }

    /// <summary>The underlying dataset.</summary>
    public IDataset Source { get; }

    /// <summary>The transform applied to each input.</summary>
    public ITransform Transform { get; }

    /// <summary>The seed of the per-sample generators.</summary>
    public ulong Seed { get; }

    /// <summary>The epoch mixed into the per-sample seeds; advance it each epoch for fresh augmentations.</summary>
    public int Epoch { get; set; }

    /// <inheritdoc/>
    public int Count => Source.Count;

    /// <inheritdoc/>
    public Sample Get(int index)
    {
        var sample = Source.Get(index);
        var generator = new Generator(Mix(Seed, (ulong)(uint)Epoch, (ulong)(uint)index));
        return new Sample(Transform.Apply(sample.Input, generator), sample.Target);
    }

    // SplitMix64 finalizer over the three parts: nearby (epoch, index) pairs get unrelated seeds.
    static ulong Mix(ulong seed, ulong epoch, ulong index)
    {
        ulong z = seed ^ (epoch * 0x9E3779B97F4A7C15UL) ^ (index * 0xC2B2AE3D27D4EB4FUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
