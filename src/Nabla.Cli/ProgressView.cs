using System.Diagnostics;
using System.Globalization;
using Nabla.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Nabla.Cli;

/// <summary>
/// What <c>nabla train</c> shows while it trains: on a terminal, a live table with a row per
/// finished epoch (training and validation loss and accuracy, learning rate, time) above a progress
/// bar for the epoch in progress (batches done, samples per second, running loss, time left);
/// when the output is redirected, one plain line per epoch.
/// </summary>
internal sealed class ProgressView
{
    readonly IAnsiConsole _console;
    readonly bool _live;
    readonly Table _table;
    readonly Stopwatch _sinceRefresh = Stopwatch.StartNew();
    LiveDisplayContext? _context;
    string _status = "[grey]starting…[/]";

    public ProgressView(IAnsiConsole console)
    {
        _console = console;
        _live = console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;
        _table = new Table().Border(TableBorder.Rounded)
            .AddColumn("epoch").AddColumn(new TableColumn("train loss").RightAligned()).AddColumn(new TableColumn("train acc").RightAligned())
            .AddColumn(new TableColumn("val loss").RightAligned()).AddColumn(new TableColumn("val acc").RightAligned())
            .AddColumn(new TableColumn("lr").RightAligned()).AddColumn(new TableColumn("time").RightAligned());
    }

    /// <summary>Runs <paramref name="training"/> with the live display around it (or without one when not interactive).</summary>
    public T Run<T>(Func<T> training)
    {
        if (!_live) return training();
        T result = default!;
        _console.Live(Render()).AutoClear(false).Overflow(VerticalOverflow.Ellipsis).Start(ctx =>
        {
            _context = ctx;
            try { result = training(); }
            finally
            {
                _status = "";
                ctx.UpdateTarget(Render());
                _context = null;
            }
        });
        return result;
    }

    /// <summary>Shows the epochs completed before a resumed run.</summary>
    public void ShowPast(IEnumerable<EpochRecord> records, int epochs)
    {
        foreach (var r in records) AddRow(r, epochs);
    }

    public void OnProgress(TrainingProgress p)
    {
        if (_context is null || (p.Batch != p.Batches && _sinceRefresh.ElapsedMilliseconds < 100)) return;
        _sinceRefresh.Restart();
        const int width = 30;
        int filled = (int)Math.Round(width * (double)p.Batch / p.Batches);
        _status = string.Create(CultureInfo.InvariantCulture,
            $"[bold]epoch {p.Epoch}/{p.Epochs}[/] [green]{new string('━', filled)}[/][grey]{new string('━', width - filled)}[/] " +
            $"{p.Batch}/{p.Batches} batches · {p.SamplesPerSecond:N0} samples/s · loss {p.RunningLoss:F4} · {Clock(p.SecondsLeft)} left");
        _context.UpdateTarget(Render());
    }

    public void OnEpoch(EpochRecord r, int epochs)
    {
        AddRow(r, epochs);
        if (_context is not null)
        {
            _status = r.Epoch < epochs ? "[grey]next epoch…[/]" : "[grey]testing…[/]";
            _context.UpdateTarget(Render());
        }
    }

    void AddRow(EpochRecord r, int epochs)
    {
        string[] cells = [$"{r.Epoch}/{epochs}", Loss(r.TrainLoss), Pct(r.TrainAccuracy), Loss(r.ValidationLoss), Pct(r.ValidationAccuracy),
                          r.LearningRate.ToString("G3", CultureInfo.InvariantCulture).ToLowerInvariant(), Clock(r.Seconds)];
        _table.AddRow(cells);
        if (!_live) // one unwrapped line per epoch, for logs
            _console.Profile.Out.Writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {cells[0],-7} train loss {cells[1]}  acc {cells[2]}   val loss {cells[3]}  acc {cells[4]}   lr {cells[5]}   {cells[6]}"));
    }

    IRenderable Render() => _status.Length == 0 ? _table : new Rows(_table, new Markup(_status));

    static string Loss(double v) => double.IsNaN(v) ? "—" : v.ToString("F4", CultureInfo.InvariantCulture);

    static string Pct(double v) => double.IsNaN(v) ? "—" : (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";

    public static string Clock(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }
}
