using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Vision;
using SkiaSharp;
using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

/// <summary>
/// Image folders as training data (issue 14): a colour tree made from shared/images/chelsea.png
/// (crops of odd sizes as classes, in PNG, JPEG and WebP, Unicode class names, a grey image among
/// colour ones, a truncated JPEG and a stray text file) and Fashion-MNIST written as PNGs.
/// </summary>
[Collection("Cli")]
public sealed class ImageFolderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-folder-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Decoded_images_keep_grey_bytes_exactly_and_resize_colour_to_a_centred_square()
    {
        string grey = P("g.png"), colour = P("c.png");
        var pixels = Tensor.FromArray([.. Enumerable.Range(0, 28 * 28).Select(i => (i % 256) / 255f)], 1, 28, 28);
        Image.Save(pixels, grey);
        Image.Save(Image.Load(ColourTree.ChelseaPath()), colour);
        File.WriteAllBytes(P("bad.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);

        var set = DecodedImages.Decode([(grey, 0)], 28);
        Assert.Equal(1, set.Channels);
        Assert.Equal(pixels.ToArray(), set.Get(0).Input.ToArray());

        var mixed = DecodedImages.Decode([(grey, 0), (P("bad.png"), 1), (colour, 1)], 32, threads: 2);
        Assert.Equal(3, mixed.Channels);
        Assert.Equal(2, mixed.Count);
        Assert.Equal([1, 1], new[] { mixed.ClassAt(1), mixed.Skipped.Count });
        Assert.Equal(P("bad.png"), mixed.Skipped[0].Path);
        Assert.Contains("a truncated or corrupt PNG: its header cannot be read", mixed.Skipped[0].Reason);
        Assert.Equal(new[] { 3, 32, 32 }, mixed.Get(1).Input.Shape.ToArray());
        // The grey image in a colour set: its level in the three channels.
        var g = mixed.Get(0).Input.ToArray();
        Assert.Equal(g[..1024], g[1024..2048]);
        Assert.Equal(g[..1024], g[2048..]);
        // A colour image served grey is its luma.
        var rgb = mixed.Get(1).Input.ToArray();
        var luma = mixed.WithChannels(1).Get(1).Input.ToArray();
        Assert.Equal(0.299f * rgb[100] + 0.587f * rgb[1124] + 0.114f * rgb[2148], luma[100], 2e-3f);
        // Shorter side to 32, centre crop: the 451 x 300 photo is scaled by 32/300, so the crop is its middle.
        Assert.InRange(Math.Abs(Image.Load(ColourTree.ChelseaPath()).ToArray().Average() - rgb.Average()), 0, 0.05);
    }

    [Fact]
    public void Train_eval_with_ten_crop_and_predict_on_a_colour_folder_with_a_corrupt_file()
    {
        string tree = P("colour"), run = P("run");
        int images = ColourTree.Write(tree, perClass: 8);
        var r = Run("train", "--data", tree, "--model", "cnn", "--epochs", "2", "--image-size", "32", "--batch-size", "8", "--augment", "scale",
            "--color-jitter", "0.2,0.2,0.2,0.05", "--threads", "2", "--out", run);
        Assert.True(r.Code == 0, r.Error + r.Out);
        Assert.Contains("skipped 1", r.Out);

        var summary = Json(Path.Combine(run, "summary.json"));
        var skipped = summary["skipped_files"]!.AsArray();
        Assert.Single(skipped);
        Assert.EndsWith("broken.jpg", skipped[0]!["file"]!.GetValue<string>());
        Assert.Contains("truncated", skipped[0]!["reason"]!.GetValue<string>());
        Assert.Equal(ColourTree.Classes, summary["classes"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(3, summary["channels"]!.GetValue<int>());
        Assert.Equal(32, summary["image_size"]!.GetValue<int>());

        // The split: disjoint, covering every decodable image, the test split stratified (20% of each class).
        var split = Json(Path.Combine(run, "split.json"));
        var parts = new[] { "train", "val", "test" }.Select(k => split[k]!.AsArray().Select(e => e![0]!.GetValue<string>()).ToList()).ToList();
        Assert.Equal(images, parts.Sum(p => p.Count));
        Assert.Equal(images, parts.SelectMany(p => p).Distinct().Count());
        Assert.Equal(parts[2].Count, summary["test_samples"]!.GetValue<int>());
        Assert.Equal(8, parts[2].Count); // 2 of each class: round(0.2 x 9) = round(0.2 x 8) = 2

        // eval reads the same test images back from split.json: its plain accuracy is the one train reported.
        var e = Run("eval", run, "--tta", "ten-crop", "--out", P("eval"), "--threads", "2");
        Assert.True(e.Code == 0, e.Error);
        Assert.Contains("ten-crop TTA", e.Out);
        var report = Json(P("eval/summary.json"));
        Assert.Equal(summary["test_accuracy"]!.GetValue<double>(), report["deterministic"]!["accuracy"]!.GetValue<double>(), 9);
        Assert.Equal("ten_crop_tta", report["predictor"]!.GetValue<string>());
        Assert.InRange(report["ten_crop_tta"]!["accuracy"]!.GetValue<double>(), 0, 1);

        // predict prepares a photo the run's way: its probabilities are the model's on the run's own decoding.
        string photo = parts[2][0];
        var p = Run("predict", run, photo, "--top-k", "4");
        Assert.True(p.Code == 0, p.Error);
        var saved = SavedModel.Load(run);
        var x = saved.Normalization.Apply(DecodedImages.Decode([(photo, 0)], 32).WithChannels(3).Image(0).Unsqueeze(0));
        var probs = Nabla.Training.McDropout.Deterministic(saved.Model, x).ToArray();
        int best = Array.IndexOf(probs, probs.Max());
        Assert.Contains($"{ColourTree.Classes[best]} {(100 * probs[best]).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}%", p.Out);

        var broken = Run("predict", run, Path.Combine(tree, "miroir", "broken.jpg"));
        Assert.Equal(1, broken.Code);
        Assert.Contains("broken.jpg", broken.Error);
        Assert.Single(broken.Error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Fashion_mnist_as_pngs_trains_like_the_idx_files()
    {
        Assert.Equal(0, Run("data", "export-images", "--out", P("fm"), "--data", SubsetDir, "--per-class", "20", "--threads", "2").Code);
        var r = Run("train", "--data", P("fm"), "--model", "cnn", "--epochs", "1", "--batch-size", "32", "--threads", "2", "--out", P("run"));
        Assert.True(r.Code == 0, r.Error);
        // Grey 28 x 28 PNGs: one channel at their own size, and the test/ folder is the test split.
        Assert.Contains("image folder", r.Out);
        Assert.Contains("(10 classes, 28 x 28, grey): 180 training, 20 validation, 200 test images", r.Out);
        var saved = SavedModel.Load(P("run"));
        Assert.Equal(new DataShape(1, 28, 10), saved.Shape);
        Assert.Equal(FashionMnist.Classes.Select(DataCommand.FolderName).Order(StringComparer.Ordinal), saved.Classes);
    }

    [Fact]
    public void The_pretrained_linear_probe_trains_its_head_only_and_eval_rebuilds_it()
    {
        string tree = P("colour"), run = P("probe");
        ColourTree.Write(tree, perClass: 5);
        var r = Run("train", "--data", tree, "--model", "resnet18-imagenet", "--freeze-backbone", "--image-size", "64", "--epochs", "2", "--batch-size", "4",
            "--threads", "2", "--out", run);
        Assert.True(r.Code == 0, r.Error + r.Out);
        Assert.Contains("computed the frozen backbone's 512 features", r.Out);
        var summary = Json(Path.Combine(run, "summary.json"));
        Assert.Equal(512 * 4 + 4, summary["trained_parameters"]!.GetValue<long>());
        var e = Run("eval", run, "--out", P("eval"), "--threads", "2");
        Assert.True(e.Code == 0, e.Error);
        Assert.Equal(summary["test_accuracy"]!.GetValue<double>(), Json(P("eval/summary.json"))["deterministic"]!["accuracy"]!.GetValue<double>(), 9);
    }

    [Fact]
    public void The_pretrained_models_input_and_features_are_the_packages_own()
    {
        // chelsea.png at 224: ImageNetInput on [0, 1] pixels is the package's ResNetPreprocess.onnx on 0-255 ones,
        // and the cut backbone with global pooling gives the original graph's 7x7-pooled features.
        var x = new Nabla.Vision.Transforms.Resize(224, 224).Apply(Image.Load(ColourTree.ChelseaPath()), new Generator(0)).Unsqueeze(0);
        using var noGrad = Autograd.NoGrad();
        var expectedInput = Nabla.Onnx.Pretrained.ResNet18Preprocessing().Forward(x * 255f).ToArray();
        var input = new ImageNetInput(224).Forward(x).ToArray();
        for (int i = 0; i < input.Length; i += 97) Assert.Equal(expectedInput[i], input[i], 1e-3f);

        var config = TrainConfig.From(new JsonObject { ["model"] = "resnet18-imagenet" });
        var model = Presets.Build(config, new DataShape(3, 224, 5), new Generator(0));
        model.Eval();
        var features = PretrainedModel.FeatureExtractor(model).Forward(x).ToArray();
        var expected = Nabla.Onnx.Pretrained.ResNet18ImageNet().Forward(Tensor.FromArray(expectedInput, 1, 3, 224, 224)).ToArray();
        Assert.Equal(512, features.Length);
        for (int i = 0; i < 512; i++) Assert.Equal(expected[i], features[i], Math.Max(1e-4f, 1e-4f * Math.Abs(expected[i])));

        // A grey image is its level in the three channels.
        var grey = Tensor.Rand([1, 1, 64, 64], new Generator(5));
        var a = new ImageNetInput(64).Forward(grey).ToArray();
        var b = new ImageNetInput(64).Forward(Tensor.Cat([grey, grey, grey], 1)).ToArray();
        Assert.Equal(b, a);
    }

    [Fact]
    public void Fine_tuning_gives_the_backbone_its_own_learning_rate()
    {
        ColourTree.Write(P("colour"), perClass: 5);
        var config = TrainConfig.From(new JsonObject { ["model"] = "resnet18-imagenet", ["image_size"] = 64, ["data"] = P("colour"), ["lr"] = 0.002, ["batch_size"] = 2, ["val_split"] = 0.0 });
        var session = new TrainingSession(config, RunData.Load(config));
        var backbone = PretrainedModel.Backbone(session.FullModel).Parameters().ToHashSet();
        foreach (var group in session.Optimizer.ParamGroups)
            Assert.Equal(group.Parameters.All(backbone.Contains) ? 0.0002 : 0.002, group["initial_lr"], 12);
        Assert.Equal(backbone.Count + 2, session.Optimizer.ParamGroups.Sum(g => g.Parameters.Count)); // and the head's weight and bias
        Assert.Same(session.FullModel, session.Model);
    }

    [Fact]
    public void An_interrupted_folder_run_resumes_bitwise_and_refuses_a_changed_folder()
    {
        string tree = P("colour");
        ColourTree.Write(tree, perClass: 6);
        string[] Args(string run) => ["train", "--data", tree, "--image-size", "32", "--epochs", "2", "--batch-size", "4", "--augment", "scale", "--threads", "2", "--out", run];
        Assert.Equal(0, Run(Args(P("whole"))).Code);

        using var cancel = new CancellationTokenSource();
        int reports = 0;
        var stopped = Run(p => { if (++reports == 3) cancel.Cancel(); }, cancel.Token, Args(P("resumed")));
        Assert.Equal(130, stopped.Code);
        var resumed = Run("train", "--resume", P("resumed"), "--threads", "2");
        Assert.True(resumed.Code == 0, resumed.Error);
        using (var a = Nabla.Serialization.SafeTensorsFile.Open(P("whole/model.safetensors")))
        using (var b = Nabla.Serialization.SafeTensorsFile.Open(P("resumed/model.safetensors")))
            foreach (var name in a.Names)
                Assert.Equal(a.ReadTensor(name).ToArray(), b.ReadTensor(name).ToArray());

        // Decoding interrupted: a new run leaves nothing behind.
        using var early = new CancellationTokenSource();
        early.Cancel();
        var none = Run(early.Token, Args(P("never")));
        Assert.Equal(130, none.Code);
        Assert.Contains("while decoding the images", none.Out);
        Assert.False(Directory.Exists(P("never")));

        // A run whose folder changed cannot be resumed: its test images would not be the same.
        using var third = new CancellationTokenSource();
        int seen = 0;
        Assert.Equal(130, Run(p => { if (++seen == 2) third.Cancel(); }, third.Token, Args(P("changed2"))).Code);
        File.Delete(Directory.GetFiles(Path.Combine(tree, "rouge é"))[0]);
        var refused = Run("train", "--resume", P("changed2"));
        Assert.Equal(1, refused.Code);
        Assert.Contains("are not those the run started with", refused.Error);
    }

    [Theory]
    [InlineData("one", "found one class folder ('a'); a classifier needs at least two")]
    [InlineData("empty-class", "found no valid file for the classes b in")]
    [InlineData("no-classes", "couldn't find any class folder in")]
    [InlineData("test-only", "has test/ but no train/")]
    [InlineData("stray-val", "val/c is not a class of train/ (a, b)")]
    [InlineData("all-broken", "no image of class 'b' could be decoded")]
    public void Unusable_folders_are_one_line(string layout, string expected)
    {
        string root = P(layout);
        void Png(string path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Image.Save(Tensor.Rand([1, 12, 12], new Generator(1)), path);
        }
        switch (layout)
        {
            case "one": Png(Path.Combine(root, "a", "1.png")); break;
            case "empty-class": Png(Path.Combine(root, "a", "1.png")); Directory.CreateDirectory(Path.Combine(root, "b")); break;
            case "no-classes": Png(Path.Combine(root, "1.png")); break;
            case "test-only": Png(Path.Combine(root, "test", "a", "1.png")); break;
            case "stray-val":
                foreach (var c in new[] { "a", "b" }) Png(Path.Combine(root, "train", c, "1.png"));
                Png(Path.Combine(root, "val", "c", "1.png"));
                break;
            case "all-broken":
                Png(Path.Combine(root, "a", "1.png"));
                Directory.CreateDirectory(Path.Combine(root, "b"));
                File.WriteAllText(Path.Combine(root, "b", "1.png"), "not a png");
                break;
        }
        var r = Run("train", "--data", root, "--epochs", "1", "--out", P("run-" + layout));
        Assert.Equal(1, r.Code);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("--freeze-backbone", "--freeze-backbone needs --model resnet18-imagenet")]
    [InlineData("--model resnet18-imagenet --normalize per-channel", "--normalize must be none for --model resnet18-imagenet")]
    [InlineData("--model resnet18-imagenet --image-size 100", "must be a multiple of 32 from 64 up")]
    [InlineData("--model resnet18-imagenet --freeze-backbone --augment flip-crop", "--freeze-backbone computes each image's features once")]
    [InlineData("--model resnet18-imagenet --freeze-backbone --backbone-lr 0.001", "--backbone-lr needs --model resnet18-imagenet without --freeze-backbone")]
    [InlineData("--color-jitter 0.4,0.4", "--color-jitter takes four numbers B,C,S,H")]
    [InlineData("--color-jitter 0.4,x,0,0", "is not four numbers")]
    [InlineData("--color-jitter 0,0,0,0.7", "the hue shift must be in [0, 0.5]")]
    [InlineData("--test-split 1", "--test-split must be in (0, 1)")]
    [InlineData("--image-size 4", "--image-size must be between 8 and 1024")]
    public void Contradictory_options_are_refused_before_anything_is_read(string flags, string expected)
    {
        var r = Run(["train", .. flags.Split(' '), "--data", P("nowhere"), "--out", P("never")]);
        Assert.Equal(2, r.Code);
        Assert.Contains(expected, r.Error);
        Assert.False(Directory.Exists(P("never")));
    }

    [Fact]
    public void Idx_data_refuses_what_only_image_folders_can_do()
    {
        var r = Run(Tiny(P("a"), "--model", "resnet18-imagenet"));
        Assert.Equal(2, r.Code);
        Assert.Contains("--model resnet18-imagenet needs an image folder (--data DIR)", r.Error);
        r = Run(Tiny(P("b"), "--image-size", "32"));
        Assert.Contains("Fashion-MNIST's IDX images are 28 x 28", r.Error);
    }

    [Fact]
    public void A_resolution_that_would_not_fit_in_memory_is_refused_with_one_that_would()
    {
        var e = Assert.Throws<CliException>(() => FolderData.CheckMemory(1_000_000_000, 1024));
        Assert.Matches(@"^--image-size 1024: the 1,000,000,000 images would take [0-9.]+ GiB in memory .* use --image-size \d+ or fewer images$", e.Message);
        FolderData.CheckMemory(100, 224); // 15 MB fits anywhere
    }

    [Fact]
    public void Mean_image_normalization_subtracts_each_pixels_mean_and_divides_by_the_channel_std()
    {
        var images = Tensor.FromArray([0f, 0.2f, 0.4f, 0.6f, 1f, 0.6f, 0.2f, 0.2f], 2, 1, 2, 2);
        var data = new TensorDataset(images, Tensor.FromArray([0f, 1f], 2));
        var norm = InputNormalization.Fit(NormalizeKind.MeanImage, data);
        Assert.Equal(new[] { 0.5f, 0.4f, 0.3f, 0.4f }, norm.Mean, new FloatTolerance(1e-6f));
        float std = (float)Math.Sqrt(new[] { 0, 0.2, 0.4, 0.6, 1, 0.6, 0.2, 0.2 }.Select(v => (v - 0.4) * (v - 0.4)).Average());
        Assert.Equal(std, norm.Std[0], 1e-5f);
        var y = norm.Apply(images).ToArray();
        Assert.Equal((0f - 0.5f) / std, y[0], 1e-5f);
        Assert.Equal((0.2f - 0.4f) / std, y[7], 1e-5f);
        // Each position's mean over the training images is now 0.
        for (int j = 0; j < 4; j++) Assert.Equal(0f, y[j] + y[4 + j], 1e-5f);
    }

    [Theory]
    [InlineData(224, 256, 480)]
    [InlineData(28, 32, 60)]
    [InlineData(64, 73, 137)]
    public void Scale_augmentation_draws_the_shorter_side_in_256_to_480_for_224_and_proportionally(int size, int min, int max)
    {
        var policy = (Nabla.Vision.Transforms.Compose)RunData.Policy(AugmentKind.Scale, 0, null, size)!;
        var resize = Assert.IsType<Nabla.Vision.Transforms.RandomResize>(policy.Transforms[0]);
        Assert.Equal((min, max), (resize.MinSize, resize.MaxSize));
        var crop = Assert.IsType<Nabla.Vision.Transforms.RandomCrop>(policy.Transforms[1]);
        Assert.Equal((size, size), (crop.Height, crop.Width));
        Assert.IsType<Nabla.Vision.Transforms.HorizontalFlip>(policy.Transforms[2]);
        var image = Tensor.Rand([3, size, size], new Generator(2));
        Assert.Equal(new[] { 3, size, size }, policy.Apply(image, new Generator(3)).Shape.ToArray());
    }

    [Theory]
    [InlineData("randaugment")]
    [InlineData("trivialaugment")]
    [InlineData("resized-crop")]
    public void Colour_policies_keep_colour_images_their_shape_and_change_them(string augment)
    {
        var policy = RunData.Policy(TrainConfig.AugmentWords.Parse(augment), 0, null, 48, colorJitter: "0.4,0.4,0.4,0.1")!;
        var image = new Nabla.Vision.Transforms.Resize(48, 48).Apply(Image.Load(ColourTree.ChelseaPath()), new Generator(0));
        var changed = 0;
        for (int seed = 0; seed < 4; seed++)
        {
            var y = policy.Apply(image, new Generator((ulong)seed));
            Assert.Equal(new[] { 3, 48, 48 }, y.Shape.ToArray());
            Assert.All(y.ToArray(), v => Assert.InRange(v, 0f, 1f));
            if (!y.ToArray().SequenceEqual(image.ToArray())) changed++;
        }
        Assert.Equal(4, changed);
    }

    [Fact]
    public void Mean_image_normalization_is_saved_with_the_model_and_applied_by_eval()
    {
        string tree = P("colour"), run = P("mean-image");
        ColourTree.Write(tree, perClass: 6);
        var r = Run("train", "--data", tree, "--image-size", "24", "--normalize", "mean-image", "--epochs", "1", "--batch-size", "4", "--threads", "2", "--out", run);
        Assert.True(r.Code == 0, r.Error);
        var saved = SavedModel.Load(run);
        Assert.Equal(NormalizeKind.MeanImage, saved.Normalization.Kind);
        Assert.Equal(3 * 24 * 24, saved.Normalization.Mean.Length);
        Assert.Equal(3, saved.Normalization.Std.Length);
        var e = Run("eval", run, "--out", P("eval"), "--threads", "2");
        Assert.True(e.Code == 0, e.Error);
        Assert.Equal(Json(Path.Combine(run, "summary.json"))["test_accuracy"]!.GetValue<double>(), Json(P("eval/summary.json"))["accuracy"]!.GetValue<double>(), 9);
    }

    sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;

        public int GetHashCode(float v) => 0;
    }
}
