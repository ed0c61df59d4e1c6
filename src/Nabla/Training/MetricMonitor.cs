namespace Nabla.Training;

/// <summary>
/// The improvement rule shared by everything that watches a metric (<see cref="EarlyStopping"/>,
/// <see cref="ModelCheckpoint"/>, the <c>nabla</c> command's best epoch), so they agree on what
/// "better" means.
/// </summary>
public static class MetricMonitor
{
    /// <summary>Checks that <paramref name="monitor"/> is a metric <see cref="EpochRecord.Get"/> knows.</summary>
    public static void Validate(string monitor, string paramName)
    {
        ArgumentNullException.ThrowIfNull(monitor, paramName);
        if (!EpochRecord.MetricNames.Contains(monitor)) throw EpochRecord.UnknownMetric(monitor, paramName);
    }

    /// <summary>Auto becomes Max for accuracies and Min otherwise (Keras' "auto").</summary>
    public static MonitorMode Resolve(string monitor, MonitorMode mode) =>
        mode != MonitorMode.Auto ? mode : monitor.Contains("accuracy", StringComparison.Ordinal) ? MonitorMode.Max : MonitorMode.Min;

    /// <summary>
    /// Whether <paramref name="value"/> improves on <paramref name="best"/>: in Min mode when
    /// value &lt; best − minDelta, in Max mode when value &gt; best + minDelta; the first value
    /// (<paramref name="hasBest"/> false) always does. NaN never improves.
    /// </summary>
    public static bool Improves(MonitorMode mode, double value, double best, bool hasBest, double minDelta) =>
        !double.IsNaN(value) && (!hasBest || (mode == MonitorMode.Min ? value < best - minDelta : value > best + minDelta));
}
