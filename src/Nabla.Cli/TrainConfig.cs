using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nabla.Data;

namespace Nabla.Cli;

/// <summary>The model presets (see <see cref="Presets"/>).</summary>
internal enum ModelKind { Cnn, Vgg, Mlp, Resnet, ResNet18ImageNet }

/// <summary>The optimizers of <c>--optimizer</c>.</summary>
internal enum OptimizerKind { AdamW, Adam, Sgd }

/// <summary>The learning-rate schedules of <c>--schedule</c>.</summary>
internal enum ScheduleKind { Cosine, OneCycle, Step, Plateau, None }

/// <summary>The weight initializations of <c>--init</c>.</summary>
internal enum InitKind { Kaiming, Xavier, Default }

/// <summary>The augmentation policies of <c>--augment</c>.</summary>
internal enum AugmentKind { None, Crop, FlipCrop, Scale, ResizedCrop, RandAugment, TrivialAugment }

/// <summary>How inputs are normalized (<c>--normalize</c>).</summary>
internal enum NormalizeKind { PerChannel, MeanImage, None }

/// <summary>How weight decay is applied (<c>--weight-decay-mode</c>).</summary>
internal enum DecayMode { Decoupled, L2 }

/// <summary>The words flags and config.json use for an enum's values, and back.</summary>
internal sealed class Words<T>(params (T Value, string Word)[] pairs) where T : struct, Enum
{
    /// <summary>Every word, in declaration order (the choices help and errors list).</summary>
    public string[] All { get; } = [.. pairs.Select(p => p.Word)];

    public string Of(T value) => pairs.First(p => EqualityComparer<T>.Default.Equals(p.Value, value)).Word;

    public T Parse(string word) => pairs.First(p => p.Word == word).Value;
}

/// <summary>
/// Everything that defines a training run, as an immutable record with enums. Values come from the
/// defaults, then a JSON config file (<c>--config</c>), then the flags, each overriding the one
/// before; the effective configuration is printed and saved as the run folder's <c>config.json</c>,
/// which <c>--config</c> and <c>--resume</c> read back.
/// </summary>
/// <remarks>
/// Each option is declared once, in <see cref="Settings"/>: its flag (the config.json key follows
/// from it), type, help, default (which may depend on other options, as the learning rate on the
/// optimizer) and range check. Help, parsing, config files, defaults and config.json all read that
/// one table; <c>Validate</c> adds only the rules that join several options.
/// </remarks>
internal sealed record TrainConfig
{
    public static readonly Words<ModelKind> ModelWords = new((ModelKind.Cnn, "cnn"), (ModelKind.Vgg, "vgg"), (ModelKind.Mlp, "mlp"), (ModelKind.Resnet, "resnet"),
        (ModelKind.ResNet18ImageNet, "resnet18-imagenet"));
    public static readonly Words<OptimizerKind> OptimizerWords = new((OptimizerKind.AdamW, "adamw"), (OptimizerKind.Adam, "adam"), (OptimizerKind.Sgd, "sgd"));
    public static readonly Words<ScheduleKind> ScheduleWords = new((ScheduleKind.Cosine, "cosine"), (ScheduleKind.OneCycle, "onecycle"),
        (ScheduleKind.Step, "step"), (ScheduleKind.Plateau, "plateau"), (ScheduleKind.None, "none"));
    public static readonly Words<InitKind> InitWords = new((InitKind.Kaiming, "kaiming"), (InitKind.Xavier, "xavier"), (InitKind.Default, "default"));
    public static readonly Words<AugmentKind> AugmentWords = new((AugmentKind.None, "none"), (AugmentKind.Crop, "crop"), (AugmentKind.FlipCrop, "flip-crop"),
        (AugmentKind.Scale, "scale"), (AugmentKind.ResizedCrop, "resized-crop"), (AugmentKind.RandAugment, "randaugment"), (AugmentKind.TrivialAugment, "trivialaugment"));
    public static readonly Words<NormalizeKind> NormalizeWords = new((NormalizeKind.PerChannel, "per-channel"), (NormalizeKind.MeanImage, "mean-image"), (NormalizeKind.None, "none"));
    public static readonly Words<DecayMode> DecayModeWords = new((DecayMode.Decoupled, "decoupled"), (DecayMode.L2, "l2"));

    /// <summary>The from-scratch presets' names (every model but the pretrained one), for tests.</summary>
    public static string[] Models => [.. ModelWords.All.Where(m => ModelWords.Parse(m) != ModelKind.ResNet18ImageNet)];

    public ModelKind Model { get; init; }
    public int Width { get; init; }
    public bool FreezeBackbone { get; init; }
    public double? BackboneLr { get; init; }
    public int? ImageSize { get; init; }
    public NormalizeKind Normalize { get; init; }
    public int Epochs { get; init; }
    public int BatchSize { get; init; }
    public OptimizerKind Optimizer { get; init; }
    public double Lr { get; init; }
    public double Momentum { get; init; }
    public bool Nesterov { get; init; }
    public DecayMode WeightDecayMode { get; init; }
    public double WeightDecay { get; init; }
    public ScheduleKind Schedule { get; init; }
    public int Warmup { get; init; }
    public int LrStep { get; init; }
    public double LrGamma { get; init; }
    public InitKind Init { get; init; }
    public double Dropout { get; init; }
    public bool BatchNorm { get; init; }
    public bool Diagnostics { get; init; }
    public int DiagnosticsEvery { get; init; }
    public AugmentKind Augment { get; init; }
    public string? ColorJitter { get; init; }
    public double Erasing { get; init; }
    public double Mixup { get; init; }
    public double Cutmix { get; init; }
    public double LabelSmoothing { get; init; }
    public double? ClipGrad { get; init; }
    public int Patience { get; init; }
    public double MinDelta { get; init; }
    public double ValSplit { get; init; }
    public bool Bootstrap { get; init; }
    public int? TrainSamples { get; init; }
    public double TestSplit { get; init; }
    public int Seed { get; init; }
    public int Threads { get; init; }
    public int Workers { get; init; }
    public string? Data { get; init; }
    public string? Out { get; init; }

    /// <summary>Every option of <c>nabla train</c>, declared once, in the order help and config.json show them.</summary>
    public static readonly Setting[] Settings =
    [
        Setting.Choice("--model", "model: cnn (two conv blocks), vgg (two convolutions per block), mlp (two hidden layers), resnet (ResNet-8), " +
            "all from scratch and sized to the images; resnet18-imagenet (the ImageNet-pretrained ResNet-18 with a new linear head)",
            ModelWords, c => c.Model, (c, v) => c with { Model = v }, _ => ModelKind.Cnn),
        Setting.Switch("--freeze-backbone", "resnet18-imagenet: train the head only, a linear probe on features computed once (default off: fine-tune everything)",
            c => c.FreezeBackbone, (c, v) => c with { FreezeBackbone = v }, _ => false),
        Setting.OptionalNumber("--backbone-lr", "resnet18-imagenet fine-tuning: the pretrained layers' peak learning rate (default a tenth of --lr)",
            c => c.BackboneLr, (c, v) => c with { BackboneLr = v }, v => v > 0 && v <= 10 ? null : $"--backbone-lr must be positive and at most 10; got {Fmt(v)}"),
        Setting.OptionalInt("--image-size", "image folders: the working resolution, images resized (shorter side) and centre-cropped to it " +
            "(default 224 for resnet18-imagenet; else the images' median shorter side, at most 64); Fashion-MNIST's IDX files are 28",
            c => c.ImageSize, (c, v) => c with { ImageSize = v }, v => v is >= 8 and <= 1024 ? null : $"--image-size must be between 8 and 1024; got {v}"),
        Setting.Choice("--normalize", "input normalization, from the training images: per-channel (mean and std of each channel), mean-image " +
            "(subtract the mean image, AlexNet's, then divide by each channel's std), none; resnet18-imagenet has its own (BGR, 0-255, ImageNet mean image) and takes none",
            NormalizeWords, c => c.Normalize, (c, v) => c with { Normalize = v }, c => c.Model == ModelKind.ResNet18ImageNet ? NormalizeKind.None : NormalizeKind.PerChannel),
        Setting.Int("--width", "multiply every layer's channels or units by this (default 1)", c => c.Width, (c, v) => c with { Width = v }, _ => 1,
            v => v is >= 1 and <= 64 ? null : $"--width must be between 1 and 64; got {v}"),
        Setting.Int("--epochs", "epochs to train (default 12)", c => c.Epochs, (c, v) => c with { Epochs = v }, _ => 12,
            v => v >= 1 ? null : $"--epochs must be at least 1; got {v}"),
        Setting.Int("--batch-size", "samples per batch (default 128; 32 for resnet18-imagenet)", c => c.BatchSize, (c, v) => c with { BatchSize = v },
            c => c.Model == ModelKind.ResNet18ImageNet ? 32 : 128,
            v => v is >= 1 and <= 65536 ? null : $"--batch-size must be between 1 and 65536; got {v}"),
        Setting.Choice("--optimizer", "optimizer (default adamw)", OptimizerWords, c => c.Optimizer, (c, v) => c with { Optimizer = v }, _ => OptimizerKind.AdamW),
        Setting.Choice("--schedule", "learning-rate schedule, per step (default onecycle; cosine for resnet18-imagenet)", ScheduleWords, c => c.Schedule,
            (c, v) => c with { Schedule = v }, c => c.Model == ModelKind.ResNet18ImageNet ? ScheduleKind.Cosine : ScheduleKind.OneCycle),
        Setting.Int("--warmup", "epochs of linear warm-up before the schedule (default 0; onecycle: its rising share, default 30% of the epochs)",
            c => c.Warmup, (c, v) => c with { Warmup = v }, _ => 0),
        Setting.Number("--lr", "peak learning rate (default 3e-3 for adam/adamw with onecycle, 1e-3 with the other schedules, 0.05 for sgd; ten times that for a --freeze-backbone linear probe)",
            c => c.Lr, (c, v) => c with { Lr = v },
            c => (c.Optimizer == OptimizerKind.Sgd ? 0.05 : c.Schedule == ScheduleKind.OneCycle ? 3e-3 : 1e-3) * (c.FreezeBackbone ? 10 : 1),
            v => v > 0 && v <= 10 ? null : $"--lr must be positive and at most 10; got {Fmt(v)}"),
        Setting.Number("--momentum", "SGD momentum (default 0.9)", c => c.Momentum, (c, v) => c with { Momentum = v }, _ => 0.9,
            v => v >= 0 && v < 1 ? null : $"--momentum must be in [0, 1); got {Fmt(v)}"),
        Setting.Switch("--nesterov", "Nesterov momentum for SGD (default off)", c => c.Nesterov, (c, v) => c with { Nesterov = v }, _ => false),
        Setting.Number("--weight-decay", "weight decay (default 0.01 decoupled, 5e-4 as L2 for sgd, 0 for adam); biases and norm weights are never decayed",
            c => c.WeightDecay, (c, v) => c with { WeightDecay = v },
            c => c.WeightDecayMode == DecayMode.Decoupled ? 0.01 : c.Optimizer == OptimizerKind.Sgd ? 5e-4 : 0,
            v => v >= 0 ? null : $"--weight-decay must be non-negative; got {Fmt(v)}"),
        Setting.Choice("--weight-decay-mode", "decoupled (AdamW's rule) or l2 (added to the gradient); default decoupled for adamw, l2 otherwise",
            DecayModeWords, c => c.WeightDecayMode, (c, v) => c with { WeightDecayMode = v },
            c => c.Optimizer == OptimizerKind.AdamW ? DecayMode.Decoupled : DecayMode.L2),
        Setting.Int("--lr-step", "epochs between decays for --schedule step (default a third of the epochs)", c => c.LrStep, (c, v) => c with { LrStep = v },
            c => Math.Max(1, c.Epochs / 3), v => v >= 1 ? null : $"--lr-step must be at least 1; got {v}"),
        Setting.Number("--lr-gamma", "decay factor for --schedule step and plateau (default 0.1)", c => c.LrGamma, (c, v) => c with { LrGamma = v }, _ => 0.1,
            v => v > 0 && v <= 1 ? null : $"--lr-gamma must be in (0, 1]; got {Fmt(v)}"),
        Setting.Choice("--init", "weight initialization: kaiming (He, for ReLU), xavier (Glorot), default (PyTorch's)", InitWords,
            c => c.Init, (c, v) => c with { Init = v }, _ => InitKind.Kaiming),
        Setting.Number("--dropout", "dropout probability before each classifier layer (default 0.25; 0 turns it off)", c => c.Dropout, (c, v) => c with { Dropout = v },
            _ => 0.25, v => v >= 0 && v < 1 ? null : $"--dropout must be in [0, 1); got {Fmt(v)}"),
        Setting.Switch("--batch-norm", "batch normalization after each convolution or hidden layer (default on; --no-batch-norm)",
            c => c.BatchNorm, (c, v) => c with { BatchNorm = v }, _ => true),
        Setting.Choice("--augment", "augmentation policy: none, crop (random crop of the image padded by 1/14 of its side: 2 pixels at 28), flip-crop (crop and horizontal flip), " +
            "scale (shorter side to a random L in [256, 480] for 224 crops, proportional for other sizes, then a random crop and a flip), resized-crop (Inception's random-sized crop and a flip), " +
            "randaugment or trivialaugment (flip-crop plus the policy)",
            AugmentWords, c => c.Augment, (c, v) => c with { Augment = v }, _ => AugmentKind.None),
        Setting.Text("--color-jitter", "colour jitter after the geometric augmentation: B,C,S,H, the brightness, contrast and saturation factors' spread and the hue shift (e.g. 0.4,0.4,0.4,0.1; default off)",
            c => c.ColorJitter, (c, v) => c with { ColorJitter = v }, v => v is null ? null : JitterError(v), format: "B,C,S,H"),
        Setting.Number("--erasing", "probability of random erasing after augmentation (default 0)", c => c.Erasing, (c, v) => c with { Erasing = v }, _ => 0,
            v => v >= 0 && v <= 1 ? null : $"--erasing must be a probability in [0, 1]; got {Fmt(v)}"),
        Setting.Number("--mixup", "MixUp: blend each batch's images and labels with lam ~ Beta(alpha, alpha); this is alpha (default 0: off; 0.2 is usual)",
            c => c.Mixup, (c, v) => c with { Mixup = v }, _ => 0, v => v >= 0 && v <= 100 ? null : $"--mixup must be an alpha in [0, 100] (0 turns it off); got {Fmt(v)}"),
        Setting.Number("--cutmix", "CutMix: paste a box of another image with its share of the label, Beta(alpha, alpha); this is alpha (default 0: off; 1 is usual); with --mixup, each batch picks one",
            c => c.Cutmix, (c, v) => c with { Cutmix = v }, _ => 0, v => v >= 0 && v <= 100 ? null : $"--cutmix must be an alpha in [0, 100] (0 turns it off); got {Fmt(v)}"),
        Setting.Number("--label-smoothing", "cross-entropy label smoothing (default 0)", c => c.LabelSmoothing, (c, v) => c with { LabelSmoothing = v }, _ => 0,
            v => v >= 0 && v <= 1 ? null : $"--label-smoothing must be in [0, 1]; got {Fmt(v)}"),
        Setting.OptionalNumber("--clip-grad", "clip the gradients' global norm to this (default off)", c => c.ClipGrad, (c, v) => c with { ClipGrad = v },
            v => v > 0 ? null : $"--clip-grad must be positive; got {Fmt(v)}"),
        Setting.Int("--patience", "early stopping: epochs without a better validation loss before stopping, best weights restored (default 0: off)",
            c => c.Patience, (c, v) => c with { Patience = v }, _ => 0, v => v >= 0 ? null : $"--patience must be at least 0 (0 turns early stopping off); got {v}"),
        Setting.Number("--min-delta", "early stopping: the smallest change that counts as better (default 0)", c => c.MinDelta, (c, v) => c with { MinDelta = v }, _ => 0,
            v => v >= 0 ? null : $"--min-delta must be non-negative; got {Fmt(v)}"),
        Setting.Switch("--diagnostics", "per-layer training diagnostics, written to diagnostics.csv and diagnostics.png: activation mean, std and histogram, " +
            "dead ReLUs, saturated tanh and sigmoid units, gradient norms and update-to-weight ratios (default off)",
            c => c.Diagnostics, (c, v) => c with { Diagnostics = v }, _ => false),
        Setting.Int("--diagnostics-every", "--diagnostics: sample every N optimizer steps (default 0: the last batch of each epoch, and the first of training)",
            c => c.DiagnosticsEvery, (c, v) => c with { DiagnosticsEvery = v }, _ => 0, v => v >= 0 ? null : $"--diagnostics-every must be at least 0; got {v}"),
        Setting.Number("--val-split", "fraction of the training split held out for validation, stratified (default 0.1)", c => c.ValSplit, (c, v) => c with { ValSplit = v },
            _ => 0.1, v => v >= 0 && v < 1 ? null : $"--val-split must be in [0, 1); got {Fmt(v)}"),
        Setting.Switch("--bootstrap", "train on a bootstrap resample of the training set (as many draws with replacement; bagging)",
            c => c.Bootstrap, (c, v) => c with { Bootstrap = v }, _ => false),
        Setting.OptionalInt("--train-samples", "train on this many samples of the training split (stratified; default all)", c => c.TrainSamples,
            (c, v) => c with { TrainSamples = v }, v => v >= 10 ? null : $"--train-samples must be at least 10; got {v}"),
        Setting.Number("--test-split", "image folders without a test/ folder: the fraction of the images held out for testing, stratified (default 0.2)",
            c => c.TestSplit, (c, v) => c with { TestSplit = v }, _ => 0.2, v => v > 0 && v < 1 ? null : $"--test-split must be in (0, 1); got {Fmt(v)}"),
        Setting.Int("--seed", "seed of every random stream (default 0)", c => c.Seed, (c, v) => c with { Seed = v }, _ => 0,
            v => v >= 0 ? null : $"--seed must be non-negative; got {v}"),
        Setting.Int("--threads", "compute threads (default NABLA_NUM_THREADS or the processor count)", c => c.Threads, (c, v) => c with { Threads = v },
            _ => Threading.NumThreads, v => ThreadsError(v)),
        Setting.Int("--workers", "background threads preparing batches (default 0, or 1 with augmentation)", c => c.Workers, (c, v) => c with { Workers = v },
            c => c.Augment == AugmentKind.None && c.Erasing == 0 ? 0 : 1, v => v is >= 0 and <= 64 ? null : $"--workers must be between 0 and 64; got {v}"),
        Setting.Text("--data", "an image folder (one sub-folder of PNG, JPEG, BMP or WebP files per class, optionally under train/, val/ and test/), " +
            "or a folder with Fashion-MNIST's IDX files, raw or .gz (default NABLA_DATA_DIR, then /usr/share/datasets/fashion-mnist, then the embedded subset)",
            c => c.Data, (c, v) => c with { Data = v }),
        Setting.Text("--out", "run folder to write (default runs/<date>-<time>-<model>)", c => c.Out, (c, v) => c with { Out = v }),
    ];

    /// <summary>The options of <c>nabla train</c>, for the parser and help.</summary>
    public static readonly OptionSpec[] Options = [.. Settings.Select(s => s.Spec)];

    /// <summary>
    /// The order defaults are filled in: the table's, except that the decay mode comes before the
    /// decay, whose default depends on it.
    /// </summary>
    static readonly Setting[] ReadOrder =
        [.. Settings.Where(x => x.Spec.Key != "weight_decay").SelectMany(x => x.Spec.Key == "weight_decay_mode" ? [x, Settings.First(y => y.Spec.Key == "weight_decay")] : new[] { x })];

    /// <summary>
    /// Builds the effective configuration from <paramref name="values"/> (keys as in config.json,
    /// already type-checked): each option's value or its default, then every check.
    /// </summary>
    public static TrainConfig From(JsonObject values)
    {
        var c = new TrainConfig();
        foreach (var setting in ReadOrder) c = setting.Read(c, values[setting.Spec.Key]);
        c.Validate();
        return c;
    }

    /// <summary>
    /// Each option's range in the table's order, with the rules that join options where they
    /// belong (after the option they qualify), so the first problem reported is the same for any input.
    /// </summary>
    void Validate()
    {
        foreach (var setting in Settings)
        {
            Require(setting.Check(this));
            switch (setting.Spec.Key)
            {
                case "nesterov":
                    Require(!Nesterov || (Optimizer == OptimizerKind.Sgd && Momentum > 0) ? null : "--nesterov needs --optimizer sgd with a momentum above 0");
                    break;
                case "weight_decay":
                    Require(!(Optimizer == OptimizerKind.Sgd && WeightDecayMode == DecayMode.Decoupled && WeightDecay > 0) ? null
                        : "--weight-decay-mode decoupled needs --optimizer adamw or adam (SGD's weight decay is L2, which for plain SGD is the same update)");
                    break;
                case "warmup":
                    Require(Warmup >= 0 && Warmup < Epochs ? null : $"--warmup must be at least 0 and fewer than the {Epochs} epochs; got {Warmup}");
                    break;
                case "val_split":
                    Require(!(Patience > 0 && ValSplit == 0) ? null : "--patience needs a validation split (--val-split above 0)");
                    Require(!(Schedule == ScheduleKind.Plateau && ValSplit == 0) ? null : "--schedule plateau needs a validation split (--val-split above 0)");
                    break;
            }
        }
        Require(!(Model == ModelKind.Resnet && !BatchNorm) ? null : "--no-batch-norm is not available for --model resnet: its residual blocks are built with batch norm");
        bool pretrained = Model == ModelKind.ResNet18ImageNet;
        Require(pretrained || !FreezeBackbone ? null : "--freeze-backbone needs --model resnet18-imagenet (the from-scratch presets have no pretrained backbone)");
        Require(pretrained && !FreezeBackbone || BackboneLr is null ? null
            : "--backbone-lr needs --model resnet18-imagenet without --freeze-backbone (it is the learning rate of the pretrained layers being fine-tuned)");
        Require(!pretrained || ImageSize is null || (ImageSize % 32 == 0 && ImageSize >= 64) ? null
            : $"--image-size for --model resnet18-imagenet must be a multiple of 32 from 64 up (its five stride-2 stages must divide evenly; 224 is what it was trained at); got {ImageSize}");
        Require(!pretrained || Normalize == NormalizeKind.None ? null
            : "--normalize must be none for --model resnet18-imagenet: the model applies its own ImageNet preprocessing (BGR, 0-255, the ImageNet mean image)");
        Require(!(FreezeBackbone && (Augment != AugmentKind.None || ColorJitter is not null || Erasing > 0 || Mixup > 0 || Cutmix > 0)) ? null
            : "--freeze-backbone computes each image's features once, so it cannot train on augmented images: drop --augment, --color-jitter, --erasing, --mixup and --cutmix, or fine-tune");

        static void Require(string? problem)
        {
            if (problem is not null) throw new CliException(problem);
        }
    }

    /// <summary>The four factors of <c>--color-jitter B,C,S,H</c>.</summary>
    public static (double Brightness, double Contrast, double Saturation, double Hue) ParseJitter(string text)
    {
        var parts = text.Split(',');
        var v = parts.Select(p => double.TryParse(p.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN).ToArray();
        return (v[0], v[1], v[2], v[3]);
    }

    static string? JitterError(string text)
    {
        var parts = text.Split(',');
        if (parts.Length != 4)
            return $"--color-jitter takes four numbers B,C,S,H (brightness, contrast, saturation, hue; e.g. 0.4,0.4,0.4,0.1); got '{text}'";
        var (b, c, s, h) = ParseJitter(text);
        if (new[] { b, c, s, h }.Any(double.IsNaN)) return $"--color-jitter: '{text}' is not four numbers B,C,S,H";
        if (b < 0 || c < 0 || s < 0) return $"--color-jitter: brightness, contrast and saturation must be non-negative; got '{text}'";
        if (h < 0 || h > 0.5) return $"--color-jitter: the hue shift must be in [0, 0.5]; got {Fmt(h)}";
        return b + c + s + h == 0 ? "--color-jitter 0,0,0,0 changes nothing; leave it out" : null;
    }

    static string? ThreadsError(int threads) => threads is < 1 or > 1024 ? $"--threads must be between 1 and 1024; got {threads}" : null;

    /// <summary>The range every command accepts for --threads.</summary>
    public static void CheckThreads(int threads)
    {
        if (ThreadsError(threads) is string message) throw new CliException(message);
    }

    static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>The effective configuration with every key, as config.json holds it.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var setting in Settings) json[setting.Spec.Key] = setting.Write(this);
        return json;
    }

    /// <summary>The same configuration writing its run folder to <paramref name="path"/>.</summary>
    public TrainConfig WithOut(string path) => this with { Out = path };

    /// <summary>The same configuration reading its images from <paramref name="data"/> (null: the default places).</summary>
    public TrainConfig WithData(string? data) => this with { Data = data };

    /// <summary>The largest config file read: far more than every option takes.</summary>
    public const long MaxConfigBytes = 1 << 20;

    /// <summary>Reads a JSON config file into checked values keyed as config.json keys them.</summary>
    public static JsonObject ReadFile(string path)
    {
        if (Directory.Exists(path)) throw CliException.File($"--config {path} is a folder; name a JSON file of options");
        if (!File.Exists(path)) throw CliException.File($"config file not found: {path}");
        JsonNode? root;
        var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        try
        {
            string text = BoundedFile.ReadAllText(path, MaxConfigBytes, "config");
            using (var document = JsonDocument.Parse(text, options))
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var property in document.RootElement.EnumerateObject())
                        if (!seen.Add(property.Name))
                            throw CliException.File($"{path}: the key '{property.Name}' appears twice; give each option once");
                }
            root = JsonNode.Parse(text, documentOptions: options);
        }
        catch (JsonException e)
        {
            throw CliException.File($"{path}: not valid JSON ({e.Message.Split('\n')[0]})");
        }
        catch (DataFormatException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        if (root is not JsonObject obj) throw CliException.File($"{path}: expected a JSON object of options, like {{\"epochs\": 20}}");
        var checkedValues = new JsonObject();
        foreach (var (key, value) in obj)
        {
            var spec = Array.Find(Options, o => o.Key == key)
                ?? throw CliException.File($"{path}: unknown key '{key}'{ArgParser.Suggest(key, Options.Select(o => o.Key))}");
            try
            {
                checkedValues[key] = spec.Check(value, $"{path}: '{key}'");
            }
            catch (CliException e)
            {
                throw CliException.File(e.Message); // a file's problem, not a flag's
            }
        }
        return checkedValues;
    }

    /// <summary>Overrides <paramref name="values"/> with <paramref name="overrides"/> (the flags).</summary>
    public static JsonObject Merge(JsonObject values, JsonObject overrides)
    {
        var merged = (JsonObject)values.DeepClone();
        foreach (var (k, v) in overrides) merged[k] = v?.DeepClone();
        return merged;
    }
}
