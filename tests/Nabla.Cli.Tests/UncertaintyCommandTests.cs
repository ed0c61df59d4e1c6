using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

[Collection("Cli")]
public sealed class UncertaintyCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-unc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void EnsembleTrain_ThenEval_WritesMembersSummaryAndPlots()
    {
        var ens = P("ens");
        var args = Tiny(ens, "--epochs", "1").Skip(1).ToList(); // the train options, without "train"
        var r = Run(["ensemble", "train", "--members", "3", "--bagging", .. args]);
        Assert.True(r.Code == 0, r.Error + r.Out);
        for (int m = 1; m <= 3; m++)
        {
            var config = Json(Path.Combine(ens, $"member-{m}", "config.json"));
            Assert.Equal(m - 1, config["seed"]!.GetValue<int>());
            Assert.True(config["bootstrap"]!.GetValue<bool>());
            Assert.Equal(Path.Combine(ens, $"member-{m}"), config["out"]!.GetValue<string>());
        }
        // Bagging: each member trained on its own resample, the same size as the training split.
        Assert.Equal(270, Json(Path.Combine(ens, "member-1", "summary.json"))["train_samples"]!.GetValue<int>());

        // Run again: every member is finished, so nothing is trained.
        var again = Run(["ensemble", "train", "--members", "3", "--bagging", .. args]);
        Assert.Equal(0, again.Code);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(again.Out, "finished before; skipped"));

        // A config file's bootstrap applies to every member as well, and seeds must fit.
        File.WriteAllText(P("bootstrap.json"), """{ "bootstrap": true, "seed": 7 }""");
        var fromFile = Run(["ensemble", "train", "--members", "2", "--config", P("bootstrap.json"), .. Tiny(P("ens-file"), "--epochs", "1").Skip(1)]);
        Assert.True(fromFile.Code == 0, fromFile.Error);
        Assert.True(Json(P("ens-file/member-2/config.json"))["bootstrap"]!.GetValue<bool>());
        Assert.Equal(8, Json(P("ens-file/member-2/config.json"))["seed"]!.GetValue<int>());
        var overflow = Run(["ensemble", "train", "--members", "2", "--seed", "2147483647", .. Tiny(P("ens-big"), "--epochs", "1").Skip(1)]);
        Assert.Equal(2, overflow.Code);
        Assert.Contains("gives seeds past 2147483647", overflow.Error);

        var e = Run("ensemble", "eval", ens, "--data", SubsetDir, "--out", P("eval"));
        Assert.True(e.Code == 0, e.Error);
        var summary = Json(P("eval/summary.json"));
        Assert.Equal(3, summary["members"]!.AsArray().Count);
        Assert.Equal(3, summary["growth"]!.AsArray().Count);
        foreach (var key in new[] { "accuracy", "nll", "ece" })
        {
            Assert.NotNull(summary["ensemble"]![key]);
            Assert.NotNull(summary["members"]![0]![key]);
        }
        // The ensemble of one member is that member.
        Assert.Equal(summary["members"]![0]!["accuracy"]!.GetValue<double>(), summary["growth"]![0]!["accuracy"]!.GetValue<double>());
        Assert.True(File.Exists(P("eval/ensemble.png")));
        Assert.True(File.Exists(P("eval/reliability.png")));

        var bad = Run("ensemble", "eval", P("nothing-here"));
        Assert.Equal(1, bad.Code);
    }

    [Fact]
    public void EvalWithMcDropout_ReportsCalibrationAndRestoresNothingOnDisk()
    {
        var run = P("run");
        Assert.Equal(0, Run(Tiny(run, "--dropout", "0.3")).Code);
        var model = File.ReadAllBytes(Path.Combine(run, "model.safetensors"));
        var r = Run("eval", run, "--data", SubsetDir, "--mc-dropout", "5", "--out", P("mc"));
        Assert.True(r.Code == 0, r.Error);
        Assert.Contains("MC dropout (5 passes)", r.Out);
        Assert.Contains("temperature-scaled (T = ", r.Out);
        var s = Json(P("mc/summary.json"));
        Assert.Equal("mc_dropout", s["predictor"]!.GetValue<string>());
        foreach (var key in new[] { "accuracy", "nll", "ece", "mean_entropy" }) Assert.NotNull(s[key]);
        Assert.Equal(5, s["mc_dropout"]!["samples"]!.GetValue<int>());
        Assert.True(s["mc_dropout"]!["mean_mutual_information"]!.GetValue<double>() >= 0);
        Assert.True(s["temperature_scaling"]!["temperature"]!.GetValue<double>() > 0);
        Assert.NotNull(s["deterministic"]!["ece"]);
        Assert.True(File.Exists(P("mc/reliability.png")));
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        // The top-level figures are the named predictor's, not the temperature-scaled comparison's.
        Assert.Equal(s["mc_dropout"]!["nll"]!.GetValue<double>(), s["nll"]!.GetValue<double>());
        Assert.True(Run("eval", run, "--data", SubsetDir, "--out", P("det")).Code == 0);
        var det = Json(P("det/summary.json"));
        Assert.Equal("deterministic", det["predictor"]!.GetValue<string>());
        Assert.Equal(det["deterministic"]!["nll"]!.GetValue<double>(), det["nll"]!.GetValue<double>());
        Assert.Equal(det["deterministic"]!["ece"]!.GetValue<double>(), det["ece"]!.GetValue<double>());

        var noDropout = P("nodrop");
        Assert.Equal(0, Run(Tiny(noDropout, "--dropout", "0")).Code);
        var e = Run("eval", noDropout, "--data", SubsetDir, "--mc-dropout", "5");
        Assert.Equal(2, e.Code);
        Assert.Contains("--mc-dropout needs a model with dropout", e.Error);
        Assert.Contains("cannot be combined", Run("eval", run, "--mc-dropout", "5", "--tta", "flip").Error);
    }

    [Fact]
    public void PredictWithMcDropout_ShowsEntropyAndMutualInformation()
    {
        var run = P("run");
        Assert.Equal(0, Run(Tiny(run)).Code);
        var image = Nabla.Data.FashionMnist.Load(SubsetDir, train: false).Get(1).Input;
        Nabla.Vision.Image.Save(image, P("x.png"));
        var r = Run("predict", run, P("x.png"), "--mc-dropout", "10");
        Assert.True(r.Code == 0, r.Error);
        Assert.Contains("mutual information", r.Out);
        Assert.Contains("entropy", r.Out);
    }
}
