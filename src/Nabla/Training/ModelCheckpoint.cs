using System.Globalization;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Training;

/// <summary>
/// Saves the model's weights while training (Keras' ModelCheckpoint): <c>best.safetensors</c>
/// whenever the monitored metric improves, and <c>last.safetensors</c> after every epoch.
/// </summary>
/// <remarks>
/// <para>
/// Each file is the model's state dict alone (<see cref="SafeTensors.Save(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string})"/>
/// of <see cref="Module.StateDict"/>), loadable with <c>model.LoadStateDict(SafeTensors.Load(path))</c>,
/// with metadata <c>epoch</c>, <c>monitor</c> (the metric's name) and <c>value</c> (its value that
/// epoch, round-trip formatted). For resuming training use <see cref="Checkpoint"/>, which also
/// keeps the optimizer, schedulers and generators.
/// </para>
/// <para>
/// Improvement follows <see cref="EarlyStopping"/> with minDelta 0: in Min mode v &lt; best, in
/// Max mode v &gt; best; the first value counts, NaN never does. The best value persists across
/// <see cref="Trainer.Fit"/> calls (as in Keras), so a second Fit only replaces <c>best.safetensors</c>
/// with a better model. The directory is created when training begins. Files are written
/// atomically, so an interrupted save leaves the previous file intact.
/// </para>
/// </remarks>
public sealed class ModelCheckpoint : ITrainerCallback
{
    Module? _model;

    /// <summary>Creates the callback.</summary>
    /// <param name="directory">The folder of <c>best.safetensors</c> and <c>last.safetensors</c> (created if missing).</param>
    /// <param name="monitor">The metric to watch: one of <see cref="EpochRecord.MetricNames"/>.</param>
    /// <param name="mode">Whether lower or higher is better; Auto picks Max for accuracies.</param>
    /// <param name="saveBest">Whether to write <c>best.safetensors</c> on improvement.</param>
    /// <param name="saveLast">Whether to write <c>last.safetensors</c> after every epoch.</param>
    /// <exception cref="ArgumentException">The directory is empty, or the metric is unknown.</exception>
    public ModelCheckpoint(string directory, string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto,
                           bool saveBest = true, bool saveLast = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        MetricMonitor.Validate(monitor, nameof(monitor));
        Directory = directory;
        Monitor = monitor;
        Mode = MetricMonitor.Resolve(monitor, mode);
        SaveBest = saveBest;
        SaveLast = saveLast;
    }

    /// <summary>The folder the files are written to.</summary>
    public string Directory { get; }

    /// <summary>The monitored metric's name.</summary>
    public string Monitor { get; }

    /// <summary>The direction of improvement (never Auto after construction).</summary>
    public MonitorMode Mode { get; }

    /// <summary>Whether <c>best.safetensors</c> is written on improvement.</summary>
    public bool SaveBest { get; }

    /// <summary>Whether <c>last.safetensors</c> is written after every epoch.</summary>
    public bool SaveLast { get; }

    /// <summary>The path of the best epoch's weights.</summary>
    public string BestPath => Path.Combine(Directory, "best.safetensors");

    /// <summary>The path of the last epoch's weights.</summary>
    public string LastPath => Path.Combine(Directory, "last.safetensors");

    /// <summary>The epoch with the best value so far (from 1), or 0 before any improvement.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The best value so far (NaN before any improvement).</summary>
    public double BestValue { get; private set; } = double.NaN;

    /// <summary>Remembers the model and creates the directory.</summary>
    public void OnTrainBegin(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>Writes <c>last.safetensors</c>, and <c>best.safetensors</c> when the metric improved; never stops training.</summary>
    /// <exception cref="ArgumentException">The monitored metric is unknown to the record.</exception>
    public string? OnEpochEnd(EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_model is null)
            throw new InvalidOperationException("ModelCheckpoint needs the model: it is given by Trainer.Fit (or call OnTrainBegin(model))");
        double v = record.Get(Monitor);
        if (MetricMonitor.Improves(Mode, v, BestValue, BestEpoch != 0, minDelta: 0))
        {
            BestValue = v;
            BestEpoch = record.Epoch;
            if (SaveBest) Write(BestPath, record.Epoch, v);
        }
        if (SaveLast) Write(LastPath, record.Epoch, v);
        return null;
    }

    void Write(string path, int epoch, double value) =>
        SafeTensors.Save(path, _model!.StateDict(), new Dictionary<string, string>
        {
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["monitor"] = Monitor,
            ["value"] = value.ToString("R", CultureInfo.InvariantCulture),
        });
}
