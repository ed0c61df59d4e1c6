using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla eval RUN</c>: the test metrics of a trained model — accuracy, top-5 accuracy, loss,
/// per-class accuracy, the confusion matrix — and how well its probabilities are calibrated:
/// negative log-likelihood, expected calibration error (15 bins), Brier score, predictive entropy,
/// against temperature scaling fitted on the run's validation split (the baseline to beat).
/// <c>--mc-dropout T</c> also evaluates Monte Carlo dropout (T stochastic passes, batch norm in
/// evaluation mode); <c>--tta flip</c> averages each image with its mirror image.
/// </summary>
internal static class EvalCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files (default as for nabla train)"),
        new("--mc-dropout", OptionKind.Int, "also evaluate Monte Carlo dropout with this many stochastic passes (e.g. 50)"),
        new("--tta", OptionKind.Choice, "test-time augmentation: none, or flip (average over the image and its mirror)", ["none", "flip"]),
        new("--batch-size", OptionKind.Int, "images per forward pass (default 512)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
        new("--out", OptionKind.Path, "folder to write summary.json and reliability.png into"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("eval", args, Options);
        if (parsed.Positionals.Count != 1)
            throw new CliException($"nabla eval expects one run folder (or model file); got {parsed.Positionals.Count} (usage: nabla eval RUN [options])");
        int batch = parsed.Int("batch_size") ?? 512;
        if (batch < 1) throw new CliException($"--batch-size must be at least 1; got {batch}");
        CommandShared.SetThreads(parsed);
        string tta = parsed.Text("tta") ?? "none";
        string runPath = parsed.Positionals[0];
        if (parsed.Has("mc_dropout") && tta != "none") throw new CliException("--mc-dropout and --tta cannot be combined");
        var saved = SavedModel.Load(runPath);
        // The run's own data by default: its test split, and the validation split temperature scaling needs.
        string? dataDir = parsed.Text("data") ?? (saved.Config.Data is string d && Directory.Exists(d) ? d : null);
        int? mcSamples = CommandShared.McDropoutPasses(parsed, saved, runPath);
        var (test, source) = Inference.TestSet(dataDir);
        var inputs = Inference.Inputs(saved, test.Inputs);
        var targets = test.Targets;

        var logits = Inference.Logits(saved.Model, inputs, batch);
        var deterministicProbs = Functional.Softmax(logits, 1);
        var rows = new List<(string Name, Tensor Probs, PredictionReport Report)> { ("deterministic", deterministicProbs, PredictionReport.Of(deterministicProbs, targets)) };
        var reports = new JsonObject { ["deterministic"] = rows[0].Report.ToJson() };

        // The baseline: one temperature, fitted on the validation split the run held out.
        double? temperature = null;
        if (saved.Config.ValSplit > 0)
        {
            var validation = RunData.Load(saved.Config.WithData(dataDir)).Validation!;
            var (valInputs, valTargets) = Materialize(validation);
            temperature = TemperatureScaling.Fit(Inference.Logits(saved.Model, valInputs, batch), valTargets);
            var scaled = TemperatureScaling.Apply(logits, temperature.Value);
            rows.Add(($"temperature-scaled (T = {temperature:F3})", scaled, PredictionReport.Of(scaled, targets)));
            var json = rows[^1].Report.ToJson();
            json["temperature"] = temperature;
            reports["temperature_scaling"] = json;
        }
        else
        {
            console.MarkupLine("[grey]no temperature scaling: the run held out no validation split (--val-split 0) to fit it on[/]");
        }

        Tensor main = deterministicProbs;
        if (tta == "flip")
        {
            var mirrored = Functional.Softmax(Inference.Logits(saved.Model, MirrorImages(inputs), batch), 1);
            main = (deterministicProbs + mirrored) * 0.5f;
            rows.Add(("flip TTA", main, PredictionReport.Of(main, targets)));
            reports["flip_tta"] = rows[^1].Report.ToJson();
        }
        McDropoutResult? mc = null;
        if (mcSamples is int t)
        {
            mc = McDropout.Predict(saved.Model, inputs, t, batch);
            main = mc.MeanProbabilities;
            rows.Add(($"MC dropout ({t} passes)", main, PredictionReport.Of(main, targets)));
            var json = rows[^1].Report.ToJson();
            json["samples"] = t;
            AddMutualInformation(json, mc, main, targets);
            reports["mc_dropout"] = json;
        }

        // The report of `main`: the deterministic row unless flip TTA or MC dropout replaced it (the
        // temperature-scaled row is a comparison, not the predictor the summary names).
        var mainReport = tta == "flip" || mc is not null ? rows[^1].Report : rows[0].Report;
        var acc = new MetricsAccumulator(topK: 5);
        acc.Add(main, targets, mainReport.Nll * targets.Numel);

        console.MarkupLineInterpolated($"[bold]nabla eval[/] {runPath} on {source} ({test.Count:N0} test images)");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var col in PredictionReport.Columns) table.AddColumn(col == "predictor" ? new TableColumn(col) : new TableColumn(col).RightAligned());
        foreach (var (name, _, report) in rows) table.AddRow(report.Cells(name));
        console.Write(table);
        console.MarkupLineInterpolated($"top-5 accuracy {100 * acc.TopKAccuracy:F2}%; mean entropy of correct predictions {mainReport.MeanEntropyCorrect:F4}, of mistakes {mainReport.MeanEntropyMisclassified:F4}");
        if (mc is not null)
            console.MarkupLineInterpolated($"mean mutual information (the epistemic part of the entropy) {mc.MutualInformation.Average():F4}");
        console.Write(CommandShared.ConfusionTable(acc.ConfusionMatrix, saved.Classes));

        if (parsed.Text("out") is string outDir)
        {
            Directory.CreateDirectory(outDir);
            var summary = new JsonObject
            {
                ["run"] = runPath,
                ["data"] = source,
                ["test_samples"] = test.Count,
                ["predictor"] = mc is not null ? "mc_dropout" : tta == "flip" ? "flip_tta" : "deterministic",
                ["accuracy"] = mainReport.Accuracy,
                ["nll"] = mainReport.Nll,
                ["ece"] = mainReport.Ece,
                ["brier"] = mainReport.Brier,
                ["mean_entropy"] = mainReport.MeanEntropy,
                ["test_accuracy"] = mainReport.Accuracy,
                ["test_loss"] = mainReport.Nll,
                ["test_top5_accuracy"] = acc.TopKAccuracy,
                ["per_class_accuracy"] = CommandShared.PerClass(acc.PerClassAccuracy),
                ["confusion_matrix"] = CommandShared.Confusion(acc.ConfusionMatrix),
            };
            foreach (var (k, v) in reports) summary[k] = v!.DeepClone();
            RunFolder.WriteJson(Path.Combine(outDir, "summary.json"), summary);
            UncertaintyPlots.Reliability(Path.Combine(outDir, "reliability.png"),
                rows.Select(r => (r.Name, Calibration.ReliabilityDiagram(r.Probs, targets), r.Report.Ece)).ToList());
            console.MarkupLineInterpolated($"Wrote {Path.Combine(outDir, "summary.json")} and reliability.png");
        }
        return 0;
    }

    static void AddMutualInformation(JsonObject json, McDropoutResult mc, Tensor probs, Tensor targets)
    {
        var p = probs.ToArray();
        var t = targets.ToArray();
        int n = t.Length, c = p.Length / n;
        double right = 0, wrong = 0;
        int nRight = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int k = 1; k < c; k++) if (p[i * c + k] > p[i * c + best]) best = k;
            if (best == (int)t[i]) { right += mc.MutualInformation[i]; nRight++; }
            else wrong += mc.MutualInformation[i];
        }
        json["mean_mutual_information"] = mc.MutualInformation.Average();
        json["mean_mutual_information_correct"] = nRight == 0 ? null : right / nRight;
        json["mean_mutual_information_misclassified"] = nRight == n ? null : wrong / (n - nRight);
    }

    /// <summary>A dataset's inputs and targets as two tensors.</summary>
    internal static (Tensor Inputs, Tensor Targets) Materialize(Nabla.Data.IDataset data)
    {
        var loader = new Nabla.Data.DataLoader(data, Math.Max(1, data.Count));
        foreach (var b in loader) return (b.Inputs, b.Targets);
        throw new CliException("the validation split is empty");
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
}
