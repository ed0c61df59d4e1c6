using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla eval RUN</c>: the test metrics of a trained model — accuracy, top-5 accuracy, loss,
/// per-class accuracy and the confusion matrix — optionally with test-time augmentation
/// (<c>--tta flip</c>: the class probabilities averaged over the image and its mirror image).
/// </summary>
internal static class EvalCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files (default as for nabla train)"),
        new("--tta", OptionKind.Choice, "test-time augmentation: none, or flip (average over the image and its mirror)", ["none", "flip"]),
        new("--batch-size", OptionKind.Int, "images per forward pass (default 512)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
        new("--out", OptionKind.Path, "folder to write summary.json into"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("eval", args, Options);
        if (parsed.Positionals.Count != 1)
            throw new CliException($"nabla eval expects one run folder (or model file); got {parsed.Positionals.Count} (usage: nabla eval RUN [options])");
        int batch = parsed.Int("batch_size") ?? 512;
        if (batch < 1) throw new CliException($"--batch-size must be at least 1; got {batch}");
        if (parsed.Int("threads") is int threads)
        {
            if (threads < 1 || threads > 1024) throw new CliException($"--threads must be between 1 and 1024; got {threads}");
            Threading.NumThreads = threads;
        }
        string tta = parsed.Text("tta") ?? "none";
        string runPath = parsed.Positionals[0];
        var saved = SavedModel.Load(runPath);
        var (_, rawTest, source) = RunData.LoadFashionMnist(parsed.Text("data"));
        var test = new TensorDataset(saved.Stats.Apply(rawTest.Inputs), rawTest.Targets);
        var loader = new DataLoader(test, batch);

        var result = Evaluate(saved.Model, loader, tta == "flip");
        console.MarkupLineInterpolated($"[bold]nabla eval[/] {runPath} on {source} ({test.Count:N0} test images{(tta == "none" ? "" : $", test-time augmentation: {tta}")})");
        var table = new Table().Border(TableBorder.Rounded).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("accuracy", Pct(result.Accuracy));
        table.AddRow("top-5 accuracy", Pct(result.TopKAccuracy));
        table.AddRow("loss (NLL)", result.Loss.ToString("F4", CultureInfo.InvariantCulture));
        console.Write(table);
        console.Write(ConfusionTable(result.ConfusionMatrix, saved.Classes));

        if (parsed.Text("out") is string outDir)
        {
            Directory.CreateDirectory(outDir);
            var summary = new JsonObject
            {
                ["run"] = runPath,
                ["data"] = source,
                ["tta"] = tta,
                ["test_accuracy"] = result.Accuracy,
                ["test_loss"] = result.Loss,
                ["test_top5_accuracy"] = result.TopKAccuracy,
                ["test_samples"] = test.Count,
                ["per_class_accuracy"] = TrainCommand.PerClass(result.PerClassAccuracy),
                ["confusion_matrix"] = TrainCommand.Confusion(result.ConfusionMatrix),
            };
            RunFolder.WriteJson(Path.Combine(outDir, "summary.json"), summary);
            console.MarkupLineInterpolated($"Wrote {Path.Combine(outDir, "summary.json")}");
        }
        return 0;
    }

    /// <summary>
    /// Test metrics; with <paramref name="flip"/>, each image's class probabilities are the mean of
    /// the model's softmax on the image and on its mirror image, and the loss is the NLL of that mean.
    /// </summary>
    internal static MetricsAccumulator Evaluate(Module model, DataLoader loader, bool flip)
    {
        var acc = new MetricsAccumulator(topK: 5);
        model.Eval();
        using var noGrad = Autograd.NoGrad();
        foreach (var batch in loader)
        {
            using var scope = TensorScope.Begin();
            var p = Functional.Softmax(model.Forward(batch.Inputs), 1);
            if (flip) p = (p + Functional.Softmax(model.Forward(MirrorImages(batch.Inputs)), 1)) * 0.5f;
            var probs = p.ToArray();
            var targets = batch.Targets.ToArray();
            int n = batch.Size, c = probs.Length / n;
            double nll = 0;
            for (int i = 0; i < n; i++) nll -= Math.Log(Math.Max(probs[i * c + (int)targets[i]], 1e-30f));
            acc.Add(p, batch.Targets, nll);
        }
        return acc;
    }

    /// <summary>Each (C, H, W) image of an (N, C, H, W) batch mirrored left to right.</summary>
    internal static Tensor MirrorImages(Tensor images)
    {
        var src = images.ToArray();
        var dst = new float[src.Length];
        int w = images.Shape[^1];
        for (int row = 0; row < src.Length; row += w)
            for (int x = 0; x < w; x++) dst[row + x] = src[row + w - 1 - x];
        return Tensor.FromArray(dst, [.. images.Shape]);
    }

    static Table ConfusionTable(long[,] m, IReadOnlyList<string> classes)
    {
        int c = m.GetLength(0);
        var table = new Table().Border(TableBorder.Simple).Title("confusion matrix (rows: true class, columns: predicted)");
        table.AddColumn("");
        for (int p = 0; p < c; p++) table.AddColumn(new TableColumn(p.ToString(CultureInfo.InvariantCulture)).RightAligned());
        table.AddColumn(new TableColumn("accuracy").RightAligned());
        for (int t = 0; t < c; t++)
        {
            long row = 0;
            var cells = new List<string> { Markup.Escape($"{t} {(t < classes.Count ? classes[t] : "")}") };
            for (int p = 0; p < c; p++)
            {
                row += m[t, p];
                cells.Add(p == t ? $"[bold]{m[t, p]}[/]" : m[t, p] == 0 ? "[grey]·[/]" : m[t, p].ToString(CultureInfo.InvariantCulture));
            }
            cells.Add(row == 0 ? "—" : Pct((double)m[t, t] / row));
            table.AddRow(cells.ToArray());
        }
        return table;
    }

    static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
