namespace Nabla.Data;

/// <summary>
/// One epoch of a <see cref="DataLoader"/>: batches assembled on the consumer's thread, or taken
/// in order from a <see cref="Prefetcher"/> started at the first <see cref="MoveNext"/>.
/// </summary>
internal sealed class DataLoaderEnumerator : IEnumerator<Batch>
{
    readonly BatchAssembler _assembler;
    readonly int[] _order;
    readonly int _batchSize, _batches, _workers, _capacity;
    Prefetcher? _prefetcher;
    int _next; // the next batch to hand out
    bool _finished;
    Batch? _current;

    public DataLoaderEnumerator(BatchAssembler assembler, int[] order, int batchSize, int batches, int workers, int prefetch)
    {
        _assembler = assembler;
        _order = order;
        _batchSize = batchSize;
        _batches = batches;
        _workers = workers;
        _capacity = (int)Math.Min(1 << 20, (long)workers * prefetch);
    }

    // An epoch dropped without Dispose: its workers would otherwise wait forever.
    ~DataLoaderEnumerator() => _prefetcher?.Stop(wait: false);

    public Batch Current => _current ?? throw new InvalidOperationException("DataLoader: Current was read before MoveNext or after the end");

    object System.Collections.IEnumerator.Current => Current;

    /// <summary>Whether any worker thread is still running (for tests of early stopping).</summary>
    internal bool AnyWorkerAlive => _prefetcher?.AnyAlive ?? false;

    /// <summary>The workers of this epoch once started (for tests).</summary>
    internal Prefetcher? Prefetcher => _prefetcher;

    Batch Assemble(int b) => Assemble(_assembler, _order, _batchSize, b);

    static Batch Assemble(BatchAssembler assembler, int[] order, int batchSize, int b)
    {
        int start = b * batchSize;
        int count = Math.Min(batchSize, order.Length - start);
        return assembler.Assemble(order.AsSpan(start, count));
    }

    /// <summary>The workers' view of the epoch: a closure that must not capture this enumerator (see the finalizer).</summary>
    static Func<int, Batch> Assembler(BatchAssembler assembler, int[] order, int batchSize) =>
        b => Assemble(assembler, order, batchSize, b);

    public bool MoveNext()
    {
        if (_finished) return false;
        if (_next >= _batches)
        {
            Finish();
            return false;
        }
        if (_workers == 0)
        {
            try { _current = Assemble(_next); }
            catch
            {
                Finish(); // the epoch ends at its first failure, as with workers
                throw;
            }
            _next++;
            return true;
        }
        _prefetcher ??= new Prefetcher(Assembler(_assembler, _order, _batchSize), _batches, _workers, _capacity);
        var (batch, error) = _prefetcher.Take();
        _next++;
        if (error is not null)
        {
            Finish();
            error.Throw(); // the original exception, its message and stack trace intact
        }
        _current = batch;
        return true;
    }

    /// <summary>Stops the workers and waits for them: no dataset access happens after this returns.</summary>
    void Finish()
    {
        _finished = true;
        _current = null;
        _prefetcher?.Stop(wait: true);
    }

    public void Dispose()
    {
        Finish();
        GC.SuppressFinalize(this);
    }

    public void Reset() => throw new NotSupportedException("DataLoader: an epoch cannot be restarted; enumerate the loader again for the next epoch");
}
