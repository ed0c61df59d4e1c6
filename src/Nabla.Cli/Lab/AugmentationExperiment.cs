using Nabla.Data;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using Nabla.Vision.Transforms;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Augmentation policies on a small training set: the train–test gap, ten-crop testing, and a ranking that flips.</summary>
internal sealed class AugmentationExperiment : LabExperiment
{
    public override string Name => "augmentation";

    public override string Claim =>
        "Augmentation narrows the train–test gap on small data; ten-crop testing helps a little; networks must be compared under the same augmentation, " +
        "or their ranking can flip.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(200, 1_000, 5_000), epochs = lab.Pick(1, 40, 60);
        var rawTrain = lab.Sample(lab.Train, n, 1);
        var rawTest = lab.Sample(lab.Test, lab.Pick(300, 10_000, 10_000), 2);
        var stats = ChannelStats.Compute(rawTrain.Inputs);
        float mean = stats.Mean.Item(), std = stats.Std.Item();
        var normalize = new Normalize([mean], [std]);
        var test = LabContext.Map(rawTest, x => (x - mean) / std);
        var trainClean = LabContext.Map(rawTrain, x => (x - mean) / std);
        var policies = new (string Name, ITransform? T)[]
        {
            ("none", null),
            ("flip", new HorizontalFlip()),
            ("crop", new RandomCrop(28, padding: 2)),
            ("crop+flip", new Compose(new RandomCrop(28, padding: 2), new HorizontalFlip())),
            ("brightness/contrast", new ColorJitter(brightness: 0.4, contrast: 0.4)),
            ("RandAugment", new RandAugment(2, 9)),
            ("TrivialAugment", new TrivialAugmentWide()),
        };
        var nets = new (string Name, Func<Generator, Sequential> Build)[]
        {
            ("CNN-16", g => LabNets.Cnn(16, g)),
            ("CNN-8", g => LabNets.Cnn(8, g)),
        };
        // The second network under four of the policies: enough to compare the two under the same and under different ones.
        string[] secondPolicies = ["none", "crop", "crop+flip", "TrivialAugment"];
        var acc = new Dictionary<(string Net, string Policy), (double Train, double Test, FitResult Fit)>();
        Sequential? cropFlipModel = null;
        foreach (var (netName, build) in nets)
            foreach (var (policy, transform) in policies)
            {
                if (netName != nets[0].Name && !secondPolicies.Contains(policy)) continue;
                var model = build(lab.Gen(3));
                var augment = transform is null ? null : new Compose(transform, normalize);
                // Batches of 32: augmentation needs steps, and 1,000 images give few batches of 128.
                var fit = lab.Fit(model, new AdamW(model.Parameters(), lr: 1e-3, weightDecay: 0), transform is null ? trainClean : rawTrain, test, epochs,
                    batchSize: 32, shuffleStream: 4, augment: augment, testEachEpoch: false);
                double trainAcc = LabContext.Accuracy(model, trainClean);
                acc[(netName, policy)] = (trainAcc, fit.FinalAccuracy, fit);
                if (netName == nets[0].Name && policy == "crop+flip") cropFlipModel = model;
                lab.Log($"{netName}, {policy}: train {Pct(trainAcc)}, test {Pct(fit.FinalAccuracy)}");
            }

        // Ten-crop testing of the crop+flip model: the image padded by 2 like the training crops, its four corners and centre, and their mirrors.
        var (single, tenCrop) = TenCropAccuracy(cropFlipModel!, rawTest, mean, std);

        string a = nets[0].Name, b = nets[1].Name;
        string[] names = [.. policies.Select(p => p.Name)];
        LabPlots.Save([
            Grouped($"{a}: accuracy on the training and test images", names, [.. names.Select(p => acc[(a, p)].Train)], [.. names.Select(p => acc[(a, p)].Test)]),
            Grouped($"{b}: accuracy on the training and test images", secondPolicies, [.. secondPolicies.Select(p => acc[(b, p)].Train)], [.. secondPolicies.Select(p => acc[(b, p)].Test)]),
        ], report.File("policies.png"), columns: 1, width: 1000, height: 420);

        report.Setup($"""
            {n:N0} training images (a small set, where augmentation matters), {test.Count:N0} test images. Two CNNs (two blocks of
            3x3 convolution, batch norm, ReLU and max pooling; CNN-16 with 16 and 32 channels, CNN-8 with 8 and 16), trained with
            AdamW (learning rate 1e-3, no weight decay, batch 32) for {epochs} epochs under each policy: none; horizontal flip;
            random crop of the image padded by 2; crop and flip; brightness and contrast jitter (±40%); RandAugment (2 operations,
            magnitude 9); TrivialAugment (CNN-8: none, crop, crop and flip, TrivialAugment). Train accuracy is measured on the
            un-augmented training images.
            """);
        report.Figure("policies.png", "Training and test accuracy under each policy (the gap between the bars is the train–test gap)");
        report.Table(["policy", $"{a} train", $"{a} test", $"{a} gap", $"{b} train", $"{b} test", $"{b} gap"],
            names.Select(p => acc.ContainsKey((b, p))
                ? new[]
                {
                    p, Pct(acc[(a, p)].Train), Pct(acc[(a, p)].Test), F(100 * (acc[(a, p)].Train - acc[(a, p)].Test), 1),
                    Pct(acc[(b, p)].Train), Pct(acc[(b, p)].Test), F(100 * (acc[(b, p)].Train - acc[(b, p)].Test), 1),
                }
                : [p, Pct(acc[(a, p)].Train), Pct(acc[(a, p)].Test), F(100 * (acc[(a, p)].Train - acc[(a, p)].Test), 1), "", "", ""]));
        foreach (var ((net, p), v) in acc)
        {
            report.Number($"{net}_{p}_test_accuracy".ToLowerInvariant().Replace('/', '_').Replace('+', '_'), v.Test);
            report.Number($"{net}_{p}_gap".ToLowerInvariant().Replace('/', '_').Replace('+', '_'), v.Train - v.Test);
        }
        double gapNone = acc[(a, "none")].Train - acc[(a, "none")].Test;
        var narrower = names.Skip(1).Where(p => acc[(a, p)].Train - acc[(a, p)].Test < gapNone).ToList();
        report.Verdict("Augmentation narrows the train–test gap", narrower.Count >= names.Length / 2,
            $"{a}'s gap is {F(100 * gapNone, 1)} points without augmentation; {narrower.Count} of {names.Length - 1} policies narrow it " +
            $"({string.Join(", ", narrower)}).");

        var better = names.Skip(1).Where(p => acc[(a, p)].Test > acc[(a, "none")].Test).ToList();
        report.Verdict("On a small training set, augmentation improves test accuracy", better.Count > 0,
            $"{better.Count} of {names.Length - 1} policies beat no augmentation ({Pct(acc[(a, "none")].Test)}) on the test images: " +
            $"{(better.Count == 0 ? "none" : string.Join(", ", better.Select(p => $"{p} {Pct(acc[(a, p)].Test)}")))}.");
        report.Section("Ten-crop testing");
        report.Text($"{a} trained with crop+flip, tested on the single image and on the ten crops (the image padded by 2, its four corners and centre, " +
                    "and the same of its mirror image, probabilities averaged).");
        report.Table(["test-time views", "test accuracy"], [["single image (the centre crop)", Pct(single)], ["ten crops", Pct(tenCrop)]]);
        report.Number("single_view_accuracy", single);
        report.Number("ten_crop_accuracy", tenCrop);
        report.Verdict("Ten-crop testing beats a single centre crop", tenCrop > single, $"{Pct(tenCrop)} with ten crops against {Pct(single)} with one.");

        // The warning: compare a (better under the same policy) trained with policy p against b trained with policy q.
        var flips = (from p in secondPolicies
                     from q in secondPolicies
                     where acc[(a, p)].Test > acc[(b, p)].Test && acc[(a, q)].Test > acc[(b, q)].Test && acc[(b, q)].Test > acc[(a, p)].Test
                     select (p, q, margin: acc[(b, q)].Test - acc[(a, p)].Test)).OrderByDescending(f => f.margin).ToList();
        int sameWins = secondPolicies.Count(p => acc[(a, p)].Test > acc[(b, p)].Test);
        report.Section("The ranking of two networks under different augmentation");
        if (flips.Count > 0)
        {
            var (p, q, _) = flips[0];
            report.Text($"{a} beats {b} under {sameWins} of {secondPolicies.Length} policies when both get the same one. But {b} trained with {q} " +
                        $"({Pct(acc[(b, q)].Test)}) beats {a} trained with {p} ({Pct(acc[(a, p)].Test)}): compared that way, the smaller network would win. " +
                        $"{flips.Count} of the {secondPolicies.Length * secondPolicies.Length} pairs of policies flip the ranking.");
        }
        report.Number("ranking_flips", flips.Count);
        report.Verdict("Compared under different augmentation, the ranking of two networks can flip", flips.Count > 0,
            flips.Count > 0
                ? $"{b} with {flips[0].q} {Pct(acc[(b, flips[0].q)].Test)} > {a} with {flips[0].p} {Pct(acc[(a, flips[0].p)].Test)}, though {a} wins under the same policy ({sameWins} of {secondPolicies.Length})."
                : $"no pair of policies reverses the order of {a} and {b} on this data ({a} wins under {sameWins} of {secondPolicies.Length} policies).");
    }

    static ScottPlot.Plot Grouped(string title, string[] labels, double[] train, double[] test)
    {
        var plot = new ScottPlot.Plot();
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < labels.Length; i++)
        {
            bars.Add(new ScottPlot.Bar { Position = 3 * i, Value = 100 * train[i], FillColor = ScottPlot.Colors.SteelBlue, Size = 0.9 });
            bars.Add(new ScottPlot.Bar { Position = 3 * i + 1, Value = 100 * test[i], FillColor = ScottPlot.Colors.Orange, Size = 0.9 });
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. labels.Select((_, i) => 3.0 * i + 0.5)], labels);
        double low = Math.Min(train.Min(), test.Min()) * 100;
        plot.Axes.SetLimitsY(Math.Max(0, low - 5), 101);
        plot.Title(title + " (blue: train, orange: test)");
        plot.YLabel("accuracy (%)");
        return plot;
    }

    /// <summary>Accuracy of the single image and of the ten crops' averaged probabilities.</summary>
    static (double Single, double TenCrop) TenCropAccuracy(Module model, TensorDataset rawTest, float mean, float std)
    {
        var normalizedSingle = LabContext.Map(rawTest, x => (x - mean) / std);
        double single = LabContext.Accuracy(model, normalizedSingle);
        var pad = new RandomCrop(32, padding: 2); // padding only: a 32 x 32 crop of the 32 x 32 padded image is the padded image
        var ten = new TenCrop(28);
        var gen = new Generator(0);
        int correct = 0, batch = 100;
        var targets = rawTest.Targets.ToArray();
        for (int start = 0; start < rawTest.Count; start += batch)
        {
            int count = Math.Min(batch, rawTest.Count - start);
            var views = new List<Tensor>();
            for (int i = start; i < start + count; i++) views.Add(ten.Apply(pad.Apply(rawTest.Get(i).Input, gen), gen));
            var stacked = (Tensor.Cat([.. views], 0) - mean) / std;
            var probs = LabContext.Softmax(LabContext.Logits(model, stacked)).ToArray();
            for (int i = 0; i < count; i++)
            {
                var avg = new double[10];
                for (int v = 0; v < 10; v++)
                    for (int k = 0; k < 10; k++) avg[k] += probs[(i * 10 + v) * 10 + k];
                if (Array.IndexOf(avg, avg.Max()) == (int)targets[start + i]) correct++;
            }
        }
        return (single, (double)correct / rawTest.Count);
    }
}
