using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

/// <summary>
/// Where the host has put the machine's two cores. On a two-core virtual machine they land either on one
/// last-level cache (one CCX of an EPYC) or on two, and the data a two-thread kernel hands from one
/// thread to the other then crosses the processor's fabric. <see cref="RoundTripNs"/> tells the two
/// apart (about 80 ns against 340); <see cref="Transfer"/> measures what a hand-over costs.
/// </summary>
static unsafe partial class CoreLatency
{
    const int RoundTrips = 200_000;

    /// <summary>Nanoseconds per round trip of a cache line between this thread and a new one.</summary>
    public static double RoundTripNs()
    {
        var line = new long[32]; // the counter at [8], on a cache line of its own
        var other = new Thread(() =>
        {
            for (long i = 1; i < 2 * RoundTrips; i += 2)
            {
                while (Volatile.Read(ref line[8]) != i) { }
                Volatile.Write(ref line[8], i + 1);
            }
        });
        other.Start();
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < 2 * RoundTrips; i += 2)
        {
            while (Volatile.Read(ref line[8]) != i) { }
            Volatile.Write(ref line[8], i + 1);
        }
        other.Join();
        return sw.Elapsed.TotalSeconds / RoundTrips * 1e9;
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SetAffinity(int pid, nint size, ref ulong mask);

    /// <summary>
    /// GB/s at which a thread on core 1 writes, then reads, 512 KB that a thread on core 0 has just written,
    /// and the same of 512 KB only it touches; the two threads take turns, 400 times. Linux only (it pins the
    /// threads); with fewer than two cores, nothing.
    /// </summary>
    public static (double WriteOthers, double ReadOthers, double WriteOwn, double ReadOwn)? Transfer()
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessorCount < 2) return null;
        return (Turns(handedOver: true, write: true), Turns(true, false), Turns(false, true), Turns(false, false));
    }

    static double Turns(bool handedOver, bool write)
    {
        const int Bytes = 512 * 1024, Floats = Bytes / 4, Reps = 400;
        float* shared = (float*)NativeMemory.AlignedAlloc(Bytes, 64), own = (float*)NativeMemory.AlignedAlloc(Bytes, 64);
        float* firstOwn = (float*)NativeMemory.AlignedAlloc(Bytes, 64);
        int turn = 0;
        long ticks = 0;
        var first = new Thread(() =>
        {
            ulong core0 = 1;
            SetAffinity(0, sizeof(ulong), ref core0);
            for (int r = 0; r < Reps; r++)
            {
                while (Volatile.Read(ref turn) != 0) { }
                Fill(handedOver ? shared : firstOwn, Floats, r);
                Volatile.Write(ref turn, 1);
            }
        });
        var second = new Thread(() =>
        {
            ulong core1 = 2;
            SetAffinity(0, sizeof(ulong), ref core1);
            float sum = 0;
            for (int r = 0; r < Reps; r++)
            {
                while (Volatile.Read(ref turn) != 1) { }
                long t0 = Stopwatch.GetTimestamp();
                float* p = handedOver ? shared : own;
                if (write) Fill(p, Floats, r);
                else sum += Sum(p, Floats);
                ticks += Stopwatch.GetTimestamp() - t0;
                Volatile.Write(ref turn, 0);
            }
            GC.KeepAlive(sum);
        });
        first.Start();
        second.Start();
        first.Join();
        second.Join();
        NativeMemory.AlignedFree(shared);
        NativeMemory.AlignedFree(own);
        NativeMemory.AlignedFree(firstOwn);
        return Math.Round((double)Bytes * Reps / (ticks / (double)Stopwatch.Frequency) / 1e9, 1);
    }

    static void Fill(float* p, int n, float v)
    {
        var x = Vector512.Create(v);
        for (int i = 0; i < n; i += 16) x.Store(p + i);
    }

    static float Sum(float* p, int n)
    {
        var a = Vector512<float>.Zero;
        for (int i = 0; i < n; i += 16) a += Vector512.Load(p + i);
        return a.ToScalar();
    }
}
