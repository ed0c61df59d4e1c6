using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Dropout: the weight-scaling rule exactly and on a trained net, its cost in training time, and dropout with batch norm.</summary>
internal sealed class DropoutExperiment : LabExperiment
{
    public override string Name => "dropout";

    public override string Claim =>
        "At test time, scaling by the keep probability gives the expected output over dropout masks; dropout needs more training time " +
        "(about 1.5x); combined with batch norm it usually does not work well.";

    public override void Run(LabContext lab, LabReport report)
    {
        // 1. The lecture's example: z = θ1 x1 + θ2 x2 with each input dropped with p = 1/2.
        float t1 = 2f, t2 = -3f, x1 = 1.5f, x2 = 0.5f;
        var neuron = new Sequential(new Dropout(0.5, inverted: false, generator: lab.Gen(1)), new Linear(2, 1, bias: false));
        neuron.LoadStateDict(new Dictionary<string, Tensor> { ["1.weight"] = Tensor.FromArray([t1, t2], 1, 2) });
        double enumerated = 0;
        foreach (var (m1, m2) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) }) enumerated += (t1 * x1 * m1 + t2 * x2 * m2) / 4.0;
        double expected = 0.5 * (t1 * x1 + t2 * x2);
        neuron.Eval();
        double scaled = neuron.Forward(Tensor.FromArray([x1, x2], 1, 2)).Item();
        neuron.Train();
        int draws = lab.Pick(1_000, 100_000, 1_000_000);
        var x = Tensor.FromArray([.. Enumerable.Range(0, draws).SelectMany(_ => new[] { x1, x2 })], draws, 2);
        double sampled;
        using (Autograd.NoGrad()) sampled = neuron.Forward(x).ToArray().Average(v => (double)v);
        report.Section("The weight-scaling rule, exactly");
        report.Text($"θ = ({t1}, {t2}), x = ({x1}, {x2}), each input kept with probability 1/2 (Nabla's `Dropout(0.5, inverted: false)`, " +
                     "which scales by 1 − p at test time, as the lecture writes it).");
        report.Table(["", "value"],
        [
            ["½(θ1x1 + θ2x2)", F(expected, 6)], ["average over the 4 masks", F(enumerated, 6)],
            ["the layer in eval mode (weights scaled by 1/2)", F(scaled, 6)], [$"average over {draws:N0} random masks", F(sampled, 4)],
        ]);
        report.Number("two_input_expected", expected);
        report.Number("two_input_eval", scaled);
        report.Number("two_input_sampled", sampled);
        report.Verdict("E[z] = ½(θ1x1 + θ2x2), which the eval-mode layer computes", Math.Abs(enumerated - expected) < 1e-12 && Math.Abs(scaled - expected) < 1e-6,
            $"the 4 masks average {F(enumerated, 6)}, eval mode gives {F(scaled, 6)}, {draws:N0} random masks {F(sampled, 4)}.");

        // 2. A trained network: the weight-scaled output against the average over many masks.
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(2, 20, 40), passes = lab.Pick(5, 100, 200);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 2), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 3));
        var fits = new Dictionary<string, (FitResult Fit, Sequential Model)>();
        var variants = new (string Name, bool BatchNorm, double Dropout)[]
        {
            ("no dropout", false, 0), ("dropout 0.5", false, 0.5), ("batch norm", true, 0), ("batch norm + dropout 0.5", true, 0.5),
        };
        foreach (var (name, bn, p) in variants)
        {
            var model = LabNets.Mlp([512, 512], "relu", lab.Gen(4), batchNorm: bn, dropout: p);
            fits[name] = (lab.Fit(model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9), train, test, epochs, shuffleStream: 5), model);
            lab.Log($"{name}: test accuracy {Pct(fits[name].Fit.FinalAccuracy)}");
        }
        var dropModel = fits["dropout 0.5"].Model;
        var scaledProbs = LabContext.Softmax(LabContext.Logits(dropModel, test.Inputs));
        var mc = McDropout.Predict(dropModel, test.Inputs, passes).MeanProbabilities;
        var (agree, meanAbs) = Compare(scaledProbs, mc);
        double accScaled = Metrics.Accuracy(scaledProbs, test.Targets), accMc = Metrics.Accuracy(mc, test.Targets);

        // 3. Training time to a target accuracy.
        var plain = fits["no dropout"].Fit;
        var drop = fits["dropout 0.5"].Fit;
        double target = Math.Floor(200 * Math.Min(plain.TestAccuracy.Max(), drop.TestAccuracy.Max())) / 200 - 0.005;
        int? plainEpochs = plain.EpochsTo(target), dropEpochs = drop.EpochsTo(target);
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        var acc = LabPlots.Lines("test accuracy", "epoch", "accuracy", variants.Select(v => new Series(v.Name, ep, [.. fits[v.Name].Fit.TestAccuracy])));
        var hline = acc.Add.HorizontalLine(target);
        hline.LinePattern = ScottPlot.LinePattern.Dotted;
        hline.LegendText = $"target {Pct(target)}";
        var trainLoss = LabPlots.Lines("training loss", "epoch", "cross-entropy", variants.Select(v => new Series(v.Name, ep, [.. fits[v.Name].Fit.Epochs.Select(r => r.TrainLoss)])));
        LabPlots.Save([acc, trainLoss], report.File("training.png"), columns: 2);

        report.Setup($"""
            Sections 2-4: an MLP (784-512-512-10, ReLU) with or without dropout (p = 0.5 after each hidden layer, inverted
            dropout) and batch norm (before the ReLU; dropout after it), SGD (momentum 0.9, learning rate 0.01, batch 128),
            {epochs} epochs on {n:N0} standardized training images, {test.Count:N0} test images. Monte Carlo average: {passes}
            dropout masks per image (`McDropout.Predict`).
            """);
        report.Section("Weight scaling on a trained network");
        report.Table(["", "test accuracy"],
            [["weight scaling (eval mode)", Pct(accScaled, 2)], [$"average over {passes} masks", Pct(accMc, 2)],
             ["same predicted class", Pct(agree, 2)], ["mean |Δp| per class probability", E(meanAbs)]]);
        report.Number("trained_agreement", agree);
        report.Number("trained_mean_abs_probability_difference", meanAbs);
        report.Verdict("On a trained network, weight scaling approximates the average over masks", agree > 0.97 && Math.Abs(accScaled - accMc) < 0.01,
            $"{Pct(agree, 2)} of test images get the same class; accuracy {Pct(accScaled, 2)} against {Pct(accMc, 2)} (the rule is exact only for one linear layer).");

        report.Section("Training time and dropout with batch norm");
        report.Figure("training.png", "Test accuracy and training loss with and without dropout and batch norm");
        report.Table(["network", "final test accuracy", "best test accuracy", $"epochs to {Pct(target)}"],
            variants.Select(v => new[]
            {
                v.Name, Pct(fits[v.Name].Fit.FinalAccuracy, 2), Pct(fits[v.Name].Fit.TestAccuracy.Max(), 2),
                fits[v.Name].Fit.EpochsTo(target)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "not reached",
            }));
        foreach (var v in variants) report.Number($"{v.Name.Replace(' ', '_').Replace("+", "and", StringComparison.Ordinal)}_test_accuracy", fits[v.Name].Fit.FinalAccuracy);
        double slowdown = plainEpochs is int a && dropEpochs is int b ? (double)b / a : double.NaN;
        report.Number("epochs_to_target_ratio", slowdown);
        report.Verdict("Dropout needs more training time (about 1.5x)", double.IsFinite(slowdown) ? slowdown >= 1.2 : dropEpochs is null,
            double.IsFinite(slowdown)
                ? $"{dropEpochs} epochs with dropout against {plainEpochs} without to reach {Pct(target)} test accuracy: {F(slowdown, 2)}x."
                : $"target {Pct(target)}: reached after {plainEpochs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "never"} epochs without dropout, {dropEpochs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "never"} with.");
        double bnAcc = fits["batch norm"].Fit.FinalAccuracy, both = fits["batch norm + dropout 0.5"].Fit.FinalAccuracy, dOnly = drop.FinalAccuracy;
        report.Verdict("Dropout with batch norm usually does not work well", both < Math.Max(bnAcc, dOnly),
            $"test accuracy: batch norm {Pct(bnAcc, 2)}, dropout {Pct(dOnly, 2)}, both {Pct(both, 2)}.");
    }

    static (double Agree, double MeanAbs) Compare(Tensor a, Tensor b)
    {
        var pa = a.ToArray();
        var pb = b.ToArray();
        int c = a.Shape[1], n = a.Shape[0], same = 0;
        double abs = 0;
        for (int i = 0; i < n; i++)
        {
            int ia = 0, ib = 0;
            for (int j = 0; j < c; j++)
            {
                if (pa[i * c + j] > pa[i * c + ia]) ia = j;
                if (pb[i * c + j] > pb[i * c + ib]) ib = j;
                abs += Math.Abs(pa[i * c + j] - pb[i * c + j]);
            }
            if (ia == ib) same++;
        }
        return ((double)same / n, abs / (n * c));
    }
}
