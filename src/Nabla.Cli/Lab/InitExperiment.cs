using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Small weights, Xavier and Kaiming in 10-layer tanh and ReLU nets: activations layer by layer, then whether the deep ReLU net trains.</summary>
internal sealed class InitExperiment : LabExperiment
{
    public override string Name => "init";

    public override string Claim =>
        "Small random weights collapse the activations; Xavier (Var = 1/n) keeps tanh alive but halves ReLU's variance each layer; " +
        "Kaiming (Var = 2/n) keeps it constant; and it makes a huge difference to whether a deep ReLU net trains.";

    static readonly (string Name, Init Init)[] Inits =
    [
        ("N(0, 0.01²)", Init.Normal(0, 0.01)),
        ("Xavier, Var = 1/n", Init.LecunNormal()),
        ("Kaiming, Var = 2/n", Init.KaimingNormal(nonlinearity: Nonlinearity.Relu)),
    ];

    static readonly string[] Nets = ["tanh", "relu"], Keys = ["small", "xavier", "kaiming"];
    static readonly int[] Shown = [1, 4, 7, 10];

    public override void Run(LabContext lab, LabReport report)
    {
        const int depth = 10;
        int width = lab.Pick(64, 256, 512), batch = lab.Pick(100, 1000, 2000);
        var (sample, _) = LabContext.Standardize(lab.Sample(lab.Train, batch, 1), lab.Sample(lab.Train, 1, 1));
        var std = new Dictionary<(string Act, string Init), double[]>();
        var stats = new Dictionary<(string Act, string Init), IReadOnlyList<ActivationStats>>();
        foreach (var act in Nets)
            foreach (var (initName, init) in Inits)
            {
                var model = LabNets.Mlp([.. Enumerable.Repeat(width, depth)], act, lab.Gen(3), weightInit: init);
                var s = TrainingDiagnostics.Observe(model, sample.Inputs, bins: 30);
                stats[(act, initName)] = s;
                std[(act, initName)] = [.. s.Select(a => a.Std)];
            }
        double[] layers = [.. Enumerable.Range(1, depth).Select(i => (double)i)];
        LabPlots.Save([
            LabPlots.Lines("tanh net: activation std per layer", "layer", "std", Inits.Select(i => new Series(i.Name, layers, std[("tanh", i.Name)])), logY: true),
            LabPlots.Lines("ReLU net: activation std per layer", "layer", "std", Inits.Select(i => new Series(i.Name, layers, std[("relu", i.Name)])), logY: true),
        ], report.File("std-per-layer.png"), columns: 2);
        foreach (var act in Nets)
        {
            // One x axis for the whole figure, so a collapse towards 0 shows as a spike.
            var all = Inits.SelectMany(i => Shown.Select(l => stats[(act, i.Name)][l - 1])).ToList();
            (double, double) range = act == "tanh" ? (-1.05, 1.05) : (0, all.Max(s => s.Max));
            LabPlots.Save([.. Inits.Zip(Keys).SelectMany(i => Shown.Select(l =>
            {
                var s = stats[(act, i.First.Name)][l - 1];
                return LabPlots.Histogram($"{i.Second}, layer {l}: std {s.Std:G2}", s.Histogram, s.Min, s.Max, xRange: range);
            }))], report.File($"histograms-{act}.png"), columns: Shown.Length, width: 340, height: 240);
        }

        // Per-layer variance gain: the geometric mean of (std_{l+1} / std_l)^2 over layers 2..10.
        double Gain(string act, string init)
        {
            var s = std[(act, init)];
            double log = 0;
            for (int l = 1; l < s.Length; l++) log += 2 * Math.Log(s[l] / s[l - 1]);
            return Math.Exp(log / (s.Length - 1));
        }

        // Does the deep ReLU net (no batch norm) train under each?
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(1, 4, 10);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 4), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 5));
        var fits = new Dictionary<string, FitResult>();
        foreach (var (initName, init) in Inits)
        {
            var model = LabNets.Mlp([.. Enumerable.Repeat(width, depth)], "relu", lab.Gen(6), weightInit: init);
            fits[initName] = lab.Fit(model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9), train, test, epochs, shuffleStream: 7);
            lab.Log($"10-layer ReLU, {initName}: test accuracy {Pct(fits[initName].FinalAccuracy)}");
        }
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        LabPlots.Save(LabPlots.Lines($"{depth}-layer ReLU MLP without batch norm: test accuracy", "epoch", "accuracy",
            Inits.Select(i => new Series(i.Name, ep, [.. fits[i.Name].TestAccuracy]))), report.File("training.png"));

        report.Setup($"""
            Two MLPs of {depth} hidden layers of {width} units, tanh or ReLU, biases zero, weights drawn from N(0, 0.01²),
            N(0, 1/n) ("Xavier" in the lecture's form, n the fan-in) or N(0, 2/n) (Kaiming). The activations of one forward
            pass on {batch:N0} standardized training images are measured layer by layer (`TrainingDiagnostics.Observe`).
            Then the ReLU net is trained under each initialization (SGD, momentum 0.9, learning rate 0.01, batch 128,
            {epochs} epochs, {n:N0} images, no batch norm) and tested on {test.Count:N0} images.
            """);
        report.Figure("std-per-layer.png", "Standard deviation of the activations, layer by layer (log scale)");
        report.Figure("histograms-tanh.png", "tanh net: activation histograms at layers 1, 4, 7 and 10 (rows: small, Xavier, Kaiming)");
        report.Figure("histograms-relu.png", "ReLU net: activation histograms at layers 1, 4, 7 and 10 (rows: small, Xavier, Kaiming)");
        report.Table(["net", "initialization", "std layer 1", "std layer 10", "variance gain per layer", "saturated at layer 10"],
            from act in Nets
            from i in Inits
            select new[]
            {
                act, i.Name, E(std[(act, i.Name)][0]), E(std[(act, i.Name)][^1]), F(Gain(act, i.Name), 3),
                act == "tanh" ? Pct(stats[(act, i.Name)][^1].SaturatedFraction) : "—",
            });
        report.Figure("training.png", "Whether the deep ReLU net trains under each initialization");
        report.Table(["initialization", "test accuracy after epoch 1", "final test accuracy"],
            Inits.Select(i => new[] { i.Name, Pct(fits[i.Name].TestAccuracy.FirstOrDefault(double.NaN)), Pct(fits[i.Name].FinalAccuracy) }));
        foreach (var act in Nets)
            foreach (var (i, key) in Inits.Zip(Keys))
            {
                report.Number($"{act}_{key}_std_layer10", std[(act, i.Name)][^1]);
                report.Number($"{act}_{key}_variance_gain", Gain(act, i.Name));
            }
        foreach (var (i, key) in Inits.Zip(Keys)) report.Number($"relu_{key}_test_accuracy", fits[i.Name].FinalAccuracy);

        string small = Inits[0].Name, xavier = Inits[1].Name, kaiming = Inits[2].Name;
        report.Verdict("Small weights collapse the activations towards zero", std[("tanh", small)][^1] < 1e-3 * std[("tanh", small)][0] && std[("relu", small)][^1] < 1e-3 * std[("relu", small)][0],
            $"std from layer 1 to 10: tanh {E(std[("tanh", small)][0])} → {E(std[("tanh", small)][^1])}, ReLU {E(std[("relu", small)][0])} → {E(std[("relu", small)][^1])}.");
        var tanhX = stats[("tanh", xavier)][^1];
        report.Verdict("Xavier keeps tanh alive", tanhX.Std > 0.1 && tanhX.SaturatedFraction < 0.1,
            $"at layer 10 the tanh activations have std {F(tanhX.Std, 3)} with {Pct(tanhX.SaturatedFraction)} saturated (variance gain {F(Gain("tanh", xavier), 3)} per layer).");
        double gx = Gain("relu", xavier), gk = Gain("relu", kaiming);
        report.Verdict("Xavier halves ReLU's variance each layer", gx is > 0.4 and < 0.6, $"measured variance gain per layer {F(gx, 3)} (expected 0.5).");
        report.Verdict("Kaiming keeps ReLU's variance constant", gk is > 0.8 and < 1.25, $"measured variance gain per layer {F(gk, 3)} (expected 1).");
        double accSmall = fits[small].FinalAccuracy, accBest = Math.Max(fits[xavier].FinalAccuracy, fits[kaiming].FinalAccuracy);
        report.Verdict("It makes a huge difference whether a deep ReLU net trains", accBest - (double.IsNaN(accSmall) ? 0.1 : accSmall) > 0.3,
            $"after {epochs} epochs: small {Pct(accSmall)}, Xavier {Pct(fits[xavier].FinalAccuracy)}, Kaiming {Pct(fits[kaiming].FinalAccuracy)} test accuracy.");
    }
}
