using System.Globalization;
using Nabla.Cli;
using Nabla.Nn;
using Nabla.Serialization;
using Nabla.Vision;
using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

[Collection("Cli")]
public sealed class CommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Train_WritesTheRunFolder_AndEvalPredictUseIt()
    {
        var run = P("run");
        var r = Run(Tiny(run));
        Assert.True(r.Code == 0, r.Error + r.Out);
        foreach (var f in new[] { "model.safetensors", "config.json", "metrics.csv", "summary.json", "loss.png", "accuracy.png", "checkpoint.safetensors", "best.safetensors" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        Assert.Contains("epoch 2/2", r.Out);
        Assert.Contains("test", r.Out);

        var summary = Json(Path.Combine(run, "summary.json"));
        double acc = summary["test_accuracy"]!.GetValue<double>();
        Assert.InRange(acc, 0.3, 1.0); // 10 classes: chance is 0.1; 2 epochs on 270 images learn more than that
        Assert.Equal(2, summary["epochs"]!.GetValue<int>());
        Assert.Equal(2000, summary["test_samples"]!.GetValue<int>());
        Assert.Equal(270, summary["train_samples"]!.GetValue<int>());
        Assert.Equal(30, summary["val_samples"]!.GetValue<int>());
        Assert.True(summary["seconds"]!.GetValue<double>() > 0);
        Assert.Equal(10, summary["confusion_matrix"]!.AsArray().Count);
        long total = summary["confusion_matrix"]!.AsArray().SelectMany(row => row!.AsArray()).Sum(v => v!.GetValue<long>());
        Assert.Equal(2000, total);

        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal(RunFolder.MetricsHeader, lines[0]);
        Assert.Equal(3, lines.Length);
        var config = Json(Path.Combine(run, "config.json"));
        Assert.Equal("mlp", config["model"]!.GetValue<string>());
        Assert.Equal(run, config["out"]!.GetValue<string>());

        // The PNGs are real images.
        Assert.Equal(3, Image.Load(Path.Combine(run, "loss.png")).Shape[0]);

        // model.safetensors has PyTorch's keys and loads back into the preset.
        using (var file = SafeTensorsFile.Open(Path.Combine(run, "model.safetensors")))
            Assert.Contains("1.weight", file.Names);

        // eval gives the test accuracy train reported, and writes its own summary.
        var e = Run("eval", run, "--data", SubsetDir, "--out", P("eval"));
        Assert.True(e.Code == 0, e.Error);
        Assert.Contains("confusion matrix", e.Out);
        Assert.Equal(acc, Json(P("eval/summary.json"))["test_accuracy"]!.GetValue<double>());
        var flip = Run("eval", run, "--data", SubsetDir, "--tta", "flip");
        Assert.Equal(0, flip.Code);

        // predict: a test image saved as PNG, and its negative (auto-inverted back).
        var test = Nabla.Data.FashionMnist.Load(SubsetDir, train: false);
        var image = test.Get(0).Input;
        Image.Save(image, P("a.png"));
        Image.Save(1f - image, P("b.png"));
        var p = Run("predict", run, P("a.png"), P("b.png"), "--top-k", "2");
        Assert.True(p.Code == 0, p.Error);
        Assert.Contains("a.png", p.Out);
        Assert.Contains("b.png (inverted)", p.Out);
        Assert.Contains("%", p.Out);
    }

    [Fact]
    public void Interrupted_ThenResumed_EqualsTheUninterruptedRun()
    {
        var whole = Run(Tiny(P("whole")));
        Assert.Equal(0, whole.Code);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel(); // Ctrl+C before the first batch: the run stops at once and saves a checkpoint
        var stopped = Run(cancelled.Token, Tiny(P("resumed")));
        Assert.Equal(130, stopped.Code);
        Assert.Contains("Interrupted in epoch 1 after 0 of", stopped.Out);
        Assert.Contains("nabla train --resume", stopped.Out);
        Assert.False(File.Exists(P("resumed/model.safetensors")));

        var badResume = Run("train", "--resume", P("resumed"), "--lr", "0.5");
        Assert.Equal(2, badResume.Code);
        Assert.Contains("--lr cannot be changed", badResume.Error);

        var resumed = Run("train", "--resume", P("resumed"), "--threads", "2");
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Equal(File.ReadAllLines(P("whole/metrics.csv")).Select(DropSeconds), File.ReadAllLines(P("resumed/metrics.csv")).Select(DropSeconds));
        using var a = SafeTensorsFile.Open(P("whole/model.safetensors"));
        using var b = SafeTensorsFile.Open(P("resumed/model.safetensors"));
        foreach (var name in a.Names)
            Assert.Equal(a.ReadTensor(name).ToArray(), b.ReadTensor(name).ToArray());

        var finished = Run("train", "--resume", P("resumed"));
        Assert.Equal(1, finished.Code);
        Assert.Contains("is a finished run", finished.Error);
    }

    static string DropSeconds(string line) => line[..line.LastIndexOf(',')];

    [Fact]
    public void InterruptedMidEpoch_WithAugmentationAndEarlyStopping_ResumesBitwise()
    {
        string[] extra = ["--epochs", "3", "--augment", "crop", "--workers", "1", "--patience", "2"];
        Assert.Equal(0, Run(Tiny(P("whole"), extra)).Code);

        using var cancel = new CancellationTokenSource();
        var stopped = Run(p => { if (p.Epoch == 2 && p.Batch >= 4) cancel.Cancel(); }, cancel.Token, Tiny(P("resumed"), extra));
        Assert.Equal(130, stopped.Code);
        Assert.Contains("Interrupted in epoch 2 after 4 of 8 batches", stopped.Out);
        Assert.Equal(2, File.ReadAllLines(P("resumed/metrics.csv")).Length); // the header and epoch 1

        var resumed = Run("train", "--resume", P("resumed"));
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Equal(File.ReadAllLines(P("whole/metrics.csv")).Select(DropSeconds), File.ReadAllLines(P("resumed/metrics.csv")).Select(DropSeconds));
        using var a = SafeTensorsFile.Open(P("whole/model.safetensors"));
        using var b = SafeTensorsFile.Open(P("resumed/model.safetensors"));
        foreach (var name in a.Names)
            Assert.Equal(a.ReadTensor(name).ToArray(), b.ReadTensor(name).ToArray());
        Assert.Equal(Json(P("whole/summary.json"))["test_accuracy"]!.GetValue<double>(), Json(P("resumed/summary.json"))["test_accuracy"]!.GetValue<double>());
    }

    [Fact]
    public void MixupAndCutmix_Train_AndResumeBitwise()
    {
        string[] extra = ["--epochs", "2", "--mixup", "0.4", "--cutmix", "1", "--model", "cnn", "--workers", "1"];
        var whole = Run(Tiny(P("mixed"), extra));
        Assert.True(whole.Code == 0, whole.Error);
        var config = Json(P("mixed/config.json"));
        Assert.Equal((0.4, 1.0), (config["mixup"]!.GetValue<double>(), config["cutmix"]!.GetValue<double>()));
        var metrics = File.ReadAllLines(P("mixed/metrics.csv"));
        Assert.DoesNotContain("NaN", metrics[1]); // training accuracy against the mixed labels' largest class

        using var cancel = new CancellationTokenSource();
        var stopped = Run(p => { if (p.Epoch == 2 && p.Batch >= 3) cancel.Cancel(); }, cancel.Token, Tiny(P("mixed-resumed"), extra));
        Assert.Equal(130, stopped.Code);
        Assert.Equal(0, Run("train", "--resume", P("mixed-resumed")).Code);
        using var a = SafeTensorsFile.Open(P("mixed/model.safetensors"));
        using var b = SafeTensorsFile.Open(P("mixed-resumed/model.safetensors"));
        foreach (var name in a.Names)
            Assert.Equal(a.ReadTensor(name).ToArray(), b.ReadTensor(name).ToArray());
    }

    [Fact]
    public void KilledBeforeItsFirstCheckpoint_TheRunCanStillBeResumed()
    {
        // A new run writes a checkpoint before its first batch: a process killed at once leaves a resumable folder.
        using var cancel = new CancellationTokenSource();
        // Dies in its first batch.
        Assert.Equal(70, Run(_ => throw new InvalidOperationException("killed"), cancel.Token, Tiny(P("killed"))).Code);
        Assert.True(File.Exists(P("killed/checkpoint.safetensors")));
        var resumed = Run("train", "--resume", P("killed"));
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Equal(0, Run(Tiny(P("fresh"))).Code);
        Assert.Equal(File.ReadAllLines(P("fresh/metrics.csv")).Select(DropSeconds), File.ReadAllLines(P("killed/metrics.csv")).Select(DropSeconds));
    }

    [Fact]
    public void EarlyStopping_StopsRestoresAndSaysWhy()
    {
        // A learning rate this high makes the validation loss climb after the first epochs.
        var r = Run(Tiny(P("es"), "--epochs", "12", "--patience", "1", "--lr", "0.5", "--schedule", "none", "--min-delta", "0.05"));
        Assert.True(r.Code == 0, r.Error);
        var summary = Json(P("es/summary.json"));
        Assert.Contains("Early stopping: val_loss did not improve", r.Out);
        int epochs = summary["epochs"]!.GetValue<int>(), best = summary["best_epoch"]!.GetValue<int>();
        Assert.True(epochs < 12);
        Assert.NotNull(summary["stop_reason"]);
        Assert.Contains($"after epoch {best} ", summary["stop_reason"]!.GetValue<string>()); // the epoch restored is the one named
        // Patience 1: the run stopped one epoch after its best, and the best weights came back.
        Assert.Equal(best + 1, epochs);
        Assert.True(summary["restored_best_weights"]!.GetValue<bool>());
        Assert.Contains($"Restored the weights of epoch {best}", r.Out);
        // The model saved is the best epoch's: evaluating it gives the summary's test accuracy, and best.safetensors holds the same weights.
        using var a = SafeTensorsFile.Open(P("es/model.safetensors"));
        using var b = SafeTensorsFile.Open(P("es/best.safetensors"));
        foreach (var name in a.Names) Assert.Equal(a.ReadTensor(name).ToArray(), b.ReadTensor(name).ToArray());
    }

    [Fact]
    public void Augment_WritesAPreviewGrid()
    {
        var r = Run("augment", "--augment", "flip-crop", "--erasing", "0.5", "--count", "6", "--columns", "3", "--data", SubsetDir, "--out", P("g.png"));
        Assert.True(r.Code == 0, r.Error);
        var grid = Image.Load(P("g.png"), grayscale: true);
        Assert.Equal(2 * 28 + AugmentationPreview.Border, grid.Shape[1]);     // 2 rows
        Assert.Equal(3 * 28 + 2 * AugmentationPreview.Border, grid.Shape[2]); // 3 columns
    }

    [Theory]
    [InlineData(2, "unknown command 'trian' (did you mean 'train'?)", "trian")]
    [InlineData(2, "nabla train: unknown option '--epoch' (did you mean '--epochs'?)", "train", "--epoch", "3")]
    [InlineData(2, "nabla eval expects one run folder", "eval")]
    [InlineData(1, "run folder or model file not found", "eval", "/nonexistent/run")]
    [InlineData(1, "--data: folder not found", "train", "--data", "/nonexistent/data")]
    [InlineData(1, "config file not found", "train", "--config", "/nonexistent/c.json")]
    [InlineData(1, "--resume: run folder not found", "train", "--resume", "/nonexistent/run")]
    [InlineData(2, "nabla predict expects a run folder", "predict", "x")]
    [InlineData(2, "--momentum has no effect with --optimizer adamw", "train", "--momentum", "0.5")]
    [InlineData(2, "--lr-step has no effect with --schedule onecycle", "train", "--lr-step", "3")]
    [InlineData(2, "--lr-gamma has no effect with --schedule onecycle", "train", "--schedule", "onecycle", "--lr-gamma", "0.5")]
    [InlineData(2, "--min-delta has no effect without --patience", "train", "--min-delta", "0.01")]
    [InlineData(2, "--augment none with no --erasing: nothing to preview", "augment", "--augment", "none")]
    public void Mistakes_AreOneLineOnStandardErrorWithAnExitCode(int code, string expected, params string[] args)
    {
        var r = Run(args);
        Assert.Equal(code, r.Code);
        Assert.StartsWith("nabla: error: ", r.Error);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd('\n', '\r').Split('\n'));
    }

    [Fact]
    public void CorruptOrForeignModelFiles_AreRefusedClearly()
    {
        var run = P("run");
        Assert.Equal(0, Run(Tiny(run)).Code);
        var model = Path.Combine(run, "model.safetensors");
        var bytes = File.ReadAllBytes(model);

        File.WriteAllBytes(P("truncated.safetensors"), bytes[..(bytes.Length / 2)]);
        var t = Run("eval", P("truncated.safetensors"), "--data", SubsetDir);
        Assert.Equal(1, t.Code);
        Assert.Contains("truncated.safetensors", t.Error);

        var huge = (byte[])bytes.Clone();
        BitConverter.GetBytes(1L << 62).CopyTo(huge, 0);
        File.WriteAllBytes(P("huge.safetensors"), huge);
        var h = Run("eval", P("huge.safetensors"), "--data", SubsetDir);
        Assert.Equal(1, h.Code);
        Assert.Contains("header length", h.Error);

        SafeTensors.Save(P("foreign.safetensors"), new Linear(4, 3).StateDict());
        var f = Run("eval", P("foreign.safetensors"));
        Assert.Equal(1, f.Code);
        Assert.Contains("not a model saved by nabla train", f.Error);

        // A model whose configuration names another preset than its weights fit.
        using (var file = SafeTensorsFile.Open(model))
        {
            var meta = file.Metadata.ToDictionary();
            meta["config"] = meta["config"].Replace("\"mlp\"", "\"cnn\"", StringComparison.Ordinal);
            SafeTensors.Save(P("mismatch.safetensors"), file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.ReadTensor(n))).ToList(), meta);
        }
        var m = Run("eval", P("mismatch.safetensors"));
        Assert.Equal(1, m.Code);
        Assert.Contains("the metadata describes a cnn whose '0.weight' is [32, 1, 3, 3], but the file's is missing: metadata and weights disagree", m.Error);

        // A corrupt checkpoint stops --resume with the file's problem, and changes nothing in the folder.
        File.Delete(model); // as if the run had been interrupted
        File.WriteAllBytes(Path.Combine(run, "checkpoint.safetensors"), bytes[..100]);
        var before = File.ReadAllText(Path.Combine(run, "metrics.csv"));
        var r = Run("train", "--resume", run);
        Assert.Equal(1, r.Code);
        Assert.Contains("--resume: safetensors file", r.Error);
        Assert.Equal(before, File.ReadAllText(Path.Combine(run, "metrics.csv")));
    }

    [Fact]
    public void Train_RefusesToOverwriteARun()
    {
        var run = P("run");
        Assert.Equal(0, Run(Tiny(run)).Code);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(run, "model.safetensors"));
        var r = Run(Tiny(run));
        Assert.Equal(1, r.Code);
        Assert.Contains("already holds a run", r.Error);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(run, "model.safetensors")));
    }

    [Fact]
    public void Help_ListsEveryOption()
    {
        var r = Run("train", "--help");
        Assert.Equal(0, r.Code);
        foreach (var o in TrainCommand.Options) Assert.Contains(o.Flag, r.Out);
        Assert.Equal(0, Run("help", "eval").Code);
        Assert.Equal(2, Run().Code); // no command: usage, and a usage error
    }
}

public class PresetTests
{
    [Theory]
    [InlineData("cnn", true)]
    [InlineData("cnn", false)]
    [InlineData("vgg", true)]
    [InlineData("vgg", false)]
    [InlineData("mlp", true)]
    [InlineData("mlp", false)]
    [InlineData("resnet", true)]
    public void Presets_MapImagesToTenScores(string model, bool batchNorm)
    {
        var flags = new List<string> { "--model", model, batchNorm ? "--batch-norm" : "--no-batch-norm" };
        var c = TrainConfig.From(ArgParser.Parse("train", flags, TrainCommand.Options).Options);
        var net = Presets.Build(c, Presets.FashionMnist, new Generator(1));
        net.Eval();
        using var noGrad = Autograd.NoGrad();
        Assert.Equal([3, 10], net.Forward(Tensor.Randn(3, 1, 28, 28)).Shape.ToArray());
        Assert.Equal(batchNorm, net.Modules().Any(m => m is BatchNorm1d or BatchNorm2d));
    }

    [Theory]
    [InlineData("kaiming", 2.0 / (32 * 9))]  // He: Var = 2 / fan_in
    [InlineData("xavier", 2.0 / (32 * 9 + 64 * 9))] // Glorot: Var = 2 / (fan_in + fan_out)
    public void Initialization_HasTheTextbookVariance(string init, double variance)
    {
        var c = TrainConfig.From(ArgParser.Parse("train", ["--init", init], TrainCommand.Options).Options);
        var net = Presets.Build(c, Presets.FashionMnist, new Generator(2));
        var conv2 = net.Modules().OfType<Conv2d>().ElementAt(1); // 64 x 32 x 3 x 3: 18,432 weights
        var w = conv2.Weight.Data.ToArray();
        double mean = w.Average(v => (double)v), var = w.Average(v => (v - mean) * (v - mean));
        Assert.InRange(var / variance, 0.95, 1.05);
        Assert.InRange(Math.Abs(mean), 0, 0.01);
    }
}

[Collection("Cli")]
public sealed class SavedModelMetadataTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-meta-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("classes", "null", "metadata 'classes' is not a list of class names")]
    [InlineData("classes", "[null]", "metadata 'classes' is not a list of class names")]
    [InlineData("classes", "[\"a\", \"b\"]", "the weights do not fit a mlp model")]
    [InlineData("classes", "[\"a\"]", "metadata 'classes' must name at least two distinct classes; got 1")]
    [InlineData("channels", "2", "metadata 'channels' must be 1 or 3; got 2")]
    [InlineData("image_size", "-5", "metadata 'image_size' must be a whole number from 8 to 1024; got '-5'")]
    [InlineData("normalize", "zscore", "metadata 'normalize' is 'zscore'; expected one of per-channel, mean-image, none")]
    [InlineData("mean", "[0.1, 0.2]", "metadata 'mean' and 'std' do not fit per-channel normalization of 1-channel images")]
    [InlineData("mean", "[null]", "metadata 'mean' is not a list of numbers")]
    [InlineData("std", "[0]", "metadata 'mean' and 'std' do not fit per-channel normalization of 1-channel images (1 and 1 finite values, std > 0; got 1 and 1)")]
    [InlineData("config", "{\"epochs\": \"x\"}", "config 'epochs' must be a whole number")]
    [InlineData("config", "{\"lrr\": 1}", "metadata 'config' has an unknown key 'lrr'")]
    [InlineData("config", "not json", "corrupt metadata")]
    public void TamperedMetadata_IsOneLineAndExitCodeOne(string key, string value, string expected)
    {
        var run = Path.Combine(_dir, "run");
        if (!Directory.Exists(run)) Assert.Equal(0, CliHarness.Run(CliHarness.Tiny(run, "--epochs", "1")).Code);
        var path = Path.Combine(_dir, $"tampered-{key}.safetensors");
        using (var file = Nabla.Serialization.SafeTensorsFile.Open(Path.Combine(run, "model.safetensors")))
        {
            var meta = file.Metadata.ToDictionary();
            meta[key] = value;
            Nabla.Serialization.SafeTensors.Save(path, file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.ReadTensor(n))).ToList(), meta);
        }
        var r = CliHarness.Run("eval", path, "--data", CliHarness.SubsetDir);
        Assert.Equal(1, r.Code);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd('\n').Split('\n'));
    }
}
