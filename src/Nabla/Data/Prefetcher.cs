using System.Runtime.ExceptionServices;

namespace Nabla.Data;

/// <summary>
/// The background half of a <see cref="DataLoader"/> epoch: worker threads assembling batches into
/// a ring of slots. Batch b goes to slot b % capacity; a worker may claim batch b only once the
/// consumer has taken batch b - capacity, so at most capacity batches wait ahead of the consumer,
/// who takes them strictly in order.
/// </summary>
/// <remarks>
/// The workers hold this object, not the enumerator, so an enumerator dropped without being
/// disposed can still be finalized, and its finalizer stops them.
/// </remarks>
internal sealed class Prefetcher
{
    readonly Func<int, Batch> _assemble;
    readonly int _batches, _capacity;
    readonly object _gate = new();
    readonly Batch?[] _ready;
    readonly ExceptionDispatchInfo?[] _errors;
    readonly bool[] _filled;
    readonly Thread[] _threads;
    int _taken;   // batches the consumer has taken
    int _claimed; // the next batch a worker will claim
    bool _stop;

    public Prefetcher(Func<int, Batch> assemble, int batches, int workers, int capacity)
    {
        _assemble = assemble;
        _batches = batches;
        _capacity = capacity;
        _ready = new Batch?[capacity];
        _errors = new ExceptionDispatchInfo?[capacity];
        _filled = new bool[capacity];
        _threads = new Thread[Math.Min(workers, batches)];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"Nabla DataLoader worker {i}" };
            _threads[i].Start();
        }
    }

    public bool AnyAlive => Array.Exists(_threads, t => t.IsAlive);

    /// <summary>Waits up to <paramref name="timeout"/> for every worker to end; whether they all did.</summary>
    public bool Join(TimeSpan timeout) => Array.TrueForAll(_threads, t => t.Join(timeout));

    /// <summary>Waits for the next batch in order; a failure to prepare it comes back as the captured exception.</summary>
    public (Batch? Batch, ExceptionDispatchInfo? Error) Take()
    {
        lock (_gate)
        {
            int s = _taken % _capacity;
            while (!_filled[s]) Monitor.Wait(_gate);
            var result = (_ready[s], _errors[s]);
            _ready[s] = null;
            _errors[s] = null;
            _filled[s] = false;
            _taken++;
            Monitor.PulseAll(_gate);
            return result;
        }
    }

    void Work()
    {
        // The workers already share the cores: their kernels must not split again across them.
        Threading.SerialOnThisThread = true;
        while (true)
        {
            int b;
            lock (_gate)
            {
                while (!_stop && _claimed < _batches && _claimed >= _taken + _capacity) Monitor.Wait(_gate);
                if (_stop || _claimed >= _batches) return;
                b = _claimed++;
            }
            Batch? batch = null;
            ExceptionDispatchInfo? error = null;
            try { batch = _assemble(b); }
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

    /// <summary>Tells the workers to stop after the batch each is preparing; with <paramref name="wait"/>, waits for them.</summary>
    public void Stop(bool wait)
    {
        lock (_gate)
        {
            _stop = true;
            Monitor.PulseAll(_gate);
        }
        if (wait)
            foreach (var t in _threads) t.Join();
    }
}
