namespace Nabla.Training;

/// <summary>The per-epoch records of one <see cref="Trainer.Fit"/> call, and why it ended early if it did.</summary>
public sealed class History
{
    readonly List<EpochRecord> _records = [];

    /// <summary>One record per completed epoch, in order.</summary>
    public IReadOnlyList<EpochRecord> Records => _records;

    /// <summary>Why training stopped before the requested number of epochs (a callback's reason), or null.</summary>
    public string? StopReason { get; internal set; }

    /// <summary>Whether <see cref="Trainer.Fit"/> was cancelled in the middle of an epoch (see <see cref="Trainer.InterruptedEpoch"/>).</summary>
    public bool Interrupted { get; internal set; }

    /// <summary>Whether a callback stopped training before the requested number of epochs.</summary>
    public bool StoppedEarly => StopReason is not null;

    /// <summary>The values of one metric (see <see cref="EpochRecord.Get"/>), one per epoch.</summary>
    public double[] Values(string metric)
    {
        if (!EpochRecord.MetricNames.Contains(metric)) throw EpochRecord.UnknownMetric(metric, nameof(metric));
        var v = new double[_records.Count];
        for (int i = 0; i < v.Length; i++) v[i] = _records[i].Get(metric);
        return v;
    }

    internal void Add(EpochRecord record) => _records.Add(record);
}
