namespace Nabla.Data;

/// <summary>
/// Applies a loader's <see cref="IBatchTransform"/> to each batch as it is handed out. Batch i of an
/// epoch draws from its own generator, seeded from the epoch's seed and i, so a resumed epoch mixes
/// exactly as the uninterrupted one, whatever the workers.
/// </summary>
internal sealed class BatchTransformEnumerator(IEnumerator<Batch> inner, IBatchTransform transform, ulong epochSeed, int firstBatch) : IEnumerator<Batch>
{
    int _index = firstBatch - 1;
    Batch? _current;

    public Batch Current => _current ?? throw new InvalidOperationException("DataLoader: Current was read before MoveNext or after the end");

    object System.Collections.IEnumerator.Current => Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            _current = null;
            return false;
        }
        _index++;
        _current = transform.Apply(inner.Current, new Generator(Seed(epochSeed, _index)));
        return true;
    }

    /// <summary>A seed for batch <paramref name="index"/> unlike the epoch order's own (SplitMix64's constants).</summary>
    internal static ulong Seed(ulong epochSeed, int index)
    {
        ulong z = epochSeed ^ 0xD1B54A32D192ED03UL ^ ((ulong)(index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Reset() => throw new NotSupportedException("start a new epoch with DataLoader.StartEpoch");

    public void Dispose() => inner.Dispose();
}
