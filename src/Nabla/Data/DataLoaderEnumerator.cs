using System.Runtime.ExceptionServices;

namespace Nabla.Data;

/// <summary>
/// One epoch of a <see cref="DataLoader"/>. With workers, batch b goes to slot b % capacity of a
/// ring; a worker may claim batch b only once batch b - capacity has been taken by the consumer, so
/// at most capacity batches exist ahead of it, and the consumer takes batches strictly in order.
/// </summary>
internal sealed class DataLoaderEnumerator : IEnumerator<Batch>
{
    readonly BatchAssembler _assembler;
    readonly int[] _order;
    readonly int _batchSize, _batches, _workers, _capacity;

    int _next;            // the next batch the consumer takes
    bool _finished;
    Batch? _current;

    // Shared with the workers, guarded by _gate.
    readonly object _gate = new();
    Thread[]? _threads;
    int _claimed;         // the next batch a worker will claim
    bool _stop;
    readonly Batch?[] _ready;
    readonly ExceptionDispatchInfo?[] _errors;
    readonly bool[] _filled;

    public DataLoaderEnumerator(BatchAssembler assembler, int[] order, int batchSize, int batches, int workers, int prefetch)
    {
        _assembler = assembler;
        _order = order;
        _batchSize = batchSize;
        _batches = batches;
        _workers = workers;
        _capacity = workers == 0 ? 0 : (int)Math.Min(int.MaxValue / 2, (long)workers * prefetch);
        _ready = new Batch?[_capacity];
        _errors = new ExceptionDispatchInfo?[_capacity];
        _filled = new bool[_capacity];
    }

    public Batch Current => _current ?? throw new InvalidOperationException("DataLoader: Current was read before MoveNext or after the end");

    object System.Collections.IEnumerator.Current => Current;

    /// <summary>Whether any worker thread is still running (for tests of early stopping).</summary>
    internal bool AnyWorkerAlive => _threads is not null && Array.Exists(_threads, t => t.IsAlive);

    Batch Assemble(int b)
    {
        int start = b * _batchSize;
        int count = Math.Min(_batchSize, _order.Length - start);
        return _assembler.Assemble(_order.AsSpan(start, count));
    }

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
        if (_threads is null) StartWorkers();
        Batch? batch;
        ExceptionDispatchInfo? error;
        lock (_gate)
        {
            int s = _next % _capacity;
            while (!_filled[s]) Monitor.Wait(_gate);
            batch = _ready[s];
            error = _errors[s];
            _ready[s] = null;
            _errors[s] = null;
            _filled[s] = false;
            _next++;
            Monitor.PulseAll(_gate);
        }
        if (error is not null)
        {
            Finish();
            error.Throw(); // the original exception, its message and stack trace intact
        }
        _current = batch;
        return true;
    }

    void StartWorkers()
    {
        _threads = new Thread[Math.Min(_workers, _batches)];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"Nabla DataLoader worker {i}" };
            _threads[i].Start();
        }
    }

    void Work()
    {
        while (true)
        {
            int b;
            lock (_gate)
            {
                while (!_stop && _claimed < _batches && _claimed >= _next + _capacity) Monitor.Wait(_gate);
                if (_stop || _claimed >= _batches) return;
                b = _claimed++;
            }
            Batch? batch = null;
            ExceptionDispatchInfo? error = null;
            try { batch = Assemble(b); }
#pragma warning disable CA1031 // any failure belongs to the consumer, who rethrows it
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
#pragma warning restore CA1031
            lock (_gate)
            {
                int s = b % _capacity;
                _ready[s] = batch;
                _errors[s] = error;
                _filled[s] = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Stops the workers and waits for them: no dataset access happens after this returns.</summary>
    void Finish()
    {
        _finished = true;
        _current = null;
        if (_threads is null) return;
        lock (_gate)
        {
            _stop = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _threads) t.Join();
    }

    public void Dispose() => Finish();

    public void Reset() => throw new NotSupportedException("DataLoader: an epoch cannot be restarted; enumerate the loader again for the next epoch");
}
