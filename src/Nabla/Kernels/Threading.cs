namespace Nabla;

/// <summary>
/// How many threads Nabla's kernels use, like <c>torch.set_num_threads</c>. The default comes from
/// the environment variable <c>NABLA_NUM_THREADS</c>, else the number of processors. Kernels split
/// work over output blocks only, so results are bitwise identical for every thread count.
/// </summary>
public static class Threading
{
    static int s_numThreads = FromEnvironment();

    /// <summary>The number of threads kernels may use (at least 1).</summary>
    public static int NumThreads
    {
        get => s_numThreads;
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"Threading.NumThreads: expected at least 1; got {value}");
            s_numThreads = value;
        }
    }

    [ThreadStatic] static bool t_serial;

    /// <summary>
    /// Whether kernels called on this thread run on it alone. Set on threads that are themselves one
    /// of several workers (a data loader's), where splitting each kernel again would only make the
    /// threads compete for the same cores.
    /// </summary>
    internal static bool SerialOnThisThread
    {
        get => t_serial;
        set => t_serial = value;
    }

    static int FromEnvironment() => Parse(Environment.GetEnvironmentVariable("NABLA_NUM_THREADS"));

    /// <summary>The thread count a value of NABLA_NUM_THREADS asks for; unset or blank means every processor.</summary>
    internal static int Parse(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return Environment.ProcessorCount;
        if (!int.TryParse(s, out int n) || n < 1)
            throw new InvalidOperationException($"NABLA_NUM_THREADS: expected a positive integer; got '{s}'");
        return n;
    }
}
