using Nabla.Optim;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Plain MLPs of increasing depth, with and without batch norm: optimization gets hard and performance plateaus or drops.</summary>
internal sealed class DepthExperiment : LabExperiment
{
    public override string Name => "depth";

    public override string Claim =>
        "Plain deep nets without batch norm or residual connections get hard to optimize: performance plateaus or drops with depth; batch norm moves the limit.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(1, 4, 10);
        int[] depths = lab.Pick<int[]>([1, 2, 4], [1, 2, 4, 8, 16, 32], [1, 2, 4, 8, 16, 32, 64]);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));
        var results = new Dictionary<(bool Bn, int Depth), FitResult>();
        foreach (bool bn in new[] { false, true })
            foreach (int d in depths)
            {
                var m = LabNets.Mlp([.. Enumerable.Repeat(128, d)], "relu", lab.Gen(3), batchNorm: bn,
                    weightInit: Nn.Init.KaimingNormal(nonlinearity: Nn.Nonlinearity.Relu));
                results[(bn, d)] = lab.Fit(m, new Sgd(m.Parameters(), lr: 0.01, momentum: 0.9), train, test, epochs, shuffleStream: 4, testEachEpoch: false);
                lab.Log($"{d} hidden layers{(bn ? " with batch norm" : "")}: training loss {F(Loss(results[(bn, d)]), 3)}, test accuracy {Pct(results[(bn, d)].FinalAccuracy)}");
            }
        double[] x = [.. depths.Select(d => Math.Log2(d))];
        LabPlots.Save([
            LabPlots.Lines("final training loss against depth", "log2 hidden layers", "training loss",
                [new Series("plain", x, [.. depths.Select(d => Loss(results[(false, d)]))]), new Series("batch norm", x, [.. depths.Select(d => Loss(results[(true, d)]))])]),
            LabPlots.Lines("test accuracy against depth", "log2 hidden layers", "test accuracy",
                [new Series("plain", x, [.. depths.Select(d => results[(false, d)].FinalAccuracy)]), new Series("batch norm", x, [.. depths.Select(d => results[(true, d)].FinalAccuracy)])]),
        ], report.File("depth.png"), columns: 2);

        report.Setup($"""
            MLPs of {string.Join(", ", depths)} hidden layers of 128 ReLU units, Kaiming initialization (so depth, not a bad
            initialization, is what is tested), with or without batch norm, no residual connections; SGD (momentum 0.9, learning
            rate 0.01, batch 128) for {epochs} epochs on {n:N0} standardized training images, {test.Count:N0} test images.
            """);
        report.Figure("depth.png", "Training loss and test accuracy against depth");
        report.Table(["hidden layers", "plain: training loss", "plain: test accuracy", "batch norm: training loss", "batch norm: test accuracy"],
            depths.Select(d => new[]
            {
                d.ToString(System.Globalization.CultureInfo.InvariantCulture), F(Loss(results[(false, d)]), 4), Pct(results[(false, d)].FinalAccuracy, 2),
                F(Loss(results[(true, d)]), 4), Pct(results[(true, d)].FinalAccuracy, 2),
            }));
        foreach (var ((bn, d), f) in results) report.Number($"{(bn ? "bn" : "plain")}_{d}_test_accuracy", f.FinalAccuracy);
        int deepest = depths[^1];
        int bestPlain = depths.MaxBy(d => Finite(results[(false, d)].FinalAccuracy));
        double plainDeep = Finite(results[(false, deepest)].FinalAccuracy), plainBest = Finite(results[(false, bestPlain)].FinalAccuracy);
        string At(bool bn, int d) => results[(bn, d)].Diverged ? "diverged (its loss became NaN)" : Pct(results[(bn, d)].FinalAccuracy, 2);
        report.Verdict("Without batch norm, performance plateaus or drops with depth", bestPlain < deepest && plainDeep <= plainBest,
            $"the plain net is best at {bestPlain} hidden layers ({Pct(plainBest, 2)}); at {deepest} it " +
            (results[(false, deepest)].Diverged ? "diverged (its loss became NaN)." : $"reaches {Pct(plainDeep, 2)} with training loss {F(Loss(results[(false, deepest)]), 3)}."));
        double bnDeep = Finite(results[(true, deepest)].FinalAccuracy);
        report.Verdict("Batch norm makes the deepest net train better", bnDeep > plainDeep,
            $"at {deepest} hidden layers: {At(true, deepest)} with batch norm against {At(false, deepest)} without.");
    }

    static double Loss(FitResult f) => f.Diverged || f.Epochs.Count == 0 ? double.NaN : f.Epochs[^1].TrainLoss;

    static double Finite(double v) => double.IsFinite(v) ? v : 0;
}
