using System.Diagnostics;

/// <summary>
/// The round trip of one cache line between two threads, as each writes a counter the other waits for.
/// On a two-core virtual machine it says where the host has put the two cores: about 80 ns when they
/// share a last-level cache (one CCX of an EPYC), about 340 ns when they do not, and the data a
/// two-thread kernel passes between its threads then crosses the processor's fabric.
/// </summary>
static class CoreLatency
{
    const int RoundTrips = 200_000;

    /// <summary>Nanoseconds per round trip between this thread and a new one.</summary>
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
}
