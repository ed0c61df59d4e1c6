using Nabla.Nn;
using Nabla.Optim;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Batch norm: the range of learning rates that work, deep nets' trainability, γ and β undoing it, and running against batch statistics at test time.</summary>
internal sealed class BatchNormExperiment : LabExperiment
{
    public override string Name => "batch-norm";

    public override string Claim =>
        "With batch norm a much larger range of learning rates works and deep nets train; γ and β can undo the normalization; " +
        "at test time the running statistics must replace the batch's.";

    static readonly double[] Lrs = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1, 3];

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(1, 3, 6), deep = lab.Pick(6, 20, 30);
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));

        // 1. Learning-rate sweep.
        var sweep = new Dictionary<bool, double[]>();
        foreach (bool bn in new[] { false, true })
            sweep[bn] = [.. Lrs.Select(lr =>
            {
                var m = LabNets.Mlp([256, 256, 256, 256], "relu", lab.Gen(3), batchNorm: bn);
                return lab.Fit(m, new Sgd(m.Parameters(), lr: lr, momentum: 0.9), train, test, epochs, shuffleStream: 4, testEachEpoch: false).FinalAccuracy;
            })];
        double best = sweep.Values.SelectMany(v => v).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        // A learning rate "works" when the net trains to within 5 points of the best accuracy any run reached.
        int Works(bool bn) => sweep[bn].Count(a => a >= best - 0.05);
        double[] logLr = [.. Lrs.Select(Math.Log10)];
        var sweepPlot = LabPlots.Lines("learning-rate sweep (4 hidden layers)", "log10 learning rate", "test accuracy",
            [new Series("without batch norm", logLr, [.. sweep[false].Select(a => double.IsNaN(a) ? 0.1 : a)]), new Series("with batch norm", logLr, [.. sweep[true].Select(a => double.IsNaN(a) ? 0.1 : a)])]);
        lab.Log($"learning rates within 5 points of the best: {Works(false)} of {Lrs.Length} without batch norm, {Works(true)} with");

        // 2. A deep plain MLP with and without batch norm.
        var deepFits = new Dictionary<bool, FitResult>();
        foreach (bool bn in new[] { false, true })
        {
            var m = LabNets.Mlp([.. Enumerable.Repeat(128, deep)], "relu", lab.Gen(5), batchNorm: bn);
            deepFits[bn] = lab.Fit(m, new Sgd(m.Parameters(), lr: 0.01, momentum: 0.9), train, test, epochs, shuffleStream: 6);
        }
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        var deepPlot = LabPlots.Lines($"{deep} hidden layers, PyTorch's default init", "epoch", "test accuracy",
            [new Series("without batch norm", ep, [.. deepFits[false].TestAccuracy]), new Series("with batch norm", ep, [.. deepFits[true].TestAccuracy])]);
        LabPlots.Save([sweepPlot, deepPlot], report.File("training.png"), columns: 2);

        // 3. γ = sqrt(σ² + ε) and β = μ make the layer the identity on its batch.
        var x = Tensor.Randn([64, 8], lab.Gen(7)) * 3f + 5f;
        var layer = new BatchNorm1d(8);
        var xs = x.ToArray();
        var mu = Enumerable.Range(0, 8).Select(j => Enumerable.Range(0, 64).Average(i => (double)xs[i * 8 + j])).ToArray();
        var var = Enumerable.Range(0, 8).Select(j => Enumerable.Range(0, 64).Average(i => (xs[i * 8 + j] - mu[j]) * (xs[i * 8 + j] - mu[j]))).ToArray();
        layer.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.FromArray([.. var.Select(v => (float)Math.Sqrt(v + layer.Eps))], 8),
            ["bias"] = Tensor.FromArray([.. mu.Select(m => (float)m)], 8),
        }, strict: false);
        double undo;
        using (Autograd.NoGrad()) undo = layer.Forward(x).ToArray().Zip(xs).Max(p => Math.Abs(p.First - p.Second));

        // 4. A trained CNN with batch norm, tested one image at a time: running statistics against the image's own.
        var cnn = LabNets.Cnn(16, lab.Gen(8));
        lab.Fit(cnn, new AdamW(cnn.Parameters(), lr: 2e-3), train, test, Math.Max(1, epochs - 1), shuffleStream: 9, testEachEpoch: false);
        int single = lab.Pick(100, 1_000, 2_000);
        var oneByOne = LabContext.Take(test, [.. Enumerable.Range(0, single)]);
        double running = LabContext.Accuracy(cnn, oneByOne);
        double runningBatch1 = Accuracy(cnn, oneByOne, eval: true);
        double batchStats = Accuracy(cnn, oneByOne, eval: false);
        double logitShift = LogitShift(cnn, oneByOne);
        double changed = BatchDependence(cnn, oneByOne, lab.Gen(10));
        lab.Log($"one image at a time: running statistics {Pct(runningBatch1)}, the image's own statistics {Pct(batchStats)}");

        report.Setup($"""
            MLPs with ReLU and PyTorch's default initialization, batch norm (when used) before each ReLU, SGD with momentum 0.9,
            batch 128, {epochs} epochs on {n:N0} standardized training images; {test.Count:N0} test images. The sweep uses 4 hidden
            layers of 256; the deep net {deep} hidden layers of 128. The last part trains a small CNN with batch norm
            (`BatchNorm2d` after each convolution) with AdamW and tests it on {single:N0} images one at a time.
            """);
        report.Figure("training.png", "The learning-rate sweep, and the deep net with and without batch norm");
        report.Table(["learning rate", .. Lrs.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            [["without batch norm", .. sweep[false].Select(a => Pct(a))], ["with batch norm", .. sweep[true].Select(a => Pct(a))]]);
        report.Number("learning_rates_working_without", Works(false));
        report.Number("learning_rates_working_with", Works(true));
        report.Verdict("A much larger range of learning rates works with batch norm", Works(true) > Works(false),
            $"{Works(true)} of {Lrs.Length} learning rates from 1e-3 to 3 train to within 5 points of the best accuracy ({Pct(best)}) with batch norm, {Works(false)} without " +
            $"({sweep[false].Count(double.IsNaN)} diverge without, {sweep[true].Count(double.IsNaN)} with).");
        report.Number("deep_without_test_accuracy", deepFits[false].FinalAccuracy);
        report.Number("deep_with_test_accuracy", deepFits[true].FinalAccuracy);
        report.Verdict($"A deep net ({deep} layers) trains with batch norm and hardly without", deepFits[true].FinalAccuracy > deepFits[false].FinalAccuracy + 0.05,
            $"test accuracy after {epochs} epochs: {Pct(deepFits[true].FinalAccuracy)} with batch norm, {Pct(deepFits[false].FinalAccuracy)} without.");
        report.Section("γ and β can undo the normalization");
        report.Text($"A `BatchNorm1d(8)` in training mode on a batch of 64 with mean about 5 and std about 3, with γ set to √(σ²_B + ε) and β to μ_B " +
                    $"of that batch: the largest difference between output and input is {E(undo)}.");
        report.Number("undo_max_difference", undo);
        report.Verdict("γ and β can undo the normalization (the layer can learn the identity)", undo < 1e-4, $"max |BN(x) − x| = {E(undo)}.");
        report.Section("Running statistics at test time");
        report.Table(["test images one at a time", "accuracy"],
            [["running statistics (eval mode)", Pct(runningBatch1, 2)], ["the same, in batches of 1,000", Pct(running, 2)], ["the image's own statistics (training mode)", Pct(batchStats, 2)]]);
        report.Number("single_image_running_accuracy", runningBatch1);
        report.Number("single_image_batch_stats_accuracy", batchStats);
        report.Number("single_image_mean_logit_shift", logitShift);
        report.Number("batch_statistics_prediction_changes", changed);
        report.Text($"With batch statistics, {Pct(changed, 2)} of the images change their predicted class when the 7 other images of their batch of 8 are " +
                    "replaced by 7 others. A `BatchNorm1d` cannot run at all on one sample in training mode (one value per channel has no variance; " +
                    "Nabla, as PyTorch, refuses it).");
        report.Verdict("At test time the running statistics must replace the batch's", runningBatch1 == running && (batchStats < runningBatch1 - 0.01 || changed > 0.01),
            $"one image at a time: {Pct(runningBatch1, 2)} with running statistics (the same as in batches of 1,000), {Pct(batchStats, 2)} with each image's own " +
            $"statistics (logits moved by {F(logitShift, 3)} on average); with batch statistics, {Pct(changed, 2)} of predictions change with the rest of the batch.");
    }

    /// <summary>
    /// With batch statistics (training mode), the fraction of images whose predicted class changes when the
    /// 7 other images of its batch of 8 are replaced by 7 others: a prediction that depends on its neighbours.
    /// </summary>
    static double BatchDependence(Module model, Data.TensorDataset data, Generator g)
    {
        var saved = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        model.Train();
        int changed = 0;
        var x = data.Inputs;
        int n = data.Count;
        using (Autograd.NoGrad())
            for (int i = 0; i < n; i++)
            {
                int Predict()
                {
                    var idx = new int[8];
                    idx[0] = i;
                    for (int k = 1; k < 8; k++) idx[k] = (int)(g.NextUInt64() % (ulong)n);
                    var batch = LabContext.Take(data, idx).Inputs;
                    var logits = model.Forward(batch).ToArray();
                    int best = 0;
                    for (int j = 1; j < 10; j++) if (logits[j] > logits[best]) best = j;
                    return best;
                }
                if (Predict() != Predict()) changed++;
            }
        model.LoadStateDict(saved);
        return (double)changed / n;
    }

    /// <summary>The mean absolute difference of the logits, one image at a time, between running and the image's own statistics.</summary>
    static double LogitShift(Module model, Data.TensorDataset data)
    {
        var saved = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        double sum = 0;
        int count = 0;
        using (Autograd.NoGrad())
            for (int i = 0; i < data.Count; i++)
            {
                var x = data.Get(i).Input;
                x = x.Reshape([1, .. x.Shape]);
                model.Eval();
                var a = model.Forward(x).ToArray();
                model.Train();
                var b = model.Forward(x).ToArray();
                for (int j = 0; j < a.Length; j++) sum += Math.Abs(a[j] - b[j]);
                count += a.Length;
            }
        model.LoadStateDict(saved);
        return sum / count;
    }

    /// <summary>Accuracy with one image per forward pass, in eval mode or in training mode (batch statistics; running statistics restored afterwards).</summary>
    static double Accuracy(Module model, Data.TensorDataset data, bool eval)
    {
        var saved = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        model.Train(!eval);
        int correct = 0;
        using (Autograd.NoGrad())
            for (int i = 0; i < data.Count; i++)
            {
                var s = data.Get(i);
                var logits = model.Forward(s.Input.Reshape([1, .. s.Input.Shape])).ToArray();
                if (Array.IndexOf(logits, logits.Max()) == (int)s.Target.Item()) correct++;
            }
        model.LoadStateDict(saved);
        model.Train();
        return (double)correct / data.Count;
    }
}
