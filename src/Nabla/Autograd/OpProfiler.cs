using System.Diagnostics;

namespace Nabla;

/// <summary>
/// Where a training step's time goes: when enabled on a thread, every module's forward (by its
/// path in the model, including its children) and every backward rule (by operation name) adds its
/// wall time here. For benchmarks and investigations; off by default, and then it costs one
/// thread-static read per call.
/// </summary>
internal static class OpProfiler
{
    [ThreadStatic] static Dictionary<string, (long Ticks, long Calls)>? t_totals;

    public static bool Enabled => t_totals is not null;

    public static void Start() => t_totals = [];

    /// <summary>Stops profiling and returns milliseconds and calls per entry, largest first.</summary>
    public static List<(string Name, double Ms, long Calls)> Stop()
    {
        var totals = t_totals ?? [];
        t_totals = null;
        return [.. totals.Select(kv => (kv.Key, kv.Value.Ticks * 1000.0 / Stopwatch.Frequency, kv.Value.Calls)).OrderByDescending(e => e.Item2)];
    }

    public static void Add(string name, long startTimestamp)
    {
        var totals = t_totals;
        if (totals is null) return;
        long dt = Stopwatch.GetTimestamp() - startTimestamp;
        totals[name] = totals.TryGetValue(name, out var v) ? (v.Ticks + dt, v.Calls + 1) : (dt, 1);
    }
}
