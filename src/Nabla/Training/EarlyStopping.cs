using System.Globalization;
using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Stops training when a monitored metric has stopped improving, says why, and can put back the
/// weights of the best epoch.
/// </summary>
/// <remarks>
/// <para>
/// After the first <c>warmupEpochs</c> epochs (ignored: early epochs are noisy), each epoch's
/// value v of <c>monitor</c> is compared with the best so far: in Min mode it improves when
/// v &lt; best − minDelta, in Max mode when v &gt; best + minDelta. An improvement resets the
/// wait; otherwise the wait grows by one, and training stops when it reaches <c>patience</c>
/// (Keras' EarlyStopping; patience 0 stops at the first epoch without improvement).
/// </para>
/// <para>
/// The reason reads like "val_loss did not improve by more than 0.001 for 3 epochs after epoch 5
/// (best 0.312)". With <c>restoreBestWeights</c> a copy of the model's state dict is taken at
/// every improvement and loaded back when training ends (stopped or not), unless the last epoch
/// was the best. Defaults: monitor "val_loss", mode Auto, patience 3, minDelta 0, no warmup, no restore.
/// </para>
/// </remarks>
public sealed class EarlyStopping : ITrainerCallback
{
    Module? _model;
    OrderedDictionary<string, Tensor>? _bestWeights;
    int _lastEpoch;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The metric to watch: one of <see cref="EpochRecord.MetricNames"/>.</param>
    /// <param name="mode">Whether lower or higher is better; Auto picks Max for accuracies.</param>
    /// <param name="patience">Epochs without improvement to allow before stopping.</param>
    /// <param name="minDelta">The least change that counts as an improvement.</param>
    /// <param name="warmupEpochs">Leading epochs that are not monitored at all.</param>
    /// <param name="restoreBestWeights">Whether to load the best epoch's weights back at the end.</param>
    public EarlyStopping(string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, int patience = 3,
                         double minDelta = 0, int warmupEpochs = 0, bool restoreBestWeights = false)
    {
        MetricMonitor.Validate(monitor, nameof(monitor));
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, $"Invalid patience: {patience}");
        if (!(minDelta >= 0)) throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"Invalid minDelta: {minDelta}");
        if (warmupEpochs < 0) throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, $"Invalid warmupEpochs: {warmupEpochs}");
        Monitor = monitor;
        Mode = MetricMonitor.Resolve(monitor, mode);
        Patience = patience;
        MinDelta = minDelta;
        WarmupEpochs = warmupEpochs;
        RestoreBestWeights = restoreBestWeights;
    }

    /// <summary>The monitored metric's name.</summary>
    public string Monitor { get; }

    /// <summary>The direction of improvement (never Auto after construction).</summary>
    public MonitorMode Mode { get; }

    /// <summary>Epochs without improvement allowed before stopping.</summary>
    public int Patience { get; }

    /// <summary>The least change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Leading epochs that are not monitored.</summary>
    public int WarmupEpochs { get; }

    /// <summary>Whether the best weights are loaded back when training ends.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The epoch with the best value so far (from 1), or 0 before any monitored epoch.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The best value so far (NaN before any monitored epoch).</summary>
    public double BestValue { get; private set; } = double.NaN;

    /// <summary>Monitored epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The epoch at which this callback stopped training, or 0.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>Why this callback stopped training, or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>The epoch whose weights were loaded back at the end, or 0 when none were.</summary>
    public int RestoredEpoch { get; private set; }

    /// <summary>Remembers the model (for the weights) and forgets any earlier run.</summary>
    public void OnTrainBegin(Module model)
    {
        _model = model;
        _bestWeights = null;
        _lastEpoch = 0;
        BestEpoch = StoppedEpoch = RestoredEpoch = Wait = 0;
        BestValue = double.NaN;
        StopReason = null;
    }

    /// <summary>Compares the epoch's value with the best; returns the reason when the patience has run out.</summary>
    public string? OnEpochEnd(EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _lastEpoch = record.Epoch;
        if (record.Epoch <= WarmupEpochs) return null;
        double v = record.Get(Monitor);
        if (BestEpoch == 0 && double.IsNaN(v))
            throw new InvalidOperationException(
                $"EarlyStopping monitors '{Monitor}' but epoch {record.Epoch} has no value for it (NaN)\n" +
                "hint: pass a validation loader to Fit for val_* metrics, or monitor 'loss'");
        if (MetricMonitor.Improves(Mode, v, BestValue, BestEpoch != 0, MinDelta))
        {
            BestValue = v;
            BestEpoch = record.Epoch;
            Wait = 0;
            if (RestoreBestWeights) _bestWeights = Snapshot();
            return null;
        }
        if (++Wait < Patience) return null;
        StoppedEpoch = record.Epoch;
        StopReason = string.Create(CultureInfo.InvariantCulture,
            $"{Monitor} did not improve by more than {MinDelta} for {Wait} epoch{(Wait == 1 ? "" : "s")} after epoch {BestEpoch} (best {BestValue:G4})");
        return StopReason;
    }

    /// <summary>Loads the best weights back when asked to and the last epoch was not the best.</summary>
    public void OnTrainEnd(History history)
    {
        if (!RestoreBestWeights || _bestWeights is null || _model is null || BestEpoch == _lastEpoch) return;
        _model.LoadStateDict(_bestWeights);
        RestoredEpoch = BestEpoch;
    }

    OrderedDictionary<string, Tensor> Snapshot()
    {
        if (_model is null)
            throw new InvalidOperationException("EarlyStopping with restoreBestWeights needs the model: it is given by Trainer.Fit (or call OnTrainBegin(model))");
        var copy = new OrderedDictionary<string, Tensor>();
        foreach (var (key, value) in _model.StateDict()) copy.Add(key, value.Clone());
        return copy;
    }
}
