using System.Globalization;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla train --diagnostics</c>: the <see cref="TrainingDiagnostics"/> of a run, appended to the
/// run's diagnostics.csv at the end of every epoch (so a resumed run continues the file), and drawn
/// from that file as diagnostics.png when training ends.
/// </summary>
internal sealed class DiagnosticsFile(string path, TrainingDiagnostics instruments, bool fresh) : ITrainerCallback
{
    // The file's text as last written: read once (a resumed run's rows), then only appended to.
    System.Text.StringBuilder? _text;

    public TrainingDiagnostics Instruments { get; } = instruments;

    public string? OnEpochEnd(EpochRecord record)
    {
        Flush();
        return null;
    }

    /// <summary>Appends the records not yet written (atomically: the file is whole or as it was).</summary>
    public void Flush()
    {
        if (_text is null)
        {
            string before = !fresh && File.Exists(path) ? File.ReadAllText(path) : "";
            if (before.Length > 0 && !before.StartsWith(TrainingDiagnostics.CsvHeader, StringComparison.Ordinal))
                throw CliException.File($"{path}: not a nabla diagnostics file (expected the header '{TrainingDiagnostics.CsvHeader}')");
            _text = new System.Text.StringBuilder(before);
        }
        _text.Append(Instruments.ToCsv(header: _text.Length == 0));
        RunFolder.WriteText(path, _text.ToString());
        Instruments.Clear();
    }

    /// <summary>
    /// Four panels from the CSV, against the optimizer step: each activation layer's standard
    /// deviation; its dead (ReLU) or saturated (tanh, sigmoid) fraction; each weight's gradient norm;
    /// and its update-to-weight ratio, with the usual 1e-3 marked.
    /// </summary>
    public static void Plot(string csvPath, string pngPath, string title)
    {
        var rows = Read(csvPath);
        var acts = rows.Where(r => r.Kind == "activation").ToList();
        // Weights only: biases and norm shifts start at zero, so their ratios say little.
        var weights = rows.Where(r => r.Kind == "parameter" && r.Name.EndsWith("weight", StringComparison.Ordinal)).ToList();
        var panels = new[]
        {
            Panel($"{title}: activation std per layer", "std", acts, r => r.Std, log: false),
            Panel("dead ReLUs / saturated tanh and sigmoid units", "fraction of units", acts,
                  r => double.IsNaN(r.Dead) ? r.Saturated : r.Dead, log: false),
            Panel("gradient norm per weight", "log10 ‖∇W‖", weights, r => r.GradNorm, log: true),
            Panel("update / weight per step", "log10 ‖ΔW‖ / ‖W‖", weights, r => r.UpdateRatio, log: true),
        };
        var reference = panels[3].Add.HorizontalLine(-3);
        reference.LinePattern = ScottPlot.LinePattern.Dashed;
        reference.LegendText = "1e-3";
        Plots.SaveGrid(pngPath, panels, columns: 2, panelWidth: 700, panelHeight: 420);
    }

    static ScottPlot.Plot Panel(string title, string yLabel, List<Row> rows, Func<Row, double> value, bool log)
    {
        var plot = new ScottPlot.Plot();
        foreach (var group in rows.GroupBy(r => r.Layer.Length > 0 ? $"{r.Name} ({r.Layer})" : r.Name))
        {
            var points = group.Select(r => (X: (double)r.Step, Y: value(r))).Where(p => double.IsFinite(p.Y) && (!log || p.Y > 0)).ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => log ? Math.Log10(p.Y) : p.Y).ToArray());
            line.LegendText = group.Key;
            line.LineWidth = 2;
            line.MarkerSize = points.Length <= 30 ? 5 : 0;
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel(yLabel);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot;
    }

    sealed record Row(int Step, string Kind, string Name, string Layer, double Std, double Saturated, double Dead, double GradNorm, double UpdateRatio);

    static List<Row> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != TrainingDiagnostics.CsvHeader)
            throw CliException.File($"{path}: not a nabla diagnostics file (expected the header '{TrainingDiagnostics.CsvHeader}')");
        var rows = new List<Row>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 15 || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int step))
                throw CliException.File($"{path}: line {i + 1} is malformed: expected 15 comma-separated fields; got '{lines[i]}'");
            double D(int k) => double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
            rows.Add(new Row(step, f[2], f[3], f[4], D(6), D(9), D(10), D(12), D(13)));
        }
        return rows;
    }
}
