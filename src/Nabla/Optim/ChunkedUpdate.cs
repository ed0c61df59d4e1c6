using Nabla.Kernels;

namespace Nabla.Optim;

/// <summary>
/// An element-wise optimizer update split into contiguous chunks on the worker pool. Every element's
/// update depends on that element alone and the vector and scalar loops round identically, so the
/// result is bitwise the same for every thread count.
/// </summary>
/// <remarks>
/// The update streams several arrays through memory once; one core cannot saturate the memory bus,
/// so large parameters are split. Small ones run on the caller, where dispatch would cost more than
/// it saves. Each optimizer keeps one instance and refills its fields per parameter: no allocation.
/// </remarks>
internal abstract class ChunkedUpdate : IParallelJob
{
    /// <summary>Below this many elements per chunk (128 KiB per array) a thread is not worth waking.</summary>
    const int MinChunk = 1 << 15;

    /// <summary>Chunk boundaries fall on multiples of this, so each chunk's vector loop covers the same lanes.</summary>
    const int Align = 64;

    int _n;

    /// <summary>Runs <see cref="Apply"/> over [0, <paramref name="n"/>), in parallel when large enough.</summary>
    public void Run(int n)
    {
        int threads = Threading.NumThreads;
        int chunks = threads <= 1 ? 1 : Math.Min(n / MinChunk, 2 * threads);
        if (chunks <= 1)
        {
            Apply(0, n);
            return;
        }
        _n = n;
        WorkerPool.Run(this, chunks, threads);
    }

    public void RunChunk(int chunk, int chunks)
    {
        int start = Bound(chunk, chunks), end = Bound(chunk + 1, chunks);
        if (end > start) Apply(start, end - start);
    }

    int Bound(int chunk, int chunks) =>
        chunk == chunks ? _n : (int)((long)_n * chunk / chunks / Align * Align);

    /// <summary>Updates the <paramref name="length"/> elements from <paramref name="start"/>.</summary>
    protected abstract void Apply(int start, int length);
}
