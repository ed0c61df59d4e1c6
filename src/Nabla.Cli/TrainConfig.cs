using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nabla.Cli;

/// <summary>
/// Everything that defines a training run. Values come from the defaults, then a JSON config file
/// (<c>--config</c>), then the flags, each overriding the one before; the effective configuration
/// is printed and saved as the run folder's <c>config.json</c>, which <c>--config</c> and
/// <c>--resume</c> read back.
/// </summary>
internal sealed class TrainConfig
{
    public static readonly string[] Models = ["cnn", "vgg", "mlp", "resnet"];
    public static readonly string[] Optimizers = ["adamw", "adam", "sgd"];
    public static readonly string[] Schedules = ["cosine", "onecycle", "step", "plateau", "none"];
    public static readonly string[] Inits = ["kaiming", "xavier", "default"];
    public static readonly string[] Augments = ["none", "crop", "flip-crop", "randaugment", "trivialaugment"];
    public static readonly string[] DecayModes = ["decoupled", "l2"];

    /// <summary>The options of <c>nabla train</c>, in the order help and config.json show them.</summary>
    public static readonly OptionSpec[] Options =
    [
        new("--model", OptionKind.Choice, "model preset: cnn (two conv blocks), vgg (two convolutions per block), mlp (784-512-256-10), resnet (ResNet-8)", Models),
        new("--width", OptionKind.Int, "multiply every layer's channels or units by this (default 1)"),
        new("--epochs", OptionKind.Int, "epochs to train (default 10)"),
        new("--batch-size", OptionKind.Int, "samples per batch (default 128)"),
        new("--optimizer", OptionKind.Choice, "optimizer (default adamw)", Optimizers),
        new("--lr", OptionKind.Number, "peak learning rate (default 1e-3 for adam/adamw, 0.05 for sgd)"),
        new("--momentum", OptionKind.Number, "SGD momentum (default 0.9)"),
        new("--nesterov", OptionKind.Switch, "Nesterov momentum for SGD (default off)"),
        new("--weight-decay", OptionKind.Number, "weight decay (default 0.01 decoupled, 5e-4 as L2 for sgd, 0 for adam); biases and norm weights are never decayed"),
        new("--weight-decay-mode", OptionKind.Choice, "decoupled (AdamW's rule) or l2 (added to the gradient); default decoupled for adamw, l2 otherwise", DecayModes),
        new("--schedule", OptionKind.Choice, "learning-rate schedule (default cosine, per step)", Schedules),
        new("--warmup", OptionKind.Int, "epochs of linear warm-up before the schedule (default 0)"),
        new("--lr-step", OptionKind.Int, "epochs between decays for --schedule step (default a third of the epochs)"),
        new("--lr-gamma", OptionKind.Number, "decay factor for --schedule step and plateau (default 0.1)"),
        new("--init", OptionKind.Choice, "weight initialization: kaiming (He, for ReLU), xavier (Glorot), default (PyTorch's)", Inits),
        new("--dropout", OptionKind.Number, "dropout probability before each classifier layer (default 0.25; 0 turns it off)"),
        new("--batch-norm", OptionKind.Switch, "batch normalization after each convolution or hidden layer (default on; --no-batch-norm)"),
        new("--augment", OptionKind.Choice, "augmentation policy: none, crop (random 28x28 crop of the image padded by 2 pixels), flip-crop (crop and horizontal flip), randaugment or trivialaugment (flip-crop plus the policy)", Augments),
        new("--erasing", OptionKind.Number, "probability of random erasing after augmentation (default 0)"),
        new("--mixup", OptionKind.Number, "MixUp: blend each batch's images and labels with lam ~ Beta(alpha, alpha); this is alpha (default 0: off; 0.2 is usual)"),
        new("--cutmix", OptionKind.Number, "CutMix: paste a box of another image with its share of the label, Beta(alpha, alpha); this is alpha (default 0: off; 1 is usual); with --mixup, each batch picks one"),
        new("--label-smoothing", OptionKind.Number, "cross-entropy label smoothing (default 0)"),
        new("--clip-grad", OptionKind.Number, "clip the gradients' global norm to this (default off)"),
        new("--patience", OptionKind.Int, "early stopping: epochs without a better validation loss before stopping, best weights restored (default 0: off)"),
        new("--min-delta", OptionKind.Number, "early stopping: the smallest change that counts as better (default 0)"),
        new("--val-split", OptionKind.Number, "fraction of the training split held out for validation, stratified (default 0.1)"),
        new("--bootstrap", OptionKind.Switch, "train on a bootstrap resample of the training set (as many draws with replacement; bagging)"),
        new("--train-samples", OptionKind.Int, "train on this many samples of the training split (stratified; default all)"),
        new("--seed", OptionKind.Int, "seed of every random stream (default 0)"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
        new("--workers", OptionKind.Int, "background threads preparing batches (default 0, or 1 with augmentation)"),
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files, raw or .gz (default NABLA_DATA_DIR, then /usr/share/datasets/fashion-mnist, then the embedded subset)"),
        new("--out", OptionKind.Path, "run folder to write (default runs/<date>-<time>-<model>)"),
    ];

    public string Model { get; private set; } = "cnn";
    public int Width { get; private set; } = 1;
    public int Epochs { get; private set; } = 10;
    public int BatchSize { get; private set; } = 128;
    public string Optimizer { get; private set; } = "adamw";
    public double Lr { get; private set; }
    public double Momentum { get; private set; } = 0.9;
    public bool Nesterov { get; private set; }
    public double WeightDecay { get; private set; }
    public string WeightDecayMode { get; private set; } = "decoupled";
    public string Schedule { get; private set; } = "cosine";
    public int Warmup { get; private set; }
    public int LrStep { get; private set; }
    public double LrGamma { get; private set; } = 0.1;
    public string Init { get; private set; } = "kaiming";
    public double Dropout { get; private set; } = 0.25;
    public bool BatchNorm { get; private set; } = true;
    public string Augment { get; private set; } = "none";
    public double Erasing { get; private set; }
    public double Mixup { get; private set; }
    public double Cutmix { get; private set; }
    public double LabelSmoothing { get; private set; }
    public double? ClipGrad { get; private set; }
    public int Patience { get; private set; }
    public double MinDelta { get; private set; }
    public double ValSplit { get; private set; } = 0.1;
    public bool Bootstrap { get; private set; }
    public int? TrainSamples { get; private set; }
    public int Seed { get; private set; }
    public int Threads { get; private set; }
    public int Workers { get; private set; }
    public string? Data { get; private set; }
    public string? Out { get; private set; }

    /// <summary>
    /// Builds the effective configuration from <paramref name="values"/> (keys as in config.json,
    /// already type-checked), filling what is absent or null with the defaults, and checks ranges.
    /// </summary>
    public static TrainConfig From(JsonObject values)
    {
        var c = new TrainConfig();
        string? S(string k) => values[k]?.GetValue<string>();
        int? I(string k) => values[k]?.GetValue<int>();
        double? D(string k) => values[k]?.GetValue<double>();
        bool? B(string k) => values[k]?.GetValue<bool>();

        c.Model = S("model") ?? c.Model;
        c.Width = I("width") ?? c.Width;
        c.Epochs = I("epochs") ?? c.Epochs;
        c.BatchSize = I("batch_size") ?? c.BatchSize;
        c.Optimizer = S("optimizer") ?? c.Optimizer;
        c.Lr = D("lr") ?? (c.Optimizer == "sgd" ? 0.05 : 1e-3);
        c.Momentum = D("momentum") ?? c.Momentum;
        c.Nesterov = B("nesterov") ?? false;
        c.WeightDecayMode = S("weight_decay_mode") ?? (c.Optimizer == "adamw" ? "decoupled" : "l2");
        c.WeightDecay = D("weight_decay") ?? (c.WeightDecayMode == "decoupled" ? 0.01 : c.Optimizer == "sgd" ? 5e-4 : 0);
        c.Schedule = S("schedule") ?? c.Schedule;
        c.Warmup = I("warmup") ?? 0;
        c.LrStep = I("lr_step") ?? Math.Max(1, c.Epochs / 3);
        c.LrGamma = D("lr_gamma") ?? c.LrGamma;
        c.Init = S("init") ?? c.Init;
        c.Dropout = D("dropout") ?? c.Dropout;
        c.BatchNorm = B("batch_norm") ?? c.BatchNorm;
        c.Augment = S("augment") ?? c.Augment;
        c.Erasing = D("erasing") ?? 0;
        c.Mixup = D("mixup") ?? 0;
        c.Cutmix = D("cutmix") ?? 0;
        c.LabelSmoothing = D("label_smoothing") ?? 0;
        c.ClipGrad = D("clip_grad");
        c.Patience = I("patience") ?? 0;
        c.MinDelta = D("min_delta") ?? 0;
        c.ValSplit = D("val_split") ?? c.ValSplit;
        c.Bootstrap = B("bootstrap") ?? false;
        c.TrainSamples = I("train_samples");
        c.Seed = I("seed") ?? 0;
        c.Threads = I("threads") ?? Threading.NumThreads; // NABLA_NUM_THREADS or the processor count
        c.Workers = I("workers") ?? (c.Augment == "none" && c.Erasing == 0 ? 0 : 1);
        c.Data = S("data");
        c.Out = S("out");
        c.Validate();
        return c;
    }

    void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok) throw new CliException(message);
        }
        Require(Width >= 1 && Width <= 64, $"--width must be between 1 and 64; got {Width}");
        Require(Epochs >= 1, $"--epochs must be at least 1; got {Epochs}");
        Require(BatchSize >= 1 && BatchSize <= 65536, $"--batch-size must be between 1 and 65536; got {BatchSize}");
        Require(Lr > 0 && Lr <= 10, $"--lr must be positive and at most 10; got {Fmt(Lr)}");
        Require(Momentum >= 0 && Momentum < 1, $"--momentum must be in [0, 1); got {Fmt(Momentum)}");
        Require(!Nesterov || (Optimizer == "sgd" && Momentum > 0), "--nesterov needs --optimizer sgd with a momentum above 0");
        Require(WeightDecay >= 0, $"--weight-decay must be non-negative; got {Fmt(WeightDecay)}");
        Require(!(Optimizer == "sgd" && WeightDecayMode == "decoupled" && WeightDecay > 0),
            "--weight-decay-mode decoupled needs --optimizer adamw or adam (SGD's weight decay is L2, which for plain SGD is the same update)");
        Require(Warmup >= 0 && Warmup < Epochs, $"--warmup must be at least 0 and fewer than the {Epochs} epochs; got {Warmup}");
        Require(LrStep >= 1, $"--lr-step must be at least 1; got {LrStep}");
        Require(LrGamma > 0 && LrGamma <= 1, $"--lr-gamma must be in (0, 1]; got {Fmt(LrGamma)}");
        Require(Dropout >= 0 && Dropout < 1, $"--dropout must be in [0, 1); got {Fmt(Dropout)}");
        Require(Erasing >= 0 && Erasing <= 1, $"--erasing must be a probability in [0, 1]; got {Fmt(Erasing)}");
        Require(Mixup >= 0 && Mixup <= 100, $"--mixup must be an alpha in [0, 100] (0 turns it off); got {Fmt(Mixup)}");
        Require(Cutmix >= 0 && Cutmix <= 100, $"--cutmix must be an alpha in [0, 100] (0 turns it off); got {Fmt(Cutmix)}");
        Require(LabelSmoothing >= 0 && LabelSmoothing <= 1, $"--label-smoothing must be in [0, 1]; got {Fmt(LabelSmoothing)}");
        Require(ClipGrad is null || ClipGrad > 0, $"--clip-grad must be positive; got {Fmt(ClipGrad ?? 0)}");
        Require(Patience >= 0, $"--patience must be at least 0 (0 turns early stopping off); got {Patience}");
        Require(MinDelta >= 0, $"--min-delta must be non-negative; got {Fmt(MinDelta)}");
        Require(ValSplit >= 0 && ValSplit < 1, $"--val-split must be in [0, 1); got {Fmt(ValSplit)}");
        Require(!(Patience > 0 && ValSplit == 0), "--patience needs a validation split (--val-split above 0)");
        Require(!(Schedule == "plateau" && ValSplit == 0), "--schedule plateau needs a validation split (--val-split above 0)");
        Require(TrainSamples is null || TrainSamples >= 10, $"--train-samples must be at least 10; got {TrainSamples}");
        Require(Seed >= 0, $"--seed must be non-negative; got {Seed}");
        CheckThreads(Threads);
        Require(Workers >= 0 && Workers <= 64, $"--workers must be between 0 and 64; got {Workers}");
        Require(!(Model == "resnet" && !BatchNorm), "--no-batch-norm is not available for --model resnet: its residual blocks are built with batch norm");
    }

    /// <summary>The range every command accepts for --threads.</summary>
    public static void CheckThreads(int threads)
    {
        if (threads < 1 || threads > 1024) throw new CliException($"--threads must be between 1 and 1024; got {threads}");
    }

    static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>The effective configuration with every key, as config.json holds it.</summary>
    public JsonObject ToJson() => new()
    {
        ["model"] = Model,
        ["width"] = Width,
        ["epochs"] = Epochs,
        ["batch_size"] = BatchSize,
        ["optimizer"] = Optimizer,
        ["lr"] = Lr,
        ["momentum"] = Momentum,
        ["nesterov"] = Nesterov,
        ["weight_decay"] = WeightDecay,
        ["weight_decay_mode"] = WeightDecayMode,
        ["schedule"] = Schedule,
        ["warmup"] = Warmup,
        ["lr_step"] = LrStep,
        ["lr_gamma"] = LrGamma,
        ["init"] = Init,
        ["dropout"] = Dropout,
        ["batch_norm"] = BatchNorm,
        ["augment"] = Augment,
        ["erasing"] = Erasing,
        ["mixup"] = Mixup,
        ["cutmix"] = Cutmix,
        ["label_smoothing"] = LabelSmoothing,
        ["clip_grad"] = ClipGrad,
        ["patience"] = Patience,
        ["min_delta"] = MinDelta,
        ["val_split"] = ValSplit,
        ["bootstrap"] = Bootstrap,
        ["train_samples"] = TrainSamples,
        ["seed"] = Seed,
        ["threads"] = Threads,
        ["workers"] = Workers,
        ["data"] = Data,
        ["out"] = Out,
    };

    /// <summary>The same configuration writing its run folder to <paramref name="path"/>.</summary>
    public TrainConfig WithOut(string path)
    {
        var copy = (TrainConfig)MemberwiseClone();
        copy.Out = path;
        return copy;
    }

    /// <summary>The same configuration reading its images from <paramref name="data"/> (null: the default places).</summary>
    public TrainConfig WithData(string? data)
    {
        var json = ToJson();
        json["data"] = data;
        return From(json);
    }

    /// <summary>Reads a JSON config file into checked values keyed as config.json keys them.</summary>
    public static JsonObject ReadFile(string path)
    {
        if (!File.Exists(path)) throw CliException.File($"config file not found: {path}");
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw CliException.File($"{path}: not valid JSON ({e.Message.Split('\n')[0]})");
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
