using System.Diagnostics;

namespace Nabla.Kernels;

/// <summary>
/// Whether the host has put the caller's core and the first worker's on different last-level caches
/// (two CCXs of an EPYC, say), measured by bouncing a cache line between them. A virtual machine's
/// cores are moved by its host now and then, so the answer is measured again when it is older than
/// <see cref="MaxAgeSeconds"/>: one probe of <see cref="Trips"/> round trips costs 0.1-0.5 ms.
/// </summary>
/// <remarks>
/// On the 2-core EPYC 9004 VMs this was built on, a round trip takes 60-190 ns with both cores on one
/// CCX and 300-450 ns across two (docs/performance.md, "Where the two cores are"). Data that one core
/// writes and the other reads then moves about three times slower, and kernels that hand large buffers
/// between the cores (Winograd's) lose most; <see cref="DirectConv"/> is chosen instead.
/// </remarks>
internal static class CorePlacement
{
    /// <summary>A round trip slower than this means the cores are apart.</summary>
    internal const double ApartNs = 250;

    internal const int Trips = 1000;

    internal const double MaxAgeSeconds = 0.5;

    static long s_next;
    static bool s_apart;
    static readonly PingPong s_probe = new();

    /// <summary>For tests: the verdict to give instead of probing (null: probe).</summary>
    internal static bool? Override { get; set; }

    /// <summary>Whether the cores were apart at the last probe, probing again first when it is stale; false with one thread.</summary>
    public static bool Apart
    {
        get
        {
            if (Override is { } forced) return forced;
            if (Threading.NumThreads < 2) return false;
            long now = Stopwatch.GetTimestamp();
            if (now >= Volatile.Read(ref s_next))
            {
                Volatile.Write(ref s_next, now + (long)(MaxAgeSeconds * Stopwatch.Frequency));
                double ns = RoundTripNs();
                // No answer in time (a worker busy elsewhere or descheduled): keep the last verdict.
                if (!double.IsNaN(ns)) s_apart = ns > ApartNs;
            }
            return s_apart;
        }
    }

    /// <summary>
    /// Nanoseconds per round trip of a cache line between this thread and a worker of the pool, or NaN when no
    /// worker took part within a millisecond (the pool busy with another caller, or the worker descheduled), when
    /// the trips took over <see cref="MaxProbeMs"/> in all (a core shared with another program), or when a worker
    /// rather than this thread took the first chunk.
    /// </summary>
    public static double RoundTripNs()
    {
        if (Threading.SerialOnThisThread) return double.NaN;
        lock (s_probe)
        {
            s_probe.Reset(Environment.CurrentManagedThreadId);
            WorkerPool.Run(s_probe, 2, 2);
            return s_probe.Ns;
        }
    }

    /// <summary>The longest a probe may take: 1,000 round trips take 0.1-0.5 ms on two free cores.</summary>
    internal const double MaxProbeMs = 5;

    /// <summary>Chunk 0 (the caller's) and chunk 1 (a worker's) pass a counter back and forth.</summary>
    sealed class PingPong : IParallelJob
    {
        // The state at [8] (0 waiting, 1 both there, -1 given up) and the counter at [24], on cache lines of their own.
        readonly long[] _line = new long[48];
        int _caller;
        public double Ns;

        public void Reset(int caller)
        {
            Volatile.Write(ref _line[8], 0);
            Volatile.Write(ref _line[24], 0);
            _caller = caller;
            Ns = double.NaN;
        }

        public void RunChunk(int chunk, int chunks)
        {
            ref long state = ref _line[8];
            ref long counter = ref _line[24];
            if (chunk == 1)
            {
                // Arrive, unless chunk 0 has given up (then it may be this very thread running both chunks).
                if (Interlocked.CompareExchange(ref state, 1, 0) != 0) return;
                for (long i = 1; i < 2 * Trips; i += 2)
                {
                    while (Volatile.Read(ref counter) != i)
                        if (Volatile.Read(ref state) < 0) return;
                    Volatile.Write(ref counter, i + 1);
                }
                return;
            }
            // Only the caller's core is measured: a worker that took the first chunk (more than two threads) gives up.
            if (Environment.CurrentManagedThreadId != _caller)
            {
                if (Interlocked.CompareExchange(ref state, -1, 0) == 0) return;
                Volatile.Write(ref state, -1);
                return;
            }
            long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 1000;
            while (Volatile.Read(ref state) == 0)
            {
                Thread.SpinWait(16);
                if (Stopwatch.GetTimestamp() > deadline && Interlocked.CompareExchange(ref state, -1, 0) == 0) return;
            }
            long t0 = Stopwatch.GetTimestamp();
            deadline = t0 + (long)(MaxProbeMs * 1e-3 * Stopwatch.Frequency);
            for (long i = 0; i < 2 * Trips; i += 2)
            {
                Volatile.Write(ref counter, i + 1);
                for (int spins = 0; Volatile.Read(ref counter) != i + 2; spins++)
                {
                    if ((spins & 1023) == 1023 && Stopwatch.GetTimestamp() > deadline)
                    {
                        Volatile.Write(ref state, -1); // the worker stops waiting too
                        return;
                    }
                }
            }
            Ns = (double)(Stopwatch.GetTimestamp() - t0) / Stopwatch.Frequency / Trips * 1e9;
        }
    }
}
