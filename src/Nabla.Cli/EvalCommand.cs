using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Training;
using Nabla.Vision.Transforms;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla eval RUN</c>: the test metrics of a trained model — accuracy, top-5 accuracy, loss,
/// per-class accuracy, the confusion matrix — and how well its probabilities are calibrated:
/// negative log-likelihood, expected calibration error (15 bins), Brier score, predictive entropy,
/// against temperature scaling fitted on the run's validation split (the baseline to beat).
/// <c>--mc-dropout T</c> also evaluates Monte Carlo dropout (T stochastic passes, batch norm in
/// evaluation mode). <c>--tta</c> adds a test-time augmentation row beside the plain one: <c>flip</c>
/// averages each image with its mirror image; <c>ten-crop</c> is AlexNet's 10-crop test (the image
/// resized to 256/224 of the working size, its four corners and centre at the working size, and their
/// mirror images); <c>multi-scale</c> averages centre crops of the image resized to 1, 256/224 and
/// 288/224 times the working size. Each averages the class probabilities of its views.
/// </summary>
internal static class EvalCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files, or for a model trained on an image folder a folder of labelled images (its test/ when it has one) (default the run's own test images)"),
        new("--mc-dropout", OptionKind.Int, "also evaluate Monte Carlo dropout with this many stochastic passes (e.g. 50)"),
        new("--tta", OptionKind.Choice, "test-time augmentation, reported beside the plain prediction: none, flip (the image and its mirror), " +
            "ten-crop (four corners and the centre, and their mirrors), multi-scale (centre crops at three scales)", ["none", "flip", "ten-crop", "multi-scale"]),
        new("--batch-size", OptionKind.Int, "images per forward pass (default 512)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
        new("--out", OptionKind.Path, "folder to write summary.json and reliability.png into"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("eval", args, Options);
        if (parsed.Positionals.Count != 1)
            throw new CliException($"nabla eval expects one run folder (or model file); got {parsed.Positionals.Count} (usage: nabla eval RUN [options])");
        int? batchFlag = parsed.Int("batch_size");
        if (batchFlag < 1) throw new CliException($"--batch-size must be at least 1; got {batchFlag}");
        CommandShared.SetThreads(parsed);
        string tta = parsed.Text("tta") ?? "none";
        string runPath = parsed.Positionals[0];
        if (parsed.Has("mc_dropout") && tta != "none") throw new CliException("--mc-dropout and --tta cannot be combined");
        var saved = SavedModel.Load(runPath);
        int batch = batchFlag ?? (saved.Config.Model == ModelKind.ResNet18ImageNet ? 64 : 512);
        string? dataDir = parsed.Text("data");
        int? mcSamples = CommandShared.McDropoutPasses(parsed, saved, runPath);
        var (test, source) = Inference.TestImages(saved, runPath, dataDir, console);
        var targets = Inference.Targets(test);
        var norm = saved.Normalization;
        var model = saved.Model;
        // The deterministic passes run on the model prepared for inference (batch norm folded, ReLU fused).
        var fast = Inference.Prepared(saved);
        int n = targets.Numel;

        var logits = CommandShared.RequireFinite(Inference.OverBatches(test, batch, x => fast.Forward(norm.Apply(x))), runPath);
        var deterministicProbs = Functional.Softmax(logits, 1);
        var rows = new List<(string Name, Tensor Probs, PredictionReport Report)> { ("deterministic", deterministicProbs, PredictionReport.Of(deterministicProbs, targets)) };
        var reports = new JsonObject { ["deterministic"] = rows[0].Report.ToJson() };

        // The baseline: one temperature, fitted on the validation split the run held out.
        double? temperature = null;
        if (ValidationLogits(saved, runPath, dataDir, batch, console) is var (valLogits, valTargets))
        {
            temperature = TemperatureScaling.Fit(valLogits, valTargets);
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
        if (tta != "none")
        {
            int size = saved.Shape.Size;
            Func<Tensor, Tensor> views = tta switch
            {
                "flip" => image => Tensor.Stack([image, MirrorImages(image.Unsqueeze(0)).Squeeze(0)], 0),
                "ten-crop" => image => new TenCrop(size).Apply(new Resize(Scaled(size, 256)).Apply(image, NoDraws), NoDraws),
                _ => image => Tensor.Stack([.. MultiScaleSizes(size).Select(s => new CenterCrop(size).Apply(new Resize(s).Apply(image, NoDraws), NoDraws))], 0),
            };
            int viewCount = tta switch { "flip" => 2, "ten-crop" => 10, _ => 3 };
            main = Inference.OverBatches(test, Math.Max(1, batch / viewCount), x => AverageOverViews(fast, norm, x, views));
            string name = tta switch { "flip" => "flip TTA", "ten-crop" => "ten-crop TTA", _ => $"multi-scale TTA ({string.Join(", ", MultiScaleSizes(size))})" };
            rows.Add((name, main, PredictionReport.Of(main, targets)));
            reports[tta.Replace('-', '_') + "_tta"] = rows[^1].Report.ToJson();
        }
        McDropoutResult? mc = null;
        if (mcSamples is int t)
        {
            mc = McDropoutInChunks(model, norm, test, t, batch);
            main = mc.MeanProbabilities;
            rows.Add(($"MC dropout ({t} passes)", main, PredictionReport.Of(main, targets)));
            var json = rows[^1].Report.ToJson();
            json["samples"] = t;
            AddMutualInformation(json, mc, main, targets);
            reports["mc_dropout"] = json;
        }

        // The report of `main`: the deterministic row unless flip TTA or MC dropout replaced it (the
        // temperature-scaled row is a comparison, not the predictor the summary names).
        var mainReport = tta != "none" || mc is not null ? rows[^1].Report : rows[0].Report;
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
                ["predictor"] = mc is not null ? "mc_dropout" : tta != "none" ? tta.Replace('-', '_') + "_tta" : "deterministic",
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

    static readonly Generator NoDraws = new(0); // Resize and the crops draw nothing

    static int Scaled(int size, int of224) => (int)Math.Round(size * of224 / 224.0);

    /// <summary>The shorter sides of multi-scale testing: 1, 256/224 and 288/224 times the working size.</summary>
    internal static int[] MultiScaleSizes(int size) => [size, Scaled(size, 256), Scaled(size, 288)];

    /// <summary>
    /// The class probabilities of each (C, S, S) image of the raw batch <paramref name="x"/>, averaged
    /// over its views (<paramref name="views"/>: image to (V, C, S, S)), the views of several images in one forward pass.
    /// </summary>
    static Tensor AverageOverViews(InferenceModel model, InputNormalization norm, Tensor x, Func<Tensor, Tensor> views)
    {
        int n = x.Shape[0];
        var all = Tensor.Cat([.. Enumerable.Range(0, n).Select(i => views(x.Narrow(0, i, 1).Squeeze(0)))], 0);
        int v = all.Shape[0] / n;
        var probs = Functional.Softmax(model.Forward(norm.Apply(all)), 1).ToArray();
        int k = probs.Length / (n * v);
        var mean = new float[n * k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < v; j++)
                for (int c = 0; c < k; c++) mean[i * k + c] += probs[(i * v + j) * k + c] / v;
        return Tensor.FromArray(mean, n, k);
    }

    /// <summary>Monte Carlo dropout over a dataset, a chunk of images at a time, so only a chunk is held as floats.</summary>
    static McDropoutResult McDropoutInChunks(Module model, InputNormalization norm, Nabla.Data.IDataset test, int samples, int batch)
    {
        var parts = new List<McDropoutResult>();
        foreach (var chunk in new Nabla.Data.DataLoader(test, Math.Max(batch, 2048)))
            parts.Add(McDropout.Predict(model, norm.Apply(chunk.Inputs), samples, batch));
        return new McDropoutResult(Tensor.Cat([.. parts.Select(p => p.MeanProbabilities)], 0), [.. parts.SelectMany(p => p.PredictiveEntropy)],
            [.. parts.SelectMany(p => p.ExpectedEntropy)], [.. parts.SelectMany(p => p.MutualInformation)], samples);
    }

    /// <summary>The logits and targets of the run's validation split, for temperature scaling; null when it held none out.</summary>
    static (Tensor Logits, Tensor Targets)? ValidationLogits(SavedModel saved, string runPath, string? dataDir, int batch, IAnsiConsole console)
    {
        if (saved.Config.ValSplit == 0 && !saved.FromFolder) return null;
        if (!saved.FromFolder)
        {
            string? idx = dataDir ?? (saved.Config.Data is string d && Directory.Exists(d) ? d : null);
            var (valInputs, valTargets) = Materialize(RunData.Load(saved.Config.WithData(idx)).Validation!);
            return (Inference.Logits(Inference.Prepared(saved), valInputs, batch), valTargets);
        }
        if (!Directory.Exists(runPath) || FolderData.LoadSplit(runPath, "val", saved.Shape, saved.Classes, console) is not { } val) return null;
        var fast = Inference.Prepared(saved);
        return (Inference.OverBatches(val, batch, x => fast.Forward(saved.Normalization.Apply(x))), Inference.Targets(val));
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
