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
        UncertaintyPlots.Save(plot, path);
    }

    /// <summary>Several plots as one PNG, in a grid of <paramref name="columns"/> columns, row by row.</summary>
    public static void SaveGrid(string path, IReadOnlyList<ScottPlot.Plot> panels, int columns, int panelWidth = 600, int panelHeight = 400)
    {
        int rows = (panels.Count + columns - 1) / columns;
        var info = new SkiaSharp.SKImageInfo(columns * panelWidth, rows * panelHeight);
        using var surface = SkiaSharp.SKSurface.Create(info);
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        for (int i = 0; i < panels.Count; i++)
        {
            using var image = panels[i].GetImage(panelWidth, panelHeight);
            using var bitmap = SkiaSharp.SKBitmap.Decode(image.GetImageBytes(ScottPlot.ImageFormat.Png));
            surface.Canvas.DrawBitmap(bitmap, i % columns * panelWidth, i / columns * panelHeight);
        }
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, tmp => { using var f = File.Create(tmp); data.SaveTo(f); }, extension: ".png");
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

/// <summary>Reliability diagrams and the ensemble's error as it grows.</summary>
internal static class UncertaintyPlots
{
    /// <summary>
    /// Accuracy against confidence per bin for each predictor, with the diagonal a perfectly
    /// calibrated predictor would follow; points below it are overconfident.
    /// </summary>
    public static void Reliability(string path, IReadOnlyList<(string Name, ReliabilityBin[] Bins, double Ece)> predictors)
    {
        var plot = new ScottPlot.Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = ScottPlot.LinePattern.Dashed;
        diagonal.LegendText = "perfect calibration";
        foreach (var (name, bins, ece) in predictors)
        {
            var used = bins.Where(b => b.Count > 0).ToArray();
            var line = plot.Add.Scatter(used.Select(b => b.MeanConfidence).ToArray(), used.Select(b => b.Accuracy).ToArray());
            line.LegendText = $"{name} (ECE {ece:F4})";
            line.LineWidth = 2;
            line.MarkerSize = 6;
        }
        plot.Title("reliability diagram (15 equal-width bins)");
        plot.XLabel("confidence (highest probability)");
        plot.YLabel("accuracy");
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Save(plot, path);
    }

    /// <summary>The test error of the ensemble of the first k members, k = 1..K, and each member's own error.</summary>
    public static void EnsembleGrowth(string path, double[] ensembleError, double[] memberError)
    {
        var plot = new ScottPlot.Plot();
        double[] ks = Enumerable.Range(1, ensembleError.Length).Select(k => (double)k).ToArray();
        var ens = plot.Add.Scatter(ks, ensembleError.Select(e => 100 * e).ToArray());
        ens.LegendText = "ensemble of the first k members";
        ens.LineWidth = 2;
        var members = plot.Add.Scatter(ks, memberError.Select(e => 100 * e).ToArray());
        members.LegendText = "member k alone";
        members.LineWidth = 0;
        members.MarkerSize = 8;
        plot.Title("test error as the ensemble grows");
        plot.XLabel("members k");
        plot.YLabel("test error (%)");
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        // Room around every point, so neither the legend nor the frame hides one.
        double low = 100 * Math.Min(ensembleError.Min(), memberError.Min()), high = 100 * Math.Max(ensembleError.Max(), memberError.Max());
        double pad = Math.Max(0.05, (high - low) * 0.15);
        plot.Axes.SetLimits(0.5, ensembleError.Length + 0.5, low - pad, high + 3 * pad);
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Save(plot, path);
    }

    internal static void Save(ScottPlot.Plot plot, string path) =>
        AtomicFile.Write(path, tmp => plot.SavePng(tmp, 800, 500), extension: ".png");
}
