namespace Nabla.Kernels;

/// <summary>A piece of parallel work: part <c>part</c> of <c>parts</c>, run once on some thread.</summary>
internal interface IParallelJob
{
    void Run(int part, int parts);
}

/// <summary>
/// Persistent worker threads for kernels. The caller runs part 0 itself and workers run the rest;
/// a worker spins briefly after each job (back-to-back kernels in a training step then cost well
/// under a microsecond to dispatch) and then parks on a semaphore. Dispatch allocates nothing.
/// A call made while another is in flight (from another thread, or nested) runs serially.
/// </summary>
internal static class WorkerPool
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Workers live as long as the process.")]
    sealed class Worker
    {
        public readonly SemaphoreSlim Wake = new(0);
        public int Parked;
        public int Part;
    }

    static readonly object s_lock = new();
    static Worker[] s_workers = [];
    static IParallelJob? s_job;
    static int s_parts;
    static long s_generation;
    static int s_pending;
    static int s_busy;
    static Exception? s_error;

    /// <summary>Spin iterations (of Thread.SpinWait(8)) before a worker parks: tens of microseconds.</summary>
    const int SpinIterations = 4000;

    public static void Run(IParallelJob job, int parts)
    {
        if (parts <= 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) job.Run(p, parts);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            s_job = job;
            s_parts = parts;
            s_error = null;
            // Every worker acknowledges every job (those not needed skip it), so none can lag
            // behind into the next generation.
            var workers = s_workers;
            Volatile.Write(ref s_pending, workers.Length);
            for (int w = 0; w < workers.Length; w++) workers[w].Part = w + 1;
            Interlocked.Increment(ref s_generation);
            for (int w = 0; w < workers.Length; w++)
                if (Interlocked.CompareExchange(ref workers[w].Parked, 0, 1) == 1) workers[w].Wake.Release();
            job.Run(0, parts);
            var spin = new SpinWait();
            while (Volatile.Read(ref s_pending) != 0) spin.SpinOnce(-1);
            s_job = null;
            if (s_error is { } e) throw new AggregateException("A kernel worker failed", e);
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    static void EnsureWorkers(int count)
    {
        if (s_workers.Length >= count) return;
        lock (s_lock)
        {
            var ws = s_workers;
            if (ws.Length >= count) return;
            var grown = new Worker[count];
            Array.Copy(ws, grown, ws.Length);
            for (int i = ws.Length; i < count; i++)
            {
                var w = grown[i] = new Worker();
                int index = i;
                long start = Volatile.Read(ref s_generation); // the worker waits for the next job
                var t = new Thread(() => Loop(w, index, start)) { IsBackground = true, Name = $"nabla-worker-{i + 1}" };
                t.Start();
            }
            s_workers = grown;
        }
    }

    static void Loop(Worker w, int index, long seen)
    {
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref s_generation) == seen)
            {
                if (++spins < SpinIterations) { Thread.SpinWait(8); continue; }
                Interlocked.Exchange(ref w.Parked, 1);
                if (Volatile.Read(ref s_generation) != seen)
                {
                    // A job arrived while parking: take it, but if the dispatcher already cleared
                    // the flag it also released the semaphore, which must be consumed.
                    if (Interlocked.CompareExchange(ref w.Parked, 0, 1) != 1) w.Wake.Wait();
                    break;
                }
                w.Wake.Wait();
                spins = 0;
            }
            seen = Volatile.Read(ref s_generation);
            var job = s_job;
            // Only workers with an index below parts-1 take part in this job.
            if (job is not null && index < s_parts - 1)
            {
                try { job.Run(w.Part, s_parts); }
                catch (Exception e) { s_error = e; }
            }
            Interlocked.Decrement(ref s_pending);
        }
    }
}
