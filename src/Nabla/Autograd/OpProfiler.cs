using System.Diagnostics;

namespace Nabla;

/// <summary>
/// Where a training step's time goes: when enabled on a thread, every module's forward (by its
/// path in the model, including its children) and every backward rule (by operation name) adds its
/// wall time here. For benchmarks and investigations.
/// </summary>
/// <remarks>
/// One switch, read once at start-up: the environment variable <c>NABLA_PROFILE=1</c>. Without it
/// <see cref="Available"/> is a false <c>static readonly</c>, which the JIT folds, so the checks in
/// the autograd loop and in <c>Module.Forward</c> compile to nothing (bench/results shows the same
/// speed with and without these call sites).
/// </remarks>
internal static class OpProfiler
{
    [ThreadStatic] static Dictionary<string, (long Ticks, long Calls)>? t_totals;

    /// <summary>Whether this process may profile at all (NABLA_PROFILE=1 at start-up).</summary>
    public static readonly bool Available = Environment.GetEnvironmentVariable("NABLA_PROFILE") == "1";

    public static bool Enabled => Available && t_totals is not null;

    /// <summary>Starts profiling this thread.</summary>
    /// <exception cref="InvalidOperationException">The process started without NABLA_PROFILE=1.</exception>
    public static void Start() => t_totals = Available ? []
        : throw new InvalidOperationException("OpProfiler: start the process with NABLA_PROFILE=1 to profile (off, the profiler compiles to nothing)");

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
