using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Serialization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla train</c>: trains a model preset on Fashion-MNIST and writes a run folder (see
/// <see cref="RunFolder"/>). Ctrl+C stops between two batches and saves a checkpoint;
/// <c>--resume RUN</c> continues exactly where it stopped.
/// </summary>
internal static class TrainCommand
{
    static readonly OptionSpec ConfigOption = new("--config", OptionKind.Path, "JSON file of options (keys as in a run's config.json); flags override it", InConfig: false);
    static readonly OptionSpec ResumeOption = new("--resume", OptionKind.Path, "continue the run in this folder from its checkpoint, with its saved configuration", InConfig: false);

    public static readonly OptionSpec[] Options = [.. TrainConfig.Options, ConfigOption, ResumeOption];

    // What --resume may change: how the work is spread over this machine, never what is computed.
    static readonly string[] ResumeMayChange = ["threads", "workers"];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console, CancellationToken cancel, Action<TrainingProgress>? onProgress = null)
    {
        var parsed = ArgParser.Parse("train", args, Options);
        if (parsed.Positionals.Count > 0)
            throw new CliException($"nabla train takes no positional arguments; got '{parsed.Positionals[0]}' (options start with --)");
        if (parsed.Text("resume") is string dir)
        {
            foreach (var (key, _) in parsed.Options)
                if (key != "resume" && !ResumeMayChange.Contains(key))
                    throw new CliException($"--resume continues a run with its saved configuration; --{key.Replace('_', '-')} cannot be changed (only --threads and --workers can)");
            var (config, run) = ResumeConfig(dir, parsed);
            return Train(config, run, resuming: true, console, onProgress, cancel);
        }
        var fresh = ConfigFromFlags(parsed);
        if (fresh.Out is null) fresh = fresh.WithOut(RunFolder.DefaultPath(TrainConfig.ModelWords.Of(fresh.Model)));
        return Train(fresh, RunFolder.ForNew(fresh.Out!), resuming: false, console, onProgress, cancel);
    }

    /// <summary>
    /// The configuration a command's flags give: the defaults, then the --config file, then the
    /// flags; every value checked, and a flag that would change nothing refused.
    /// </summary>
    internal static TrainConfig ConfigFromFlags(ArgParser.Result parsed)
    {
        var values = parsed.Text("config") is string file ? TrainConfig.ReadFile(file) : new JsonObject();
        var flags = (JsonObject)parsed.Options.DeepClone();
        foreach (var key in new[] { "config", "members", "bagging" }) flags.Remove(key);
        var config = TrainConfig.From(TrainConfig.Merge(values, flags)); // checks every value before anything is written
        RejectIneffective(flags, config);
        return config;
    }

    /// <summary>The saved configuration of the interrupted run in <paramref name="dir"/>, with this machine's --threads and --workers.</summary>
    internal static (TrainConfig Config, RunFolder Run) ResumeConfig(string dir, ArgParser.Result parsed)
    {
        if (!Directory.Exists(dir)) throw CliException.File($"--resume: run folder not found: {dir}");
        var run = new RunFolder(dir);
        if (!File.Exists(run.Config)) throw CliException.File($"--resume: {dir} has no config.json: not a run folder");
        if (File.Exists(run.Model)) throw CliException.File($"--resume: {dir} is a finished run (it has its model.safetensors); nothing to resume");
        if (!File.Exists(run.Checkpoint)) throw CliException.File($"--resume: {dir} has no checkpoint.safetensors to resume from");
        var values = TrainConfig.ReadFile(run.Config);
        foreach (var key in ResumeMayChange) values[key] = parsed.Options[key]?.DeepClone() ?? (key == "threads" ? null : values[key]?.DeepClone());
        try
        {
            return (TrainConfig.From(values), run);
        }
        catch (CliException e) when (e.ExitCode == 2)
        {
            // A value the flags would have refused, found in the saved file: the file's problem, named as such.
            throw CliException.File($"--resume: {run.Config}: {e.Message} (the run's saved configuration was edited or is corrupt)");
        }
    }

    /// <summary>Trains <paramref name="config"/> into <paramref name="run"/>, from its checkpoint when <paramref name="resuming"/>.</summary>
    internal static int Train(TrainConfig config, RunFolder run, bool resuming, IAnsiConsole console, Action<TrainingProgress>? onProgress, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        Threading.NumThreads = config.Threads; // process-wide: set here, where the command starts its work
        // A run being resumed is locked at once; a new one's folder is created (and locked) only once its inputs are valid.
        using var resumeLock = resuming ? run.BeginResume() : null;
        RunData data;
        try
        {
            data = RunData.Load(config, console, cancel);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C while decoding an image folder: nothing was trained, and nothing was written.
            console.MarkupLine("[yellow]Interrupted[/] while decoding the images; nothing was trained.");
            return 130;
        }
        string splitFile = Path.Combine(run.Path, FolderSplit.FileName);
        if (resuming && data.Split is { } split && (!File.Exists(splitFile) || FolderSplit.Read(splitFile).ToJson().ToJsonString() != split.ToJson().ToJsonString()))
            throw CliException.File($"--resume: the images in {config.Data} are not those the run started with (its {splitFile} lists other files); start a new run");
        var session = new TrainingSession(config, data, console);
        var trainer = session.Trainer;
        var past = new List<EpochRecord>();
        if (resuming)
        {
            try
            {
                Checkpoint.Load(run.Checkpoint, trainer, session.Generators);
            }
            catch (SafeTensorsException e)
            {
                throw CliException.File($"--resume: {CommandShared.OneLine(e.Message)}");
            }
            past = run.ReadMetrics();
            if (past.Count < trainer.Epoch)
                throw CliException.File($"--resume: {run.Metrics} has {past.Count} epochs but the checkpoint was taken after {trainer.Epoch}");
            past.RemoveRange(trainer.Epoch, past.Count - trainer.Epoch);
        }
        using var newLock = resuming ? null : run.BeginNew();
        if (!resuming)
        {
            try
            {
                if (data.Split is { } folderSplit) RunFolder.WriteJson(splitFile, folderSplit.ToJson());
                RunFolder.WriteJson(run.Config, config.ToJson());
                // From the start the folder can be resumed, even when the process is killed in its first epoch.
                Checkpoint.Save(run.Checkpoint, trainer, session.Generators);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                run.AbandonNew(); // a folder that can be neither resumed nor reused is worse than none
                throw CliException.File($"cannot write the run folder {run.Path}: {CommandShared.OneLine(e.Message)}");
            }
        }

        PrintHeader(console, config, data, session, run, resuming);
        var view = new ProgressView(console);
        view.ShowPast(past, config.Epochs);
        trainer.Progress += (_, p) => view.OnProgress(p);
        if (onProgress is not null) trainer.Progress += (_, p) => onProgress(p);
        var runCallback = new RunCallback(run, session, past, view);
        DiagnosticsFile? diagnostics = null;
        if (config.Diagnostics)
        {
            // Before the run's own callback, so a checkpoint never runs ahead of the rows written.
            diagnostics = new DiagnosticsFile(run.Diagnostics, new TrainingDiagnostics(config.DiagnosticsEvery), fresh: !resuming);
            trainer.Callbacks.Add(diagnostics.Instruments);
            trainer.Callbacks.Add(diagnostics);
        }
        trainer.Callbacks.Add(runCallback);
        string? stoppedBefore = null;
        if (config.Patience > 0)
        {
            trainer.Callbacks.Add(new Replayed(NewEarlyStopping(config), past));
            // A run that had already stopped early (and was killed before its end) does not train on.
            var probe = NewEarlyStopping(config);
            probe.OnTrainBegin(session.Model);
            foreach (var r in past) stoppedBefore ??= probe.OnEpochEnd(r);
        }

        int epochsLeft = stoppedBefore is null ? config.Epochs - trainer.Epoch : 0;
        History history;
        try
        {
            history = epochsLeft > 0 ? view.Run(() => trainer.Fit(session.TrainLoader, session.ValidationLoader, epochsLeft, cancel)) : new History();
        }
        catch (NonFiniteLossException e)
        {
            throw CliException.File($"{CommandShared.OneLine(e.Message)}; the run cannot go on (its last checkpoint, {run.Checkpoint}, would diverge again): " +
                                    "start a new run with a lower --lr, --clip-grad or --warmup");
        }
        if (history.Interrupted)
        {
            diagnostics?.Flush();
            Checkpoint.Save(run.Checkpoint, trainer, session.Generators);
            var at = trainer.InterruptedEpoch!;
            console.MarkupLineInterpolated($"[yellow]Interrupted[/] in epoch {at.Epoch} after {at.Batches} of {session.TrainLoader.Count} batches; the checkpoint is saved in {run.Checkpoint}.");
            console.MarkupLineInterpolated($"Continue with: [bold]nabla train --resume {run.Path}[/]");
            return 130;
        }
        var records = runCallback.Records;
        string? stopReason = history.StopReason ?? stoppedBefore;
        if (stopReason is not null) console.MarkupLineInterpolated($"[yellow]Early stopping:[/] {stopReason}");

        int bestEpoch = runCallback.BestEpoch;
        if (config.Patience > 0 && bestEpoch > 0 && bestEpoch != records[^1].Epoch)
        {
            session.FullModel.LoadStateDict(SavedModel.Load(run.Best).Model.StateDict());
            console.MarkupLineInterpolated($"Restored the weights of epoch {bestEpoch}, the best validation loss ({runCallback.BestValue:F4}).");
        }

        // The test loss is the plain cross-entropy (NLL), whatever label smoothing training used.
        var test = Metrics.Evaluate(session.Model, session.TestLoader, new CrossEntropyLoss(), topK: 5);
        SavedModel.Save(run.Model, session.FullModel, config, data);
        double seconds = records.Sum(r => r.Seconds);
        var summary = new JsonObject
        {
            ["test_accuracy"] = test.Accuracy,
            ["test_loss"] = test.Loss,
            ["test_top5_accuracy"] = test.TopKAccuracy,
            ["epochs"] = records.Count,
            ["seconds"] = Math.Round(seconds, 2),
            ["best_epoch"] = bestEpoch == 0 ? null : bestEpoch,
            ["best_val_loss"] = bestEpoch == 0 ? null : runCallback.BestValue,
            ["restored_best_weights"] = config.Patience > 0 && bestEpoch > 0 && bestEpoch != records[^1].Epoch,
            ["stop_reason"] = stopReason,
            ["model"] = TrainConfig.ModelWords.Of(config.Model),
            ["parameters"] = session.FullModel.ParameterCount(),
            ["trained_parameters"] = session.Model.Parameters().Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            ["data"] = data.Source,
            ["classes"] = new JsonArray([.. data.Classes.Select(c => (JsonNode)c)]),
            ["image_size"] = data.Shape.Size,
            ["channels"] = data.Shape.Channels,
            ["decode_seconds"] = data.Split is null ? null : Math.Round(data.Split.DecodeSeconds, 2),
            ["skipped_files"] = data.Split is null ? null : data.Split.SkippedJson(),
            ["train_samples"] = data.Train.Count,
            ["val_samples"] = data.Validation?.Count ?? 0,
            ["test_samples"] = data.Test.Count,
            ["threads"] = config.Threads,
            ["per_class_accuracy"] = CommandShared.PerClass(test.PerClassAccuracy, data.Classes),
            ["confusion_matrix"] = CommandShared.Confusion(test.ConfusionMatrix),
        };
        RunFolder.WriteJson(run.Summary, summary);
        string title = $"{TrainConfig.ModelWords.Of(config.Model)} on {(data.Split is null ? "Fashion-MNIST" : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(config.Data!))))}";
        run.WritePlots(records, title);
        if (diagnostics is not null) DiagnosticsFile.Plot(run.Diagnostics, run.DiagnosticsPlot, title);

        var table = new Table().Border(TableBorder.Rounded).AddColumn("test").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("accuracy", Pct(test.Accuracy));
        table.AddRow("top-5 accuracy", Pct(test.TopKAccuracy));
        table.AddRow("loss", test.Loss.ToString("F4", CultureInfo.InvariantCulture));
        table.AddRow("epochs", records.Count.ToString(CultureInfo.InvariantCulture));
        table.AddRow("training time", ProgressView.Clock(seconds));
        console.Write(table);
        console.MarkupLineInterpolated($"Wrote {run.Path}: model.safetensors, config.json, {(data.Split is null ? "" : "split.json, ")}metrics.csv, summary.json, loss.png, accuracy.png{(diagnostics is null ? "" : ", diagnostics.csv, diagnostics.png")} ({ProgressView.Clock(clock.Elapsed.TotalSeconds)} in all).");
        return 0;
    }

    static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>
    /// A flag that would change nothing is a mistake to point out, not to ignore (checked on the
    /// flags only: a saved config.json lists every option, whether it applies or not).
    /// </summary>
    static void RejectIneffective(JsonObject flags, TrainConfig c)
    {
        void Require(string key, bool applies, string why)
        {
            if (flags.ContainsKey(key) && !applies) throw new CliException($"--{key.Replace('_', '-')} has no effect {why}");
        }
        string optimizer = TrainConfig.OptimizerWords.Of(c.Optimizer), schedule = TrainConfig.ScheduleWords.Of(c.Schedule);
        Require("momentum", c.Optimizer == OptimizerKind.Sgd, $"with --optimizer {optimizer} (it is SGD's; Adam's moments are fixed by its betas)");
        Require("lr_step", c.Schedule == ScheduleKind.Step, $"with --schedule {schedule} (it is the step schedule's period)");
        Require("lr_gamma", c.Schedule is ScheduleKind.Step or ScheduleKind.Plateau, $"with --schedule {schedule} (it is the step and plateau schedules' factor)");
        Require("min_delta", c.Patience > 0, "without --patience (it is early stopping's threshold)");
        Require("diagnostics_every", c.Diagnostics, "without --diagnostics (it is the diagnostics' sampling interval)");
    }

    static EarlyStopping NewEarlyStopping(TrainConfig c) => new("val_loss", MonitorMode.Min, c.Patience, c.MinDelta);

    static void PrintHeader(IAnsiConsole console, TrainConfig c, RunData data, TrainingSession s, RunFolder run, bool resuming)
    {
        console.MarkupLineInterpolated($"[bold]nabla train[/] {(resuming ? "resuming " : "")}→ {run.Path}");
        console.MarkupLineInterpolated($"data: {data.Source}: {data.Train.Count:N0} training, {data.Validation?.Count ?? 0:N0} validation, {data.Test.Count:N0} test images");
        console.MarkupLineInterpolated($"model: {TrainConfig.ModelWords.Of(c.Model)} for {data.Shape.Channels} x {data.Shape.Size} x {data.Shape.Size} images and {data.Shape.Classes} classes, {s.FullModel.ParameterCount():N0} parameters{(c.FreezeBackbone ? $" ({s.Model.ParameterCount():N0} trained: a linear probe)" : "")}; {c.Threads} threads");
        var grid = new Grid().AddColumn().AddColumn().AddColumn().AddColumn();
        var entries = c.ToJson().Select(kv => (kv.Key, kv.Value?.ToJsonString() ?? "null")).ToList();
        for (int i = 0; i < entries.Count; i += 2)
        {
            var (k1, v1) = entries[i];
            var (k2, v2) = i + 1 < entries.Count ? entries[i + 1] : ("", "");
            grid.AddRow(new Text(k1, new Style(Color.Grey)), new Text(v1), new Text(k2, new Style(Color.Grey)), new Text(v2));
        }
        console.Write(new Panel(grid).Header("configuration (saved as config.json)").Border(BoxBorder.Rounded));
        if (resuming)
            console.MarkupLineInterpolated($"resuming after epoch {s.Trainer.Epoch}{(s.Trainer.InterruptedEpoch is { } p ? $", batch {p.Batches} of epoch {p.Epoch}" : "")}");
    }

    /// <summary>
    /// After each epoch: the metrics file, the checkpoint, and best.safetensors when the validation
    /// loss is the best so far (the weights early stopping restores).
    /// </summary>
    sealed class RunCallback(RunFolder run, TrainingSession session, List<EpochRecord> past, ProgressView view) : ITrainerCallback
    {
        public List<EpochRecord> Records { get; } = [.. past];
        public int BestEpoch { get; private set; } = Best(past, session.Config.MinDelta).Epoch;
        public double BestValue { get; private set; } = Best(past, session.Config.MinDelta).Value;

        static (int Epoch, double Value) Best(List<EpochRecord> records, double minDelta)
        {
            (int, double) best = (0, double.NaN);
            foreach (var r in records)
                if (MetricMonitor.Improves(MonitorMode.Min, r.ValidationLoss, best.Item2, hasBest: best.Item1 != 0, minDelta)) best = (r.Epoch, r.ValidationLoss);
            return best;
        }

        public string? OnEpochEnd(EpochRecord record)
        {
            Records.Add(record);
            run.WriteMetrics(Records);
            // The rule early stopping uses (better by more than --min-delta), so the weights restored are those of the epoch it names.
            if (MetricMonitor.Improves(MonitorMode.Min, record.ValidationLoss, BestValue, hasBest: BestEpoch != 0, session.Config.MinDelta))
            {
                (BestEpoch, BestValue) = (record.Epoch, record.ValidationLoss);
                SavedModel.Save(run.Best, session.FullModel, session.Config, session.Data);
            }
            Checkpoint.Save(run.Checkpoint, session.Trainer, session.Generators);
            view.OnEpoch(record, session.Config.Epochs);
            return null;
        }
    }

    /// <summary>A callback that first sees the epochs a resumed run completed before, so its counts continue.</summary>
    sealed class Replayed(ITrainerCallback inner, IReadOnlyList<EpochRecord> past) : ITrainerCallback
    {
        public void OnTrainBegin(Module model)
        {
            inner.OnTrainBegin(model);
            foreach (var r in past) inner.OnEpochEnd(r);
        }

        public void OnEpochBegin(int epoch) => inner.OnEpochBegin(epoch);

        public string? OnEpochEnd(EpochRecord record) => inner.OnEpochEnd(record);

        public void OnTrainEnd(History history) => inner.OnTrainEnd(history);
    }
}
