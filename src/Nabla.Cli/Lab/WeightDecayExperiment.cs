using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>L2 regularization against decoupled weight decay: identical for SGD once mapped, different for Adam (Loshchilov and Hutter's figure).</summary>
internal sealed class WeightDecayExperiment : LabExperiment
{
    public override string Name => "weight-decay";

    public override string Claim =>
        "With SGD, L2 regularization and decoupled weight decay are the same once λ is mapped; with Adam they are not, and AdamW's good " +
        "region of learning rate and decay is the better separated.";

    static readonly double[] Lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
    static readonly double[] L2Decays = [0, 1e-5, 1e-4, 1e-3, 1e-2];
    static readonly double[] DecoupledDecays = [0, 1e-2, 1e-1, 1, 10];

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 2_000, 5_000), epochs = lab.Pick(1, 20, 40);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));

        // 1. SGD: w ← w − η(∇L + λw) against w ← (1 − ηλ)w − η∇L, the decay applied apart from the gradient step.
        // A strong decay, so that the effect of decay stands well above float rounding's.
        const double sgdLr = 0.05, lambda = 0.05;
        var l2Model = LabNets.Mlp([512, 512], "relu", lab.Gen(3));
        var l2 = lab.Fit(l2Model, new Sgd(l2Model.Parameters(), lr: sgdLr, weightDecay: lambda), train, test, epochs, shuffleStream: 4);
        var wdModel = LabNets.Mlp([512, 512], "relu", lab.Gen(3));
        var wd = lab.Fit(wdModel, new Sgd(wdModel.Parameters(), lr: sgdLr), train, test, epochs, shuffleStream: 4,
            callbacks: [new DecoupledDecay(wdModel, sgdLr * lambda)]);
        double weightDiff = RelativeDistance(l2Model, wdModel);
        double maxLossDiff = l2.TestLoss.Zip(wd.TestLoss).Max(p => Math.Abs(p.First - p.Second));
        var none = LabNets.Mlp([512, 512], "relu", lab.Gen(3));
        var plain = lab.Fit(none, new Sgd(none.Parameters(), lr: sgdLr), train, test, epochs, shuffleStream: 4);
        double decayEffect = l2.TestLoss.Zip(plain.TestLoss).Max(p => Math.Abs(p.First - p.Second));
        double decayWeightEffect = RelativeDistance(l2Model, none);
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        LabPlots.Save(LabPlots.Lines("SGD: test loss with L2 and with decoupled decay", "epoch", "test cross-entropy",
        [
            new Series($"L2, λ = {lambda}", ep, [.. l2.TestLoss]),
            new Series($"decoupled, ηλ = {sgdLr * lambda}", ep, [.. wd.TestLoss], Dashed: true),
            new Series("no decay", ep, [.. plain.TestLoss]),
        ]), report.File("sgd.png"));
        lab.Log($"SGD: L2 and decoupled decay end {E(weightDiff)} apart (relative), decay and none {E(decayWeightEffect)}");

        // 2. Adam + L2 against AdamW over a grid of learning rates and decays.
        var adamErr = new double[Lrs.Length, L2Decays.Length];
        var adamWErr = new double[Lrs.Length, DecoupledDecays.Length];
        for (int i = 0; i < Lrs.Length; i++)
            for (int j = 0; j < L2Decays.Length; j++)
            {
                var a = LabNets.Mlp([512, 512], "relu", lab.Gen(5));
                adamErr[i, j] = Error(lab.Fit(a, new Adam(ParamGroup.SplitByRank(a, L2Decays[j]), lr: Lrs[i], weightDecay: L2Decays[j]), train, test, epochs, shuffleStream: 6, testEachEpoch: false));
                var w = LabNets.Mlp([512, 512], "relu", lab.Gen(5));
                adamWErr[i, j] = Error(lab.Fit(w, new AdamW(ParamGroup.SplitByRank(w, DecoupledDecays[j]), lr: Lrs[i], weightDecay: DecoupledDecays[j]), train, test, epochs, shuffleStream: 6, testEachEpoch: false));
            }
        double low = Math.Min(Min(adamErr), Min(adamWErr)), high = Math.Min(90, Math.Max(Max(adamErr), Max(adamWErr)));
        string[] lrLabels = [.. Lrs.Select(v => v.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture))];
        LabPlots.Save([
            LabPlots.Heatmap("Adam + L2: test error (%)", adamErr, lrLabels, [.. L2Decays.Select(Label)], "L2 factor λ", "learning rate", low, high),
            LabPlots.Heatmap("AdamW: test error (%)", adamWErr, lrLabels, [.. DecoupledDecays.Select(Label)], "decoupled decay λ", "learning rate", low, high),
        ], report.File("adam-grid.png"), columns: 2, width: 620, height: 480);

        var (adamBest, adamGood, adamInteraction) = Shape(adamErr);
        var (adamWBest, adamWGood, adamWInteraction) = Shape(adamWErr);
        report.Setup($"""
            An MLP (784-512-512-10, ReLU) on {n:N0} standardized training images (small, so regularization matters), {epochs}
            epochs, batch 128, tested on {test.Count:N0} images. SGD (no momentum, learning rate η = {sgdLr}): L2 with λ = {lambda}
            (Nabla's `Sgd(weightDecay: λ)`, which adds λw to the gradient) against plain SGD whose weights are multiplied by
            (1 − ηλ) before each step, outside the gradient. Adam: a grid of learning rates {string.Join(", ", lrLabels)} against
            the L2 factor ({string.Join(", ", L2Decays.Select(Label))}) for Adam + L2, and against the decoupled decay
            ({string.Join(", ", DecoupledDecays.Select(Label))}; each step shrinks w by lr·λ) for AdamW; biases are not decayed.
            """);
        report.Section("SGD");
        report.Figure("sgd.png", "SGD: the two forms of decay give one curve");
        report.Table(["", "final test accuracy", "final test loss"],
        [
            ["L2", Pct(l2.FinalAccuracy), F(l2.TestLoss[^1], 4)], ["decoupled", Pct(wd.FinalAccuracy), F(wd.TestLoss[^1], 4)],
            ["no decay", Pct(plain.FinalAccuracy), F(plain.TestLoss[^1], 4)],
        ]);
        report.Number("sgd_relative_weight_distance", weightDiff);
        report.Number("sgd_max_test_loss_difference", maxLossDiff);
        report.Number("sgd_decay_effect_on_test_loss", decayEffect);
        report.Verdict("With SGD, L2 and decoupled decay (λ mapped to ηλ) give the same trajectory", weightDiff < 0.1 * decayWeightEffect && maxLossDiff < 0.1 * decayEffect,
            $"after {epochs} epochs the two sets of weights are {E(weightDiff)} apart (‖W_L2 − W_decoupled‖ / ‖W_L2‖) and their test losses differ by at most " +
            $"{E(maxLossDiff)}: float rounding, amplified by training. Decay itself moves the weights {E(decayWeightEffect)} and the test loss by up to {E(decayEffect)}.");

        report.Section("Adam + L2 against AdamW");
        report.Figure("adam-grid.png", "Test error over learning rate × decay: Adam + L2 (left) and AdamW (right)");
        report.Table(["", "best test error", "cells within 1 point of the best", "interaction share (0: lr and λ act separately)"],
        [
            ["Adam + L2", F(adamBest, 2) + "%", adamGood.ToString(System.Globalization.CultureInfo.InvariantCulture), F(adamInteraction, 3)],
            ["AdamW", F(adamWBest, 2) + "%", adamWGood.ToString(System.Globalization.CultureInfo.InvariantCulture), F(adamWInteraction, 3)],
        ]);
        report.Text("The interaction share is the part of the error's variance over the grid that an additive model, error ≈ f(lr) + g(λ), " +
                    "cannot explain: 0 when the best λ is the same at every learning rate (separable), larger when the good region runs diagonally.");
        report.Number("adam_l2_best_error", adamBest);
        report.Number("adamw_best_error", adamWBest);
        report.Number("adam_l2_interaction_share", adamInteraction);
        report.Number("adamw_interaction_share", adamWInteraction);
        bool differ = Math.Abs(adamBest - adamWBest) > 0.1 || Math.Abs(adamInteraction - adamWInteraction) > 0.02;
        report.Verdict("With Adam, L2 and decoupled decay are not the same", differ,
            $"best test error {F(adamBest, 2)}% (Adam + L2) against {F(adamWBest, 2)}% (AdamW); interaction share {F(adamInteraction, 3)} against {F(adamWInteraction, 3)}.");
        report.Verdict("AdamW's good region is the better separated", adamWInteraction < adamInteraction,
            $"interaction share {F(adamWInteraction, 3)} (AdamW) against {F(adamInteraction, 3)} (Adam + L2); {adamWGood} against {adamGood} cells within 1 point of the best.");
    }

    static string Label(double v) => v == 0 ? "0" : v.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture);

    static double Error(FitResult f) => f.Diverged ? 90 : 100 * (1 - f.FinalAccuracy);

    static double Min(double[,] a) => a.Cast<double>().Min();

    static double Max(double[,] a) => a.Cast<double>().Max();

    /// <summary>‖W_a − W_b‖ / ‖W_a‖ over all parameters.</summary>
    static double RelativeDistance(Module a, Module b)
    {
        double diff = 0, norm = 0;
        foreach (var (p, q) in a.Parameters().Zip(b.Parameters()))
        {
            var x = p.Data.ToArray();
            var y = q.Data.ToArray();
            for (int i = 0; i < x.Length; i++)
            {
                diff += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
                norm += (double)x[i] * x[i];
            }
        }
        return Math.Sqrt(diff / norm);
    }

    /// <summary>The best error, the cells within 1 point of it, and the share of the variance an additive model f(row) + g(column) leaves.</summary>
    static (double Best, int Good, double Interaction) Shape(double[,] e)
    {
        int r = e.GetLength(0), c = e.GetLength(1);
        double best = Min(e), grand = e.Cast<double>().Average();
        int good = e.Cast<double>().Count(v => v <= best + 1);
        var rowMean = Enumerable.Range(0, r).Select(i => Enumerable.Range(0, c).Average(j => e[i, j])).ToArray();
        var colMean = Enumerable.Range(0, c).Select(j => Enumerable.Range(0, r).Average(i => e[i, j])).ToArray();
        double total = 0, residual = 0;
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
            {
                total += (e[i, j] - grand) * (e[i, j] - grand);
                double fit = rowMean[i] + colMean[j] - grand;
                residual += (e[i, j] - fit) * (e[i, j] - fit);
            }
        return (best, good, total > 0 ? residual / total : 0);
    }

    /// <summary>Decoupled weight decay for SGD: w ← (1 − ηλ) w just before the optimizer's step, which then subtracts η∇L computed at the old w.</summary>
    sealed class DecoupledDecay(Module model, double shrink) : ITrainerCallback
    {
        public void OnBeforeOptimizerStep()
        {
            // Through the public API: the shrunk weights are loaded back in place.
            var shrunk = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Data * (float)(1 - shrink));
            model.LoadStateDict(shrunk, strict: false);
        }

        public string? OnEpochEnd(EpochRecord record) => null;
    }
}
