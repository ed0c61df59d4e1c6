namespace Nabla.Kernels;

/// <summary>A piece of element-wise work over a range of indices.</summary>
internal interface IRangeBody
{
    void Run(int start, int length);
}

/// <summary>
/// Splits element-wise work over [0, n) across the worker pool in chunks of at least
/// <see cref="MinChunk"/> elements. Memory-bound kernels (activations, their gradients) gain from a
/// second core's share of the memory bandwidth; each chunk computes its own elements only, so results
/// do not depend on the thread count. Allocates nothing: the job object is cached per body type.
/// </summary>
internal static class ParallelRange
{
    /// <summary>Below this many elements per chunk, dispatch costs more than it saves.</summary>
    public const int MinChunk = 1 << 15;

    sealed class Job<TBody> : IParallelJob where TBody : struct, IRangeBody
    {
        public TBody Body;
        public int N;

        public void RunChunk(int chunk, int chunks)
        {
            int start = (int)((long)N * chunk / chunks), end = (int)((long)N * (chunk + 1) / chunks);
            if (end > start) Body.Run(start, end - start);
        }
    }

    static class Cache<TBody> where TBody : struct, IRangeBody
    {
        [ThreadStatic] public static Job<TBody>? Job;
    }

    public static void Run<TBody>(int n, TBody body) where TBody : struct, IRangeBody
    {
        int chunks = Math.Min(n / MinChunk, 2 * Threading.NumThreads);
        if (chunks <= 1)
        {
            body.Run(0, n);
            return;
        }
        var job = Cache<TBody>.Job ??= new Job<TBody>();
        job.Body = body;
        job.N = n;
        WorkerPool.Run(job, chunks, Threading.NumThreads);
        job.Body = default;
    }
}
