using System.Text.Json.Nodes;
using Nabla.Cli;

namespace Nabla.Cli.Tests;

public sealed class TrainConfigTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string json)
    {
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json);
        return path;
    }

    static TrainConfig From(params string[] flags) => TrainConfig.From(ArgParser.Parse("train", flags, TrainCommand.Options).Options);

    const int DefaultEpochs = 12;

    [Fact]
    public void Defaults_AndDefaultsThatDependOnTheOptimizer()
    {
        var c = From();
        Assert.Equal((ModelKind.Cnn, DefaultEpochs, 128, OptimizerKind.AdamW, 3e-3, 0.01, DecayMode.Decoupled, ScheduleKind.OneCycle), (c.Model, c.Epochs, c.BatchSize, c.Optimizer, c.Lr, c.WeightDecay, c.WeightDecayMode, c.Schedule));
        var sgd = From("--optimizer", "sgd");
        Assert.Equal((0.05, 5e-4, DecayMode.L2), (sgd.Lr, sgd.WeightDecay, sgd.WeightDecayMode));
        var adam = From("--optimizer", "adam");
        Assert.Equal((3e-3, 0.0, DecayMode.L2), (adam.Lr, adam.WeightDecay, adam.WeightDecayMode));
        // One-cycle's peak is higher than a cosine schedule's start (Smith's super-convergence); the pretrained model fine-tunes with cosine.
        Assert.Equal(1e-3, From("--schedule", "cosine").Lr);
        var pretrained = From("--model", "resnet18-imagenet");
        Assert.Equal((ScheduleKind.Cosine, 1e-3), (pretrained.Schedule, pretrained.Lr));
        Assert.Equal(4, From("--epochs", "12").LrStep); // a third of the epochs
        Assert.Equal(1, From("--augment", "flip-crop").Workers); // augmentation gets a worker thread
    }

    [Fact]
    public void FlagsOverrideTheFile_WhichOverridesTheDefaults()
    {
        var file = TrainConfig.ReadFile(Write("""{ "epochs": 20, "lr": 0.002, "model": "mlp", /* comments are allowed */ "dropout": null }"""));
        var flags = ArgParser.Parse("train", ["--epochs", "5"], TrainCommand.Options).Options;
        var c = TrainConfig.From(TrainConfig.Merge(file, flags));
        Assert.Equal((5, 0.002, ModelKind.Mlp, 0.25), (c.Epochs, c.Lr, c.Model, c.Dropout));
    }

    [Fact]
    public void SavedConfiguration_ReadsBackToTheSameConfiguration()
    {
        var c = From("--model", "resnet", "--optimizer", "sgd", "--nesterov", "--schedule", "step", "--clip-grad", "1.5", "--train-samples", "500", "--out", "r");
        var again = TrainConfig.From(TrainConfig.ReadFile(Write(c.ToJson().ToJsonString())));
        Assert.Equal(c.ToJson().ToJsonString(), again.ToJson().ToJsonString());
    }

    [Theory]
    [InlineData("""{ "epoch": 3 }""", "unknown key 'epoch' (did you mean 'epochs'?)")]
    [InlineData("""{ "epochs": "ten" }""", "'epochs' must be a whole number; got \"ten\"")]
    [InlineData("""{ "epochs": 2.5 }""", "'epochs' must be a whole number; got 2.5")]
    [InlineData("""{ "lr": "0.1" }""", "'lr' must be a number")]
    [InlineData("""{ "batch_norm": 1 }""", "'batch_norm' must be true or false")]
    [InlineData("""{ "model": "vgg16" }""", "'model' expects one of cnn, vgg, mlp, resnet, resnet18-imagenet; got 'vgg16'")]
    [InlineData("""{ "model": ["cnn"] }""", "'model' must be a single value")]
    [InlineData("""[1, 2]""", "expected a JSON object of options")]
    [InlineData("""{ "epochs": 3""", "not valid JSON")]
    public void BadConfigFiles_AreNamedWithTheirKey(string json, string expected)
    {
        var path = Write(json);
        var e = Assert.Throws<CliException>(() => TrainConfig.ReadFile(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(1, e.ExitCode);
    }

    [Fact]
    public void ConfigJson_KeepsItsKeysInTheTablesOrder()
    {
        Assert.Equal(
            ["model", "freeze_backbone", "backbone_lr", "image_size", "normalize", "width", "epochs", "batch_size", "optimizer", "schedule", "warmup", "lr", "momentum", "nesterov",
             "weight_decay", "weight_decay_mode", "lr_step", "lr_gamma", "init", "dropout", "batch_norm", "augment", "color_jitter",
             "erasing", "mixup", "cutmix", "label_smoothing", "clip_grad", "patience", "min_delta", "diagnostics", "diagnostics_every", "val_split", "bootstrap", "train_samples", "test_split",
             "seed", "threads", "workers", "data", "out"],
            From().ToJson().Select(kv => kv.Key));
        Assert.Equal(TrainCommand.Options.Take(41).Select(o => o.Key), From().ToJson().Select(kv => kv.Key));
    }

    [Fact]
    public void MissingConfigFile()
    {
        var e = Assert.Throws<CliException>(() => TrainConfig.ReadFile(Path.Combine(_dir, "nope.json")));
        Assert.Contains("config file not found", e.Message);
    }

    [Theory]
    [InlineData("--epochs must be at least 1; got 0", "--epochs", "0")]
    [InlineData("--lr must be positive and at most 10; got -0.1", "--lr", "-0.1")]
    [InlineData("--dropout must be in [0, 1); got 1", "--dropout", "1")]
    [InlineData("--momentum must be in [0, 1); got 1.5", "--momentum", "1.5")]
    [InlineData("--val-split must be in [0, 1); got 1", "--val-split", "1")]
    [InlineData("--patience needs a validation split", "--patience", "3", "--val-split", "0")]
    [InlineData("--weight-decay-mode decoupled needs --optimizer adamw or adam", "--optimizer", "sgd", "--weight-decay-mode", "decoupled")]
    [InlineData("--nesterov needs --optimizer sgd", "--nesterov")]
    [InlineData("--warmup must be at least 0 and fewer than the 12 epochs; got 12", "--warmup", "12")]
    [InlineData("--no-batch-norm is not available for --model resnet", "--model", "resnet", "--no-batch-norm")]
    [InlineData("--threads must be between 1 and 1024; got 0", "--threads", "0")]
    [InlineData("--batch-size must be between 1 and 65536; got 0", "--batch-size", "0")]
    [InlineData("--mixup must be an alpha in [0, 100] (0 turns it off); got -0.2", "--mixup", "-0.2")]
    [InlineData("--cutmix must be an alpha in [0, 100] (0 turns it off); got 1000", "--cutmix", "1000")]
    [InlineData("--nesterov needs --optimizer sgd", "--nesterov", "--dropout", "1.5")] // several problems: the first in table order
    [InlineData("--warmup must be at least 0 and fewer than the 12 epochs; got 12", "--warmup", "12", "--lr-step", "0")]
    [InlineData("--patience needs a validation split", "--patience", "3", "--val-split", "0", "--seed", "-1")]
    public void OutOfRangeValues_AreRefused(string expected, params string[] flags)
    {
        var e = Assert.Throws<CliException>(() => From(flags));
        Assert.Contains(expected, e.Message);
    }
}
