using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary>
/// The files of a run: <c>config.json</c> (the effective configuration), <c>metrics.csv</c> (one
/// row per epoch, rewritten after each), <c>checkpoint.safetensors</c> (everything needed to resume,
/// written after each epoch and on Ctrl+C), <c>best.safetensors</c> (the weights of the best
/// validation loss), and at the end <c>model.safetensors</c>, <c>summary.json</c>, <c>loss.png</c>
/// and <c>accuracy.png</c>. Every file is written to a temporary name and renamed, so a crash never
/// leaves half a file.
/// </summary>
internal sealed partial class RunFolder(string path)
{
    public string Path { get; } = path;
    public string Config => File("config.json");
    public string Metrics => File("metrics.csv");
    public string Checkpoint => File("checkpoint.safetensors");
    public string Best => File("best.safetensors");
    public string Model => File(SavedModel.FileName);
    public string Summary => File("summary.json");
    public string LossPlot => File("loss.png");
    public string AccuracyPlot => File("accuracy.png");
    public string Diagnostics => File("diagnostics.csv");
    public string DiagnosticsPlot => File("diagnostics.png");

    string File(string name) => System.IO.Path.Combine(Path, name);

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string DefaultPath(string model) =>
        System.IO.Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + model);

    /// <summary>The lock file held while a command trains into the folder.</summary>
    public const string LockName = ".nabla.lock";

    /// <summary>
    /// The folder for a new run, checked but not yet created (it is created by <see cref="BeginNew"/>
    /// once the inputs are valid): a file, a folder that holds a run, or a folder that holds anything
    /// else, is refused, so nothing is overwritten.
    /// </summary>
    public static RunFolder ForNew(string path)
    {
        var run = new RunFolder(path);
        run.CheckFitForNew();
        return run;
    }

    void CheckFitForNew()
    {
        if (System.IO.File.Exists(Path)) throw CliException.File($"--out {Path} is a file, not a folder");
        if (!Directory.Exists(Path)) return;
        if (System.IO.File.Exists(Checkpoint) || System.IO.File.Exists(Model) || System.IO.File.Exists(Config))
            throw CliException.File($"--out {Path} already holds a run; choose another folder, or continue it with nabla train --resume {Path}");
        // Our lock and temporary files are not the user's (another command may be starting in it: the lock decides).
        var other = Directory.EnumerateFileSystemEntries(Path).Select(System.IO.Path.GetFileName).FirstOrDefault(n => n != LockName && !TemporaryName().IsMatch(n!));
        if (other is not null)
            throw CliException.File($"--out {Path} holds other files ('{other}'); nabla train writes a run only into a new or empty folder");
    }

    bool _created;

    /// <summary>
    /// Creates the folder of a new run and takes its lock (held until disposed), checking again that
    /// no other command took it meanwhile.
    /// </summary>
    public IDisposable BeginNew()
    {
        try
        {
            _created = !Directory.Exists(Path);
            Directory.CreateDirectory(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.File($"cannot create the run folder {Path}: {CommandShared.OneLine(e.Message)}");
        }
        var hold = Lock();
        try
        {
            CheckFitForNew();
        }
        catch
        {
            hold.Dispose();
            throw;
        }
        return hold;
    }

    /// <summary>
    /// Takes the lock of a run to resume and removes the temporary files a killed command left
    /// behind (ours only: <c>.NAME.GUID.tmp</c> and <c>NAME.PID-GUID.EXT</c>).
    /// </summary>
    public IDisposable BeginResume()
    {
        var hold = Lock();
        foreach (var file in Directory.EnumerateFiles(Path))
            if (TemporaryName().IsMatch(System.IO.Path.GetFileName(file)))
                try { System.IO.File.Delete(file); } catch (IOException) { }
        return hold;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\..+\.[0-9a-f]{32}\.tmp|.+\.\d+-[0-9a-f]{32}\.[a-z]+)$")]
    private static partial System.Text.RegularExpressions.Regex TemporaryName();

    /// <summary>
    /// After a new run failed to write its first files (a full disk, a folder made read-only): removes
    /// what it wrote, and the folder when it created it, leaving the file system as it was.
    /// </summary>
    public void AbandonNew()
    {
        foreach (var file in new[] { Config, Checkpoint, File(FolderSplit.FileName) })
            try { System.IO.File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        if (_created)
            try { if (!Directory.EnumerateFileSystemEntries(Path).Any(n => System.IO.Path.GetFileName(n) != LockName)) Directory.Delete(Path, recursive: true); }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// An exclusive lock on the folder (a lock file opened with <see cref="FileShare.None"/>, an advisory
    /// flock on Linux, deleted when released): a second command training into the same folder is refused.
    /// </summary>
    FileStream Lock()
    {
        try
        {
            return new FileStream(File(LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException)
        {
            throw CliException.File($"the run folder {Path} is in use by another nabla command; wait for it to finish, or choose another --out");
        }
        catch (UnauthorizedAccessException)
        {
            throw CliException.File($"cannot write into the run folder {Path}: permission denied");
        }
    }

    public static void WriteJson(string file, JsonNode node) => WriteText(file, node.ToJsonString(Indented) + "\n");

    public static void WriteText(string file, string text) =>
        AtomicFile.Write(file, tmp => System.IO.File.WriteAllText(tmp, text, new UTF8Encoding(false)));

    public const string MetricsHeader = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds";

    public void WriteMetrics(IReadOnlyList<EpochRecord> records)
    {
        var sb = new StringBuilder(MetricsHeader).Append('\n');
        foreach (var r in records)
            sb.Append(string.Join(',', r.Epoch.ToString(CultureInfo.InvariantCulture), Num(r.TrainLoss), Num(r.TrainAccuracy),
                Num(r.ValidationLoss), Num(r.ValidationAccuracy), Num(r.LearningRate), Num(r.Seconds))).Append('\n');
        WriteText(Metrics, sb.ToString());
    }

    static string Num(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Reads metrics.csv back (for --resume): the records of the epochs completed.</summary>
    public List<EpochRecord> ReadMetrics()
    {
        if (!System.IO.File.Exists(Metrics)) return [];
        var lines = System.IO.File.ReadAllLines(Metrics);
        if (lines.Length == 0 || lines[0] != MetricsHeader) throw CliException.File($"{Metrics}: not a nabla metrics file (expected the header '{MetricsHeader}')");
        var records = new List<EpochRecord>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            double D(int k) => f[k].Length == 0 ? double.NaN
                : double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw CliException.File($"{Metrics}: line {i + 1}: '{f[k]}' is not a number");
            if (f.Length != 7 || !int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch) || epoch != records.Count + 1)
                throw CliException.File($"{Metrics}: line {i + 1} is malformed: expected 7 comma-separated fields starting with epoch {records.Count + 1}; got '{lines[i]}'");
            records.Add(new EpochRecord(epoch, D(1), D(2), D(3), D(4), D(5), D(6)));
        }
        return records;
    }

    /// <summary>The loss and accuracy curves, training and validation, one PNG each.</summary>
    public void WritePlots(IReadOnlyList<EpochRecord> records, string title)
    {
        Plots.Curves(LossPlot, records, r => r.TrainLoss, r => r.ValidationLoss, "loss (cross-entropy)", title);
        Plots.Curves(AccuracyPlot, records, r => r.TrainAccuracy, r => r.ValidationAccuracy, "accuracy", title);
    }
}
