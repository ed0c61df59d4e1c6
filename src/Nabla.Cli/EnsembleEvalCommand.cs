using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla ensemble eval RUN... --out DIR</c>: combines trained runs into an ensemble by averaging
/// their class probabilities (or, with <c>--combine logits</c>, their logits), and reports each
/// member's and the ensemble's accuracy, NLL, ECE and Brier score, and the ensemble's error as it
/// grows from 1 to K members (a table, and <c>ensemble.png</c>).
/// </summary>
/// <remarks>
/// Members make different mistakes — they start from different random weights, see the data in
/// different orders and, with bagging, different resamples — so averaging cancels part of their
/// errors and of their overconfidence (Lakshminarayanan et al. 2017). Each member normalizes the
/// images with its own training statistics.
/// </remarks>
internal static class EnsembleEvalCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--combine", OptionKind.Choice, "average the members' probabilities (default) or their logits", ["probabilities", "logits"]),
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files (default as for nabla train)"),
        new("--batch-size", OptionKind.Int, "images per forward pass (default 512)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
        new("--out", OptionKind.Path, "folder to write summary.json and ensemble.png into"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("ensemble eval", args, Options);
        if (parsed.Positionals.Count == 0)
            throw new CliException("nabla ensemble eval expects run folders, or a folder of member-* runs (usage: nabla ensemble eval RUN... [--out DIR])");
        CommandShared.SetThreads(parsed);
        int batch = parsed.Int("batch_size") ?? 512;
        if (batch < 1) throw new CliException($"--batch-size must be at least 1; got {batch}");
        var how = parsed.Text("combine") == "logits" ? EnsembleCombine.Logits : EnsembleCombine.Probabilities;
        var runs = ExpandRuns(parsed.Positionals);
        var (test, source) = Inference.TestSet(parsed.Text("data"));
        var targets = test.Targets;

        var logits = new List<Tensor>();
        var members = new List<PredictionReport>();
        IReadOnlyList<string>? classes = null;
        foreach (var run in runs)
        {
            var saved = SavedModel.Load(run);
            if (saved.FromFolder)
                throw CliException.File($"{run} was trained on an image folder; nabla ensemble eval reads Fashion-MNIST's IDX test split only (evaluate the members one by one with nabla eval)");
            classes ??= saved.Classes;
            if (!saved.Classes.SequenceEqual(classes))
                throw CliException.File($"{run} predicts other classes than {runs[0]} ({saved.Classes.Count} against {classes.Count}): the runs cannot form an ensemble");
            var z = CommandShared.RequireFinite(Inference.Logits(Inference.Prepared(saved), Inference.Inputs(saved, test.Inputs), batch), run);
            logits.Add(z);
            members.Add(PredictionReport.Of(Functional.Softmax(z, 1), targets));
        }
        var growth = new List<PredictionReport>();
        Tensor combined = null!;
        for (int k = 1; k <= logits.Count; k++)
        {
            combined = Ensemble.Combine(logits.Take(k).ToList(), how);
            growth.Add(PredictionReport.Of(combined, targets));
        }
        var ensemble = growth[^1];
        int bestMember = Enumerable.Range(0, members.Count).MinBy(i => members[i].Error);

        console.MarkupLineInterpolated($"[bold]nabla ensemble eval[/]: {runs.Count} members on {source} ({test.Count:N0} test images), averaging {(how == EnsembleCombine.Logits ? "logits" : "probabilities")}");
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var col in PredictionReport.Columns) table.AddColumn(col == "predictor" ? new TableColumn(col) : new TableColumn(col).RightAligned());
        for (int i = 0; i < members.Count; i++) table.AddRow(members[i].Cells(Markup.Escape(runs[i]) + (i == bestMember ? " (best)" : "")));
        table.AddRow(ensemble.Cells($"[bold]ensemble of {runs.Count}[/]"));
        console.Write(table);
        var grow = new Table().Border(TableBorder.Simple).Title("test error as the ensemble grows")
            .AddColumn("members").AddColumn(new TableColumn("error").RightAligned()).AddColumn(new TableColumn("NLL").RightAligned()).AddColumn(new TableColumn("ECE").RightAligned());
        for (int k = 0; k < growth.Count; k++)
            grow.AddRow((k + 1).ToString(CultureInfo.InvariantCulture), (100 * growth[k].Error).ToString("F2", CultureInfo.InvariantCulture) + "%",
                growth[k].Nll.ToString("F4", CultureInfo.InvariantCulture), growth[k].Ece.ToString("F4", CultureInfo.InvariantCulture));
        console.Write(grow);
        console.MarkupLineInterpolated($"ensemble error {100 * ensemble.Error:F2}% against {100 * members[bestMember].Error:F2}% for the best member ({runs[bestMember]})");

        if (parsed.Text("out") is string outDir)
        {
            Directory.CreateDirectory(outDir);
            var memberJson = new JsonArray();
            for (int i = 0; i < members.Count; i++)
            {
                var m = members[i].ToJson();
                m["run"] = runs[i];
                memberJson.Add(m);
            }
            var growthJson = new JsonArray();
            for (int k = 0; k < growth.Count; k++)
            {
                var g = growth[k].ToJson();
                g["members"] = k + 1;
                growthJson.Add(g);
            }
            var summary = new JsonObject
            {
                ["data"] = source,
                ["test_samples"] = test.Count,
                ["combine"] = how == EnsembleCombine.Logits ? "logits" : "probabilities",
                ["members"] = memberJson,
                ["best_member"] = runs[bestMember],
                ["best_member_accuracy"] = members[bestMember].Accuracy,
                ["ensemble"] = ensemble.ToJson(),
                ["growth"] = growthJson,
            };
            RunFolder.WriteJson(Path.Combine(outDir, "summary.json"), summary);
            UncertaintyPlots.EnsembleGrowth(Path.Combine(outDir, "ensemble.png"), growth.Select(g => g.Error).ToArray(), members.Select(m => m.Error).ToArray());
            UncertaintyPlots.Reliability(Path.Combine(outDir, "reliability.png"),
                [("best member", Calibration.ReliabilityDiagram(Functional.Softmax(logits[bestMember], 1), targets), members[bestMember].Ece),
                 ($"ensemble of {runs.Count}", Calibration.ReliabilityDiagram(combined, targets), ensemble.Ece)]);
            console.MarkupLineInterpolated($"Wrote {Path.Combine(outDir, "summary.json")}, ensemble.png and reliability.png");
        }
        return 0;
    }

    /// <summary>Run folders as given; a folder without a model but with member-* runs stands for those members, in order.</summary>
    static List<string> ExpandRuns(IEnumerable<string> given)
    {
        var runs = new List<string>();
        foreach (var g in given)
        {
            if (Directory.Exists(g) && !File.Exists(Path.Combine(g, SavedModel.FileName)))
            {
                var found = Directory.GetDirectories(g, "member-*")
                    .Select(d => (Dir: d, Number: int.TryParse(Path.GetFileName(d)["member-".Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) ? k : -1))
                    .Where(d => d.Number > 0).OrderBy(d => d.Number).ToList();
                if (found.Count == 0) throw CliException.File($"{g} holds neither a model.safetensors nor member-* runs");
                runs.AddRange(found.Select(f => f.Dir));
            }
            else runs.Add(g);
        }
        return runs;
    }
}
