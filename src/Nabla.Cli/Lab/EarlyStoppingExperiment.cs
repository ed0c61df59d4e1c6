using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>An over-parameterised net on a small subset: the validation curve turns up, early stopping marks the point, and the test accuracy there is compared with the last epoch's.</summary>
internal sealed class EarlyStoppingExperiment : LabExperiment
{
    public override string Name => "early-stopping";

    public override string Claim =>
        "Without regularization the validation loss of an over-parameterised net turns up; stopping at its minimum gives a better model than the last epoch.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(200, 1_000, 2_000), epochs = lab.Pick(3, 60, 100), patience = lab.Pick(1, 10, 10);
        var all = lab.Sample(lab.Train, 2 * n, 1);
        var (train, test) = LabContext.Standardize(LabContext.Take(all, [.. Enumerable.Range(0, n)]), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));
        var (_, validation) = LabContext.Standardize(LabContext.Take(all, [.. Enumerable.Range(0, n)]), LabContext.Take(all, [.. Enumerable.Range(n, n)]));
        var model = LabNets.Mlp([1024, 1024], "relu", lab.Gen(3));
        var fit = lab.Fit(model, new Adam(model.Parameters(), lr: 1e-3), train, test, epochs, shuffleStream: 4, validation: validation);
        // Early stopping as the trainer would run it (patience on the validation loss, best weights restored), replayed on the epochs.
        var stopper = new EarlyStopping("val_loss", MonitorMode.Min, patience, restoreBestWeights: true);
        stopper.OnTrainBegin(model);
        int stopEpoch = epochs;
        foreach (var r in fit.Epochs)
            if (stopper.OnEpochEnd(r) is not null)
            {
                stopEpoch = r.Epoch;
                break;
            }
        int best = fit.Epochs.MinBy(r => r.ValidationLoss)!.Epoch;
        double accAtBest = fit.TestAccuracy[best - 1], accLast = fit.FinalAccuracy;
        double lossAtBest = fit.TestLoss[best - 1], lossLast = fit.TestLoss[^1];
        double minVal = fit.Epochs[best - 1].ValidationLoss, lastVal = fit.Epochs[^1].ValidationLoss;
        lab.Log($"best validation loss at epoch {best}; early stopping (patience {patience}) stops at epoch {stopEpoch}; test accuracy there {Pct(accAtBest)}, at the end {Pct(accLast)}");

        double[] ep = [.. Enumerable.Range(1, fit.Epochs.Count).Select(e => (double)e)];
        var loss = LabPlots.Lines("loss", "epoch", "cross-entropy",
        [
            new Series("training", ep, [.. fit.Epochs.Select(r => r.TrainLoss)]),
            new Series("validation", ep, [.. fit.Epochs.Select(r => r.ValidationLoss)]),
            new Series("test", ep, [.. fit.TestLoss], Dashed: true),
        ]);
        LabPlots.Mark(loss, best, $"best validation loss (epoch {best}); restored");
        LabPlots.Mark(loss, stopEpoch, $"stopped (patience {patience})");
        var acc = LabPlots.Lines("test accuracy", "epoch", "accuracy", [new Series("test", ep, [.. fit.TestAccuracy])]);
        LabPlots.Mark(acc, best, $"restored epoch {best}: {Pct(accAtBest)}");
        LabPlots.Save([loss, acc], report.File("early-stopping.png"), columns: 2);

        report.Setup($"""
            An over-parameterised MLP (784-1024-1024-10, 1.9 million parameters) on {n:N0} standardized training images, with
            no dropout, weight decay or augmentation; Adam (learning rate 1e-3, batch 128) for {epochs} epochs. Validation:
            {n:N0} other training images; test: {test.Count:N0} images. Early stopping with patience {patience} on the
            validation loss, restoring the best epoch's weights (`EarlyStopping`), replayed on the recorded epochs.
            """);
        report.Figure("early-stopping.png", "The validation loss turns up; the stopping point and the restored epoch are marked");
        report.Table(["", "epoch", "validation loss", "test loss", "test accuracy"],
        [
            ["early stopping (restored best)", best.ToString(System.Globalization.CultureInfo.InvariantCulture), F(minVal, 4), F(lossAtBest, 4), Pct(accAtBest, 2)],
            ["last epoch", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), F(lastVal, 4), F(lossLast, 4), Pct(accLast, 2)],
        ]);
        report.Number("best_epoch", best);
        report.Number("stopped_epoch", stopEpoch);
        report.Number("test_accuracy_at_stop", accAtBest);
        report.Number("test_accuracy_last", accLast);
        report.Number("test_loss_at_stop", lossAtBest);
        report.Number("test_loss_last", lossLast);
        report.Verdict("The validation loss turns up", best < epochs && lastVal > minVal * 1.1,
            $"it is lowest at epoch {best} ({F(minVal, 4)}) and ends at {F(lastVal, 4)} after {epochs} epochs, while the training loss falls to {F(fit.Epochs[^1].TrainLoss, 5)}.");
        report.Verdict("Stopping early gives a better model than training on: a lower test loss", lossAtBest < lossLast,
            $"test loss {F(lossAtBest, 4)} at the restored epoch {best} against {F(lossLast, 4)} at the last: the over-trained net is confidently wrong more often.");
        report.Verdict("...and a better test accuracy", accAtBest > accLast,
            $"test accuracy {Pct(accAtBest, 2)} at epoch {best} against {Pct(accLast, 2)} at epoch {epochs}" +
            (accAtBest > accLast ? "." : ": the accuracy does not fall while the loss rises, so here early stopping buys calibration and time, not accuracy."));
    }
}
