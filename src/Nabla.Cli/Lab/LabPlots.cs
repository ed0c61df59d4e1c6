namespace Nabla.Cli.Lab;

/// <summary>One line of a plot: its name, points and style.</summary>
internal sealed record Series(string Name, double[] X, double[] Y, bool Dashed = false, bool Markers = true);

/// <summary>The lab's figures, drawn with ScottPlot: line plots, histograms, heat maps and bars, alone or in grids.</summary>
internal static class LabPlots
{
    /// <summary>A line plot of <paramref name="series"/>; with <paramref name="logY"/> the y values are drawn as log10.</summary>
    public static ScottPlot.Plot Lines(string title, string xLabel, string yLabel, IEnumerable<Series> series, bool logY = false)
    {
        var plot = new ScottPlot.Plot();
        foreach (var s in series)
        {
            var keep = Enumerable.Range(0, s.X.Length).Where(i => double.IsFinite(s.Y[i]) && (!logY || s.Y[i] > 0)).ToArray();
            if (keep.Length == 0) continue;
            var line = plot.Add.Scatter(keep.Select(i => s.X[i]).ToArray(), keep.Select(i => logY ? Math.Log10(s.Y[i]) : s.Y[i]).ToArray());
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = s.Markers && keep.Length <= 40 ? 5 : 0;
            if (s.Dashed) line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(logY ? $"log10 {yLabel}" : yLabel);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// A histogram of counts in equal bins from <paramref name="min"/> to <paramref name="max"/>, as bars; with
    /// <paramref name="xRange"/> the axis is fixed (to compare histograms side by side) and bars are at least a
    /// 60th of it wide, so values squeezed near one point show as a spike.
    /// </summary>
    public static ScottPlot.Plot Histogram(string title, long[] counts, double min, double max, string xLabel = "value", (double Low, double High)? xRange = null)
    {
        var plot = new ScottPlot.Plot();
        double width = counts.Length == 0 ? 1 : (max - min) / counts.Length;
        double drawn = Math.Max(width * 0.95, xRange is { } r0 ? (r0.High - r0.Low) / 60 : 0);
        if (drawn <= 0) drawn = 1e-3;
        var bars = counts.Select((c, i) => new ScottPlot.Bar { Position = min + (i + 0.5) * width, Value = c, Size = drawn }).ToArray();
        plot.Add.Bars(bars);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.Axes.Margins(bottom: 0);
        if (xRange is { } r) plot.Axes.SetLimitsX(r.Low, r.High);
        return plot;
    }

    /// <summary>A heat map of <paramref name="values"/> (rows bottom to top as <paramref name="rowLabels"/>), each cell labelled with its value.</summary>
    public static ScottPlot.Plot Heatmap(string title, double[,] values, string[] rowLabels, string[] columnLabels, string xLabel, string yLabel,
        double low, double high, string format = "F1")
    {
        var plot = new ScottPlot.Plot();
        int rows = values.GetLength(0), cols = values.GetLength(1);
        // ScottPlot draws row 0 at the top; flip so the first row is at the bottom, as on the axis.
        var flipped = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) flipped[rows - 1 - r, c] = values[r, c];
        var map = plot.Add.Heatmap(flipped);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(low, high);
        plot.Add.ColorBar(map);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var text = plot.Add.Text(double.IsNaN(values[r, c]) ? "—" : values[r, c].ToString(format, System.Globalization.CultureInfo.InvariantCulture), c, r);
                text.LabelFontSize = 11;
                text.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                // Viridis is bright at the top of its range: dark text there, white below.
                text.LabelFontColor = (values[r, c] - low) / Math.Max(1e-12, high - low) > 0.6 ? ScottPlot.Colors.Black : ScottPlot.Colors.White;
            }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, cols).Select(i => (double)i)], columnLabels);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, rows).Select(i => (double)i)], rowLabels);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    /// <summary>Bars with a label under each.</summary>
    public static ScottPlot.Plot Bars(string title, string yLabel, string[] labels, double[] values)
    {
        var plot = new ScottPlot.Plot();
        var bars = values.Select((v, i) => new ScottPlot.Bar { Position = i, Value = double.IsFinite(v) ? v : 0, Size = 0.7 }).ToArray();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. Enumerable.Range(0, labels.Length).Select(i => (double)i)], labels);
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.Axes.Margins(bottom: 0);
        return plot;
    }

    /// <summary>A vertical dashed line with a legend entry, to mark an epoch or a step.</summary>
    public static void Mark(ScottPlot.Plot plot, double x, string label)
    {
        var line = plot.Add.VerticalLine(x);
        line.LinePattern = ScottPlot.LinePattern.Dashed;
        line.LegendText = label;
    }

    /// <summary>Saves one plot.</summary>
    public static void Save(ScottPlot.Plot plot, string path, int width = 800, int height = 500) =>
        Plots.SaveGrid(path, [plot], 1, width, height);

    /// <summary>Saves plots in a grid.</summary>
    public static void Save(IReadOnlyList<ScottPlot.Plot> plots, string path, int columns, int width = 600, int height = 420) =>
        Plots.SaveGrid(path, plots, columns, width, height);
}
