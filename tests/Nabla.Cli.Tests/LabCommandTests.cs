using System.Text.Json.Nodes;
using Nabla.Cli.Lab;
using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

/// <summary><c>nabla lab</c>: every experiment runs at a tiny size and writes its report; the list, and the mistakes it refuses.</summary>
[Collection("Cli")]
public sealed class LabCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-lab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Every_experiment_runs_at_a_tiny_size_and_writes_its_figures_report_and_verdicts()
    {
        var r = Run("lab", "all", "--scale", "tiny", "--data", SubsetDir, "--threads", "2", "--out", P("lab"));
        Assert.True(r.Code == 0, r.Error);
        var names = LabExperiment.All.Select(e => e.Name).ToArray();
        Assert.Equal(12, names.Length);
        foreach (var name in names)
        {
            var dir = P($"lab/{name}");
            var report = File.ReadAllText(Path.Combine(dir, "report.md"));
            Assert.StartsWith($"# nabla lab {name}", report);
            Assert.Contains("## Verdicts", report);
            var pngs = Directory.GetFiles(dir, "*.png");
            Assert.NotEmpty(pngs);
            // Every figure the report shows exists, and every PNG written is shown.
            foreach (var png in pngs)
            {
                Assert.Contains($"]({Path.GetFileName(png)})", report);
                Assert.True(new FileInfo(png).Length > 5_000, png);
            }
            var result = Json(Path.Combine(dir, "result.json"));
            Assert.Equal(name, result["experiment"]!.GetValue<string>());
            Assert.Equal("tiny", result["scale"]!.GetValue<string>());
            var verdicts = result["verdicts"]!.AsArray();
            Assert.NotEmpty(verdicts);
            Assert.All(verdicts, v => Assert.Contains(v!["verdict"]!.GetValue<string>(), new[] { "holds", "does not hold", "inconclusive" }));
            Assert.Contains($"nabla lab {name}", r.Out);
        }
        var summary = Json(P("lab/summary.json"));
        Assert.Equal(names, summary["experiments"]!.AsArray().Select(e => e!["experiment"]!.GetValue<string>()));

        // The exact parts hold at any size: the lecture's loss table, and the two-input dropout rule.
        var losses = Json(P("lab/losses/result.json"))["numbers"]!;
        Assert.Equal(12, losses["hinge_2"]!.GetValue<double>());
        Assert.Equal(5.70, Math.Round(losses["cross_entropy_2"]!.GetValue<double>(), 2));
        var dropout = Json(P("lab/dropout/result.json"))["numbers"]!;
        Assert.Equal(dropout["two_input_expected"]!.GetValue<double>(), dropout["two_input_eval"]!.GetValue<double>(), 6);
        var bn = Json(P("lab/batch-norm/result.json"))["numbers"]!;
        Assert.True(bn["undo_max_difference"]!.GetValue<double>() < 1e-4);

        // Run again into the same folder: the experiment's folder is replaced, not refused.
        var again = Run("lab", "losses", "--scale", "tiny", "--data", SubsetDir, "--out", P("lab"));
        Assert.True(again.Code == 0, again.Error);
    }

    [Fact]
    public void List_names_every_experiment_with_its_claim()
    {
        var r = Run("lab", "--list");
        Assert.Equal(0, r.Code);
        foreach (var e in LabExperiment.All) Assert.Contains(e.Name, r.Out);
    }

    [Theory]
    [InlineData("unknown experiment 'inti' (did you mean 'init'?)", "inti")]
    [InlineData("nabla lab expects an experiment name, all, or --list")]
    [InlineData("--full and --scale tiny contradict each other", "init", "--full", "--scale", "tiny")]
    [InlineData("--seed must be non-negative", "init", "--seed", "-1")]
    public void Mistakes_get_one_line(string message, params string[] args)
    {
        var r = Run(["lab", .. args]);
        Assert.Equal(2, r.Code);
        Assert.Contains(message, r.Error);
        Assert.Single(r.Error.Trim().Split('\n'));
    }

    [Fact]
    public void A_folder_that_is_not_a_lab_run_is_refused_before_anything_runs()
    {
        Directory.CreateDirectory(P("lab/init"));
        File.WriteAllText(P("lab/init/notes.txt"), "mine");
        var r = Run("lab", "losses", "init", "--scale", "tiny", "--data", SubsetDir, "--out", P("lab"));
        Assert.Equal(1, r.Code);
        Assert.Contains("is not a lab experiment's folder", r.Error);
        Assert.False(Directory.Exists(P("lab/losses")));
        Assert.Equal("mine", File.ReadAllText(P("lab/init/notes.txt")));
    }

    [Fact]
    public void Auroc_is_the_probability_that_an_unseen_score_beats_a_seen_one()
    {
        Assert.Equal(1.0, McDropoutExperiment.Auroc([0.1, 0.2], [0.3, 0.4]));
        Assert.Equal(0.0, McDropoutExperiment.Auroc([0.3, 0.4], [0.1, 0.2]));
        Assert.Equal(0.5, McDropoutExperiment.Auroc([1, 1], [1, 1]));
        // 4 pairs: (0.1 < 0.2), (0.3 > 0.2), (0.1 < 0.5), (0.3 < 0.5): 3 of 4.
        Assert.Equal(0.75, McDropoutExperiment.Auroc([0.1, 0.3], [0.2, 0.5]));
    }
}
