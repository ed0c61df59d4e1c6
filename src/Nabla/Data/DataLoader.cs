namespace Nabla.Data;

/// <summary>
/// Turns a dataset into batches, as PyTorch's <c>DataLoader</c>: <c>foreach (var (x, y) in loader)</c>
/// runs one epoch, with the samples in order or shuffled, stacked into (B, ...) tensors, and the next
/// batches prepared on background threads while the current one is used.
/// </summary>
/// <remarks>
/// <para>Epoch order: when <see cref="Shuffle"/> is set, each enumeration draws one 64-bit seed
/// from the generator and permutes the indices with it (Fisher–Yates). Epoch k + 1 therefore
/// differs from epoch k, and the whole sequence of epochs is fixed by the generator's seed; saving
/// the generator's state with a checkpoint resumes the same sequence.</para>
/// <para>Workers: with <c>workers = 0</c> (the default, as PyTorch's <c>num_workers=0</c>) each batch
/// is assembled on the consumer's thread when it is asked for. With <c>workers &gt;= 1</c> that many
/// background threads assemble up to <c>workers * prefetch</c> batches ahead, so data preparation
/// overlaps the training step. Batches depend only on the indices, never on which thread made them,
/// so every worker count gives bitwise the same batches in the same order.</para>
/// <para>Stopping early (<c>break</c>, or disposing the enumerator) stops the workers and waits for
/// them. An exception thrown while preparing a batch is rethrown on the consumer's thread, unchanged,
/// when that batch is reached.</para>
/// <para>A <see cref="TensorDataset"/>, or a chain of <see cref="Subset"/>s of one, is batched by
/// copying rows straight from its storage, without a tensor per sample.</para>
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>
{
    readonly Generator? _generator;
    readonly BatchAssembler _assembler;

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The samples to batch.</param>
    /// <param name="batchSize">Samples per batch (PyTorch's <c>batch_size</c>, default 1).</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a new random order.</param>
    /// <param name="dropLast">Whether to drop the last batch when it is smaller than <paramref name="batchSize"/>;
    /// with batch norm, a last batch of one sample is an error in training.</param>
    /// <param name="generator">The source of each epoch's order; the default generator when null.</param>
    /// <param name="workers">Background threads preparing batches; 0 prepares them on the consumer's thread.</param>
    /// <param name="prefetch">Batches prepared ahead per worker (PyTorch's <c>prefetch_factor</c>, default 2).</param>
    /// <param name="batchTransform">Applied to each stacked batch (MixUp, CutMix), batch i of an epoch with a
    /// generator of its own derived from the epoch's seed, so resumed epochs are the same; null for none.</param>
    public DataLoader(IDataset dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false,
                      Generator? generator = null, int workers = 0, int prefetch = 2, IBatchTransform? batchTransform = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batchSize should be a positive integer; got {batchSize}");
        if (workers < 0)
            throw new ArgumentOutOfRangeException(nameof(workers), $"DataLoader: workers should be non-negative (0 prepares batches on the calling thread); got {workers}");
        if (prefetch <= 0)
            throw new ArgumentOutOfRangeException(nameof(prefetch), $"DataLoader: prefetch should be a positive integer; got {prefetch}");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Workers = workers;
        Prefetch = prefetch;
        _generator = generator;
        _assembler = new BatchAssembler(dataset);
        BatchTransform = batchTransform;
    }

    /// <summary>The transform applied to each stacked batch, or null.</summary>
    public IBatchTransform? BatchTransform { get; }

    /// <summary>The dataset being batched.</summary>
    public IDataset Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a last, smaller batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Background threads preparing batches (0: none).</summary>
    public int Workers { get; }

    /// <summary>Batches prepared ahead per worker.</summary>
    public int Prefetch { get; }

    /// <summary>The number of batches in an epoch, as <c>len(loader)</c>.</summary>
    public int Count
    {
        get
        {
            int n = Dataset.Count;
            return DropLast ? n / BatchSize : (int)(((long)n + BatchSize - 1) / BatchSize);
        }
    }

    /// <summary>Starts an epoch: fixes its order (drawing one seed from the generator when shuffling).</summary>
    public IEnumerator<Batch> GetEnumerator() => StartEpoch(NextEpochSeed());

    /// <summary>
    /// Draws the seed that fixes the next epoch's order and batch transforms from the loader's
    /// generator (the default generator when none was given), as <see cref="GetEnumerator"/> does;
    /// 0, with nothing drawn, when the loader neither shuffles nor transforms batches.
    /// </summary>
    public ulong NextEpochSeed() => Shuffle || BatchTransform is not null ? (_generator ?? Generator.Default).NextUInt64() : 0;

    /// <summary>
    /// Starts the epoch whose order <paramref name="epochSeed"/> fixes (see <see cref="NextEpochSeed"/>),
    /// at its batch <paramref name="startBatch"/>: the batches before it are skipped without being
    /// assembled. Enumerating the loader is <c>StartEpoch(NextEpochSeed())</c>; a training run
    /// interrupted in the middle of an epoch resumes it exactly by keeping the seed and the batches done.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="startBatch"/> is negative or past the epoch's <see cref="Count"/>.</exception>
    public IEnumerator<Batch> StartEpoch(ulong epochSeed, int startBatch = 0)
    {
        int batches = Count;
        if (startBatch < 0 || startBatch > batches)
            throw new ArgumentOutOfRangeException(nameof(startBatch), startBatch, $"DataLoader: startBatch must be between 0 and the {batches} batches of an epoch; got {startBatch}");
        int n = Dataset.Count;
        int[] order;
        if (Shuffle)
        {
            order = Data.Dataset.Permutation(n, new Generator(epochSeed));
        }
        else
        {
            order = new int[n];
            for (int i = 0; i < n; i++) order[i] = i;
        }
        if (startBatch > 0) order = order[(int)Math.Min((long)startBatch * BatchSize, n)..];
        var batchesOut = new DataLoaderEnumerator(_assembler, order, BatchSize, batches - startBatch, Workers, Prefetch);
        return BatchTransform is null ? batchesOut : new BatchTransformEnumerator(batchesOut, BatchTransform, epochSeed, startBatch);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
