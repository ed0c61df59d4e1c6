using Nabla.Training;

namespace Nabla.Cli;

/// <summary>Training curves as PNG files, drawn with ScottPlot.</summary>
internal static class Plots
{
    public static void Curves(string path, IReadOnlyList<EpochRecord> records, Func<EpochRecord, double> train,
                              Func<EpochRecord, double> validation, string metric, string title)
    {
        var plot = new ScottPlot.Plot();
        double[] epochs = records.Select(r => (double)r.Epoch).ToArray();
        AddLine(plot, epochs, records.Select(train).ToArray(), "training");
        AddLine(plot, epochs, records.Select(validation).ToArray(), "validation");
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(metric);
        plot.ShowLegend();
        var tmp = path + ".tmp.png";
        plot.SavePng(tmp, 800, 500);
        File.Move(tmp, path, overwrite: true);
    }

    static void AddLine(ScottPlot.Plot plot, double[] xs, double[] ys, string label)
    {
        // Epochs without a value (no validation split) are left out rather than drawn as NaN.
        var keep = Enumerable.Range(0, xs.Length).Where(i => double.IsFinite(ys[i])).ToArray();
        if (keep.Length == 0) return;
        var line = plot.Add.Scatter(keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray());
        line.LegendText = label;
        line.LineWidth = 2;
        line.MarkerSize = keep.Length <= 30 ? 6 : 0;
    }
}
