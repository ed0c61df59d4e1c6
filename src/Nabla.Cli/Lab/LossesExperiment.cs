using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>
/// Hinge (multi-class SVM) against cross-entropy: the lecture's three score vectors, their
/// gradients, and the same network trained under each.
/// </summary>
internal sealed class LossesExperiment : LabExperiment
{
    public override string Name => "losses";

    public override string Claim =>
        "Hinge loss is satisfied once the margins are met (its gradient is exactly zero); cross-entropy always wants to improve.";

    public override void Run(LabContext lab, LabReport report)
    {
        // 1. The lecture's table, exactly.
        float[][] scores = [[5, -3, 2], [5, 10, 10], [5, -20, -20]];
        double[] expectHinge = [0, 12, 0], expectCe = [0.05, 5.70, 2e-11];
        var rows = new List<string[]>();
        bool tableHolds = true, hingeZeroGrad = true, ceNonZeroGrad = true;
        for (int i = 0; i < scores.Length; i++)
        {
            var (hinge, hingeGrad) = LossAndGrad(new MulticlassHingeLoss(), scores[i]);
            var (ce, ceGrad) = LossAndGrad(new CrossEntropyLoss(), scores[i]);
            tableHolds &= Math.Abs(hinge - expectHinge[i]) < 1e-6 && RoundsTo(ce, expectCe[i]);
            if (hinge == 0) hingeZeroGrad &= hingeGrad.All(g => g == 0);
            ceNonZeroGrad &= ceGrad.Any(g => g != 0);
            rows.Add([$"[{string.Join(", ", scores[i])}]", F(hinge, 0), $"[{string.Join(", ", hingeGrad.Select(g => F(g, 0)))}]",
                ce < 1e-3 ? E(ce) : F(ce, 2), $"[{string.Join(", ", ceGrad.Select(g => E(g)))}]"]);
            report.Number($"hinge_{i + 1}", hinge);
            report.Number($"cross_entropy_{i + 1}", ce);
        }
        report.Section("The lecture's table (class 0 is the true class)");
        report.Table(["scores", "hinge", "∂hinge/∂s", "cross-entropy", "∂CE/∂s"], rows);
        report.Verdict("The table: hinge 0 / 12 / 0, cross-entropy 0.05 / 5.70 / 2e-11", tableHolds,
            $"measured hinge {string.Join(" / ", rows.Select(r => r[1]))}, cross-entropy {string.Join(" / ", rows.Select(r => r[3]))}.");
        report.Verdict("Hinge saturates: zero loss gives an exactly zero gradient; cross-entropy's gradient is never zero", hingeZeroGrad && ceNonZeroGrad,
            "for scores [5, -3, 2] and [5, -20, -20] every hinge gradient entry is 0, while cross-entropy's are small but non-zero (table).");

        // 2. The same MLP trained under each loss; the fraction of training samples each loss still pushes on.
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(2, 10, 20);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));
        var curves = new Dictionary<string, (FitResult Fit, double[] Active)>();
        foreach (var (name, loss) in new (string, Loss)[] { ("cross-entropy", new CrossEntropyLoss()), ("hinge", new MulticlassHingeLoss()) })
        {
            var model = LabNets.Mlp([256, 256], "relu", lab.Gen(3));
            var active = new List<double>();
            var probe = new ActiveFraction(model, train, loss, active);
            var fit = lab.Fit(model, new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9), train, test, epochs, loss: loss, shuffleStream: 4, callbacks: [probe]);
            curves[name] = (fit, [.. active]);
            lab.Log($"{name}: test accuracy {Pct(fit.FinalAccuracy)}, samples with a non-zero gradient {Pct(active[^1])}");
        }
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        LabPlots.Save([
            LabPlots.Lines("test accuracy", "epoch", "accuracy", curves.Select(c => new Series(c.Key, ep, [.. c.Value.Fit.TestAccuracy]))),
            LabPlots.Lines("training samples whose loss still has a gradient", "epoch", "fraction", curves.Select(c => new Series(c.Key, ep, c.Value.Active))),
        ], report.File("training.png"), columns: 2);
        report.Setup($"""
            The table uses Nabla's `MulticlassHingeLoss` (the lecture's sum over wrong classes of max(0, s_j − s_y + 1)) and
            `CrossEntropyLoss`, with gradients from autograd. Training: the same MLP (784-256-256-10, ReLU) on {n:N0} training
            images (standardized), SGD with momentum 0.9, learning rate 0.05, batch 128, {epochs} epochs, under each loss;
            tested on {test.Count:N0} test images. After each epoch, the fraction of training samples whose per-sample loss
            gradient is non-zero (hinge: a margin not met; cross-entropy: a true-class probability below 1, computed in double precision).
            """);
        report.Section("Training under each loss");
        report.Figure("training.png", "Test accuracy, and the share of training samples each loss still learns from");
        double hingeActive = curves["hinge"].Active[^1], ceActive = curves["cross-entropy"].Active[^1];
        report.Table(["loss", "test accuracy", "samples with a gradient (last epoch)"],
            curves.Select(c => new[] { c.Key, Pct(c.Value.Fit.FinalAccuracy), Pct(c.Value.Active[^1]) }));
        report.Number("test_accuracy_cross_entropy", curves["cross-entropy"].Fit.FinalAccuracy);
        report.Number("test_accuracy_hinge", curves["hinge"].Fit.FinalAccuracy);
        report.Number("active_fraction_hinge", hingeActive);
        report.Number("active_fraction_cross_entropy", ceActive);
        report.Verdict("In training, hinge stops learning from samples that meet the margin while cross-entropy keeps learning from all",
            hingeActive < 0.5 && ceActive == 1,
            $"after the last epoch hinge has a gradient on {Pct(hingeActive)} of the training samples, cross-entropy on {Pct(ceActive)}" +
            (ceActive < 1 ? " (on the others the net is so confident that softmax rounds to exactly 1 even in double precision: in exact arithmetic cross-entropy never stops, in floating point it does)" : "") + "; " +
            $"test accuracy {Pct(curves["hinge"].Fit.FinalAccuracy)} (hinge) and {Pct(curves["cross-entropy"].Fit.FinalAccuracy)} (cross-entropy).");
    }

    static bool RoundsTo(double v, double expected) =>
        expected >= 0.01 ? Math.Round(v, 2) == expected : Math.Abs(Math.Log10(v) - Math.Log10(expected)) < 0.5;

    static (double Loss, float[] Grad) LossAndGrad(Loss loss, float[] s)
    {
        var x = Tensor.FromArray(s, 1, s.Length).RequireGrad();
        var l = loss.Forward(x, Tensor.FromArray([0f], 1));
        l.Backward();
        return (l.Item(), x.Grad!.ToArray());
    }

    /// <summary>After each epoch: the fraction of training samples whose own loss has a non-zero gradient.</summary>
    sealed class ActiveFraction(Module model, Data.TensorDataset train, Loss loss, List<double> into) : Training.ITrainerCallback
    {
        public string? OnEpochEnd(Training.EpochRecord record)
        {
            var logits = LabContext.Logits(model, train.Inputs);
            var y = train.Targets.Data;
            var z = logits.Data;
            int k = logits.Shape[1], active = 0;
            for (int i = 0; i < train.Count; i++)
            {
                int t = (int)y[i];
                bool any = false;
                if (loss is MulticlassHingeLoss)
                    for (int j = 0; j < k && !any; j++) any = j != t && z[i * k + j] - z[i * k + t] + 1 > 0;
                else
                {
                    // Softmax's true-class probability is below 1 in exact arithmetic; count rows where float rounding leaves any gradient.
                    double max = double.NegativeInfinity, sum = 0;
                    for (int j = 0; j < k; j++) max = Math.Max(max, z[i * k + j]);
                    for (int j = 0; j < k; j++) sum += Math.Exp(z[i * k + j] - max);
                    any = Math.Exp(z[i * k + t] - max) / sum < 1;
                }
                if (any) active++;
            }
            into.Add((double)active / train.Count);
            return null;
        }
    }
}
