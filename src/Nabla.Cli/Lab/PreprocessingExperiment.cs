using Nabla.Data;
using Nabla.Optim;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>No normalization, the mean image (AlexNet), the per-channel mean (VGG) and per-channel standardization, by convergence.</summary>
internal sealed class PreprocessingExperiment : LabExperiment
{
    public override string Name => "preprocessing";

    public override string Claim =>
        "Zero-centred and normalized inputs make training converge faster; subtracting the mean image or the per-channel mean does about the same.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(2, 5, 10);
        var train = lab.Sample(lab.Train, n, 1);
        var test = lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2);
        var stats = ChannelStats.Compute(train.Inputs);
        float mean = stats.Mean.Item(), std = stats.Std.Item();
        var meanImage = MeanImage.Compute(train.Inputs);
        var variants = new (string Name, Func<Tensor, Tensor> F)[]
        {
            ("none (0–255)", x => x * 255f),
            ("none (0–1)", x => x),
            ("mean image (AlexNet)", meanImage.Apply),
            ("per-channel mean (VGG)", x => x - mean),
            ("per-channel standardization", stats.Apply),
        };
        var fits = new Dictionary<string, FitResult>();
        foreach (var (name, f) in variants)
        {
            var model = LabNets.Mlp([256, 256], "relu", lab.Gen(3));
            fits[name] = lab.Fit(model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9), LabContext.Map(train, f), LabContext.Map(test, f), epochs, shuffleStream: 4);
            lab.Log($"{name}: {(fits[name].Diverged ? "diverged" : $"training loss after epoch 1 {F(fits[name].Epochs[0].TrainLoss, 3)}, test accuracy {Pct(fits[name].FinalAccuracy)}")}");
        }
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        LabPlots.Save([
            LabPlots.Lines("training loss", "epoch", "cross-entropy", fits.Where(f => !f.Value.Diverged).Select(f => new Series(f.Key, ep, [.. f.Value.Epochs.Select(r => r.TrainLoss)]))),
            LabPlots.Lines("test accuracy", "epoch", "accuracy", fits.Where(f => !f.Value.Diverged).Select(f => new Series(f.Key, ep, [.. f.Value.TestAccuracy]))),
        ], report.File("convergence.png"), columns: 2);

        report.Setup($"""
            The same MLP (784-256-256-10, ReLU, PyTorch's default initialization, no batch norm, which would hide the input's
            scale) trained with SGD (momentum 0.9, learning rate 0.01, batch 128) for {epochs} epochs on {n:N0} training images,
            tested on {test.Count:N0}, under five input preprocessings computed from the training images: raw pixels 0–255;
            pixels scaled to 0–1 (torchvision's ToTensor); minus the mean image (AlexNet); minus the mean pixel value
            ({F(mean, 4)}; Fashion-MNIST has one channel, so VGG's per-channel mean is one number); and standardized with
            that mean and the pixels' standard deviation ({F(std, 4)}).
            """);
        report.Figure("convergence.png", "Convergence over the first epochs under each preprocessing");
        report.Table(["preprocessing", "training loss, epoch 1", $"training loss, epoch {epochs}", "test accuracy, epoch 1", $"test accuracy, epoch {epochs}"],
            fits.Select(f => f.Value.Diverged
                ? [f.Key, "diverged (loss NaN)", "—", "—", "—"]
                : new[] { f.Key, F(f.Value.Epochs[0].TrainLoss, 4), F(f.Value.Epochs[^1].TrainLoss, 4), Pct(f.Value.TestAccuracy[0]), Pct(f.Value.FinalAccuracy) }));
        foreach (var (k, f) in fits)
        {
            string key = new string([.. k.Where(char.IsLetterOrDigit)]).ToLowerInvariant();
            report.Number($"{key}_train_loss_epoch1", f.Diverged ? double.NaN : f.Epochs[0].TrainLoss);
            report.Number($"{key}_test_accuracy", f.FinalAccuracy);
        }

        double Loss1(string k) => fits[k].Diverged ? double.PositiveInfinity : fits[k].Epochs[0].TrainLoss;
        string raw = variants[0].Name, unit = variants[1].Name, meanImg = variants[2].Name, channel = variants[3].Name, standard = variants[4].Name;
        string Losses() => $"training loss after epoch 1: 0–255 {(fits[raw].Diverged ? "diverged" : F(Loss1(raw), 3))}, 0–1 {F(Loss1(unit), 3)}, " +
                           $"mean image {F(Loss1(meanImg), 3)}, per-channel mean {F(Loss1(channel), 3)}, standardized {F(Loss1(standard), 3)}";
        report.Verdict("Zero-centring the inputs makes training converge faster", Math.Max(Loss1(meanImg), Loss1(channel)) < Loss1(unit),
            Losses() + ".");
        report.Verdict("Standardizing them (zero mean, unit variance) makes it converge faster still", Loss1(standard) < Math.Min(Loss1(unit), Math.Min(Loss1(meanImg), Loss1(channel))),
            $"standardized {F(Loss1(standard), 3)} against {F(Math.Min(Loss1(unit), Math.Min(Loss1(meanImg), Loss1(channel))), 3)} for the best of the others after epoch 1; " +
            $"test accuracy after {epochs} epochs {Pct(fits[standard].FinalAccuracy)} against {Pct(fits[unit].FinalAccuracy)} for pixels in 0–1.");
        double gap = Math.Abs(fits[meanImg].FinalAccuracy - fits[channel].FinalAccuracy);
        report.Verdict("The mean image and the per-channel mean do about the same", gap < 0.01,
            $"final test accuracy {Pct(fits[meanImg].FinalAccuracy)} (mean image) against {Pct(fits[channel].FinalAccuracy)} (per-channel mean): {F(100 * gap, 2)} points apart.");
    }
}
