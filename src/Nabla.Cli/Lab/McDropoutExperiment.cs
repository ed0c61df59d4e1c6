using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Monte Carlo dropout: calibration against the plain network and temperature scaling, and uncertainty on classes never seen in training.</summary>
internal sealed class McDropoutExperiment : LabExperiment
{
    public override string Name => "mc-dropout";

    public override string Claim =>
        "Networks are overconfident; averaging predictions over dropout masks (MC dropout) calibrates them, and its entropy and mutual " +
        "information flag inputs unlike anything seen in training.";

    static readonly int[] Seen = [0, 1, 2, 3, 4, 5, 6, 7];
    static readonly int[] Unseen = [8, 9];

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 44_000), epochs = lab.Pick(1, 15, 30), valN = lab.Pick(200, 2_000, 4_000);
        int[] passes = lab.Pick<int[]>([3, 5], [25, 100], [25, 100]);
        var seenAll = lab.Sample(lab.Train, n + valN, 1, Seen);
        // The training images of the 8 classes may be fewer (the embedded subset): validation keeps its share.
        n = Math.Min(n, seenAll.Count - Math.Min(valN, seenAll.Count / 5));
        var trainRaw = LabContext.Take(seenAll, [.. Enumerable.Range(0, n)]);
        var valRaw = LabContext.Take(seenAll, [.. Enumerable.Range(n, seenAll.Count - n)]);
        int testN = lab.Pick(400, 10_000, 10_000);
        var (train, seenTest) = LabContext.Standardize(trainRaw, lab.Sample(lab.Test, testN, 2, Seen));
        var (_, val) = LabContext.Standardize(trainRaw, valRaw);
        var (_, unseenTest) = LabContext.Standardize(trainRaw, lab.Sample(lab.Test, testN / 4, 3, Unseen));

        var rows = new List<string[]>();
        var aurocRows = new List<string[]>();
        var reliability = new List<(string, ReliabilityBin[], double)>();
        double plainEce = double.NaN, bestMcEce = double.PositiveInfinity, tsEce = double.NaN;
        double miAuroc = double.NaN, entropyAuroc = double.NaN, plainAuroc = double.NaN;
        var entropies = new Dictionary<string, (double[] Seen, double[] Unseen)>();
        foreach (double p in new[] { 0.1, 0.2 })
        {
            var model = LabNets.Mlp([512, 512], "relu", lab.Gen(4), dropout: p, classes: Seen.Length);
            var fit = lab.Fit(model, new AdamW(ParamGroup.SplitByRank(model, 0.01), lr: 1e-3), train, seenTest, epochs, shuffleStream: 5);
            var logits = LabContext.Logits(model, seenTest.Inputs);
            var probs = LabContext.Softmax(logits);
            double ece = Calibration.ExpectedCalibrationError(probs, seenTest.Targets);
            double temperature = TemperatureScaling.Fit(LabContext.Logits(model, val.Inputs), val.Targets);
            var scaled = TemperatureScaling.Apply(logits, temperature);
            double eceTs = Calibration.ExpectedCalibrationError(scaled, seenTest.Targets);
            rows.Add([$"p = {p}", "plain (weight scaling)", Pct(fit.FinalAccuracy, 2), F(ece, 4)]);
            rows.Add([$"p = {p}", $"temperature scaling (T = {F(temperature, 2)})", Pct(Metrics.Accuracy(scaled, seenTest.Targets), 2), F(eceTs, 4)]);
            if (p == 0.2)
            {
                plainEce = ece;
                tsEce = eceTs;
                reliability.Add(("plain, p = 0.2", Calibration.ReliabilityDiagram(probs, seenTest.Targets), ece));
                reliability.Add(($"temperature scaling", Calibration.ReliabilityDiagram(scaled, seenTest.Targets), eceTs));
                var plainUnseen = Calibration.Entropy(LabContext.Softmax(LabContext.Logits(model, unseenTest.Inputs)));
                plainAuroc = Auroc(Calibration.Entropy(probs), plainUnseen);
                entropies["softmax entropy (plain)"] = (Calibration.Entropy(probs), plainUnseen);
            }
            report.Number($"p{p}_plain_ece", ece);
            report.Number($"p{p}_temperature_ece", eceTs);
            foreach (int t in passes)
            {
                var mc = McDropout.Predict(model, seenTest.Inputs, t);
                double eceMc = Calibration.ExpectedCalibrationError(mc.MeanProbabilities, seenTest.Targets);
                bestMcEce = Math.Min(bestMcEce, eceMc);
                rows.Add([$"p = {p}", $"MC dropout, {t} passes", Pct(Metrics.Accuracy(mc.MeanProbabilities, seenTest.Targets), 2), F(eceMc, 4)]);
                report.Number($"p{p}_mc{t}_ece", eceMc);
                if (t == passes[^1])
                {
                    var mcUnseen = McDropout.Predict(model, unseenTest.Inputs, t);
                    double aE = Auroc(mc.PredictiveEntropy, mcUnseen.PredictiveEntropy), aM = Auroc(mc.MutualInformation, mcUnseen.MutualInformation);
                    aurocRows.Add([$"p = {p}, {t} passes", F(Mean(mc.PredictiveEntropy), 3), F(Mean(mcUnseen.PredictiveEntropy), 3), F(aE, 3),
                                   F(Mean(mc.MutualInformation), 4), F(Mean(mcUnseen.MutualInformation), 4), F(aM, 3)]);
                    report.Number($"p{p}_auroc_entropy", aE);
                    report.Number($"p{p}_auroc_mutual_information", aM);
                    if (p == 0.2)
                    {
                        entropyAuroc = aE;
                        miAuroc = aM;
                        reliability.Add(($"MC dropout, {t} passes", Calibration.ReliabilityDiagram(mc.MeanProbabilities, seenTest.Targets), eceMc));
                        entropies["predictive entropy (MC)"] = (mc.PredictiveEntropy, mcUnseen.PredictiveEntropy);
                        entropies["mutual information (MC)"] = (mc.MutualInformation, mcUnseen.MutualInformation);
                    }
                }
            }
            lab.Log($"p = {p}: ECE plain {F(ece, 4)}, temperature {F(eceTs, 4)}");
        }
        UncertaintyPlots.Reliability(report.File("reliability.png"), reliability);
        LabPlots.Save([.. entropies.Select(e => Overlaid(e.Key, e.Value.Seen, e.Value.Unseen))], report.File("unseen.png"), columns: 3, width: 460, height: 360);

        report.Setup($"""
            An MLP (784-512-512-8, ReLU, dropout p after each hidden layer, p = 0.1 and 0.2) trained with AdamW (learning rate
            1e-3, weight decay 0.01, batch 128) for {epochs} epochs on {n:N0} standardized training images of the 8 classes
            T-shirt to Sneaker; Bag and Ankle boot (classes 8 and 9) are never shown. Calibration: expected calibration error
            (15 bins) on {seenTest.Count:N0} test images of the seen classes, for the plain network (dropout off, weights
            scaled), MC dropout ({string.Join(" and ", passes)} passes) and temperature scaling fitted on {val.Count:N0} held-out
            training images. Unseen: {unseenTest.Count:N0} test images of Bag and Ankle boot; the AUROC says how well a score
            separates them from the seen test images (0.5: not at all, 1: perfectly).
            """);
        report.Section("Calibration");
        report.Figure("reliability.png", "Reliability diagram (p = 0.2): points below the diagonal are overconfident");
        report.Table(["dropout", "prediction", "test accuracy", "ECE"], rows);
        report.Verdict("The plain network is overconfident, and MC dropout reduces its calibration error", bestMcEce < plainEce,
            $"ECE at p = 0.2: plain {F(plainEce, 4)}; best MC dropout {F(bestMcEce, 4)}; temperature scaling {F(tsEce, 4)}.");
        report.Verdict("Temperature scaling calibrates at least as well as MC dropout", tsEce <= bestMcEce,
            $"ECE {F(tsEce, 4)} (temperature scaling) against {F(bestMcEce, 4)} (best MC dropout), at the cost of one forward pass instead of {passes[^1]}.");
        report.Section("Inputs never seen in training");
        report.Figure("unseen.png", "Scores on test images of seen (blue) and unseen (orange) classes, p = 0.2");
        report.Table(["model", "entropy, seen", "entropy, unseen", "AUROC entropy", "MI, seen", "MI, unseen", "AUROC MI"], aurocRows);
        report.Number("auroc_plain_softmax_entropy", plainAuroc);
        report.Verdict("MC dropout's entropy and mutual information are higher on unseen classes", entropyAuroc > 0.6 && miAuroc > 0.6,
            $"AUROC for telling unseen from seen at p = 0.2: predictive entropy {F(entropyAuroc, 3)}, mutual information {F(miAuroc, 3)} " +
            $"(the plain network's softmax entropy: {F(plainAuroc, 3)}).");
    }

    static double Mean(double[] v) => v.Average();

    /// <summary>Area under the ROC curve for scores of negatives (seen) and positives (unseen): P(unseen score > seen score), ties halved.</summary>
    internal static double Auroc(double[] negatives, double[] positives)
    {
        var all = negatives.Select(v => (v, false)).Concat(positives.Select(v => (v, true))).OrderBy(x => x.v).ToArray();
        double rankSum = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            while (j < all.Length && all[j].v == all[i].v) j++;
            double rank = (i + j + 1) / 2.0; // mean of ranks i+1..j
            for (int k = i; k < j; k++) if (all[k].Item2) rankSum += rank;
            i = j;
        }
        double np = positives.Length, nn = negatives.Length;
        return (rankSum - np * (np + 1) / 2) / (np * nn);
    }

    static ScottPlot.Plot Overlaid(string title, double[] seen, double[] unseen)
    {
        var plot = new ScottPlot.Plot();
        double max = Math.Max(seen.Max(), unseen.Max()), width = max / 30;
        if (width <= 0) width = 1e-3;
        foreach (var (values, color, label) in new[] { (seen, ScottPlot.Colors.SteelBlue, "seen classes"), (unseen, ScottPlot.Colors.Orange, "unseen classes") })
        {
            var counts = new double[30];
            foreach (var v in values) counts[Math.Min(29, (int)(v / width))] += 1.0 / values.Length;
            var bars = plot.Add.Bars(counts.Select((c, i) => new ScottPlot.Bar { Position = (i + 0.5) * width, Value = c, Size = width * 0.9, FillColor = color.WithAlpha(0.6) }).ToArray());
            bars.LegendText = label;
        }
        plot.Title(title);
        plot.YLabel("share of images");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        return plot;
    }
}
