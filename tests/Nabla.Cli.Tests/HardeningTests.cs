using CsCheck;
using Nabla.Serialization;
using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

/// <summary>
/// Issue 15's reproductions: inputs a hostile new user gives get exit 1 or 2 and one accurate line,
/// never a crash, an out-of-memory or a NaN printed as a probability.
/// </summary>
[Collection("Cli")]
public sealed class HardeningTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-hard-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    static void OneLine(Outcome r, int code, string expected)
    {
        Assert.Equal(code, r.Code);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd('\n').Split('\n'));
    }

    string TrainedRun()
    {
        string run = P("run");
        if (!Directory.Exists(run)) Assert.Equal(0, Run(Tiny(run, "--epochs", "1")).Code);
        return run;
    }

    /// <summary>A copy of the run's model with <paramref name="change"/> applied to its tensors and metadata.</summary>
    string Tampered(string name, Action<Dictionary<string, Tensor>, Dictionary<string, string>> change)
    {
        string path = P(name + ".safetensors");
        using var file = SafeTensorsFile.Open(Path.Combine(TrainedRun(), "model.safetensors"));
        var tensors = file.Names.ToDictionary(n => n, file.ReadTensor);
        var meta = file.Metadata.ToDictionary();
        change(tensors, meta);
        SafeTensors.Save(path, tensors.ToList(), meta);
        return path;
    }

    [Fact]
    public void A_config_file_with_a_key_twice_is_one_line()
    {
        File.WriteAllText(P("dup.json"), """{"epochs": 1, "epochs": 2}""");
        OneLine(Run("train", "--config", P("dup.json"), "--out", P("x")), 1, "the key 'epochs' appears twice");
        Assert.False(Directory.Exists(P("x")));
    }

    [Fact]
    public void Files_that_never_end_or_are_folders_are_refused_before_they_fill_memory()
    {
        OneLine(Run("train", "--config", "/dev/zero", "--out", P("x")), 1, "it holds more than 1,048,576 bytes, the most config files may hold");
        OneLine(Run("train", "--config", _dir, "--out", P("x")), 1, "is a folder; name a JSON file of options");
        string run = TrainedRun();
        OneLine(Run("predict", run, "/dev/zero"), 1, "bytes, the most image files may hold (a device, or a file that does not end?)");
        Directory.CreateDirectory(P("photo.png"));
        OneLine(Run("predict", run, P("photo.png")), 1, "is a folder, not an image file");
    }

    [Fact]
    public void A_truncated_jpeg_is_called_one()
    {
        using (var bitmap = new SkiaSharp.SKBitmap(64, 48))
        using (var f = File.Create(P("full.jpg")))
            bitmap.Encode(f, SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(P("cut.jpg"), File.ReadAllBytes(P("full.jpg"))[..20]);
        OneLine(Run("predict", TrainedRun(), P("cut.jpg")), 1, "a truncated or corrupt JPEG: its header cannot be read");
    }

    [Fact]
    public void Weights_holding_nan_are_one_error_for_eval_predict_and_ensembles()
    {
        string nan = Tampered("nan", (t, _) =>
        {
            var first = t.Keys.First();
            var values = t[first].ToArray();
            values[0] = float.NaN;
            t[first] = Tensor.FromArray(values, [.. t[first].Shape]);
        });
        const string expected = "the weights hold NaN or infinite values";
        OneLine(Run("eval", nan, "--data", SubsetDir), 1, expected);
        string image = P("a.png");
        Nabla.Vision.Image.Save(Tensor.Rand([1, 28, 28], new Generator(0)), image);
        OneLine(Run("predict", nan, image), 1, expected);
        OneLine(Run("ensemble", "eval", nan, nan, "--data", SubsetDir, "--out", P("ens")), 1, expected);
    }

    [Fact]
    public void Metadata_that_disagrees_with_the_weights_is_refused_before_the_model_is_built()
    {
        string wide = Tampered("wide", (_, meta) => meta["config"] = meta["config"].Replace("\"width\":1", "\"width\":64", StringComparison.Ordinal));
        OneLine(Run("eval", wide, "--data", SubsetDir), 1, "the metadata describes a mlp whose '1.weight' is [32768, 784], but the file's is [512, 784]: metadata and weights disagree");
    }

    [Fact]
    public void A_run_folder_in_use_is_refused_for_a_new_run_and_for_resume()
    {
        Directory.CreateDirectory(P("busy"));
        using (new FileStream(Path.Combine(P("busy"), RunFolder.LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            OneLine(Run(Tiny(P("busy"))), 1, "is in use by another nabla command");
        Assert.False(File.Exists(Path.Combine(P("busy"), "config.json")));

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Equal(130, Run(cancel.Token, Tiny(P("paused"))).Code);
        using (new FileStream(Path.Combine(P("paused"), RunFolder.LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
            OneLine(Run("train", "--resume", P("paused")), 1, "is in use by another nabla command");
        // Released: the run goes on, and the lock file goes with the command.
        Assert.Equal(0, Run("train", "--resume", P("paused")).Code);
        Assert.False(File.Exists(Path.Combine(P("paused"), RunFolder.LockName)));
    }

    [Fact]
    public void A_folder_holding_the_users_files_is_never_written_into()
    {
        Directory.CreateDirectory(P("mine"));
        File.WriteAllText(Path.Combine(P("mine"), "metrics.csv"), "my own numbers");
        OneLine(Run(Tiny(P("mine"))), 1, "holds other files ('metrics.csv'); nabla train writes a run only into a new or empty folder");
        Assert.Equal("my own numbers", File.ReadAllText(Path.Combine(P("mine"), "metrics.csv")));
        Assert.Single(Directory.GetFileSystemEntries(P("mine")));
    }

    [Fact]
    public void A_failed_start_leaves_no_folder_behind()
    {
        Directory.CreateDirectory(P("bad-idx"));
        File.WriteAllBytes(Path.Combine(P("bad-idx"), "train-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0]);
        File.WriteAllBytes(Path.Combine(P("bad-idx"), "train-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0]);
        var r = Run(Tiny(P("never"), "--data", P("bad-idx")));
        Assert.Equal(1, r.Code);
        Assert.False(Directory.Exists(P("never")));

        // A run whose first files cannot be written removes what it wrote and the folder it made.
        var run = RunFolder.ForNew(P("abandoned"));
        using (run.BeginNew()) RunFolder.WriteJson(run.Config, new System.Text.Json.Nodes.JsonObject());
        run.AbandonNew();
        Assert.False(Directory.Exists(P("abandoned")));
    }

    [Fact]
    public void Resume_removes_the_temporary_files_a_killed_command_left()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Equal(130, Run(cancel.Token, Tiny(P("killed"))).Code);
        string ours = Path.Combine(P("killed"), $".best.safetensors.{Guid.NewGuid():N}.tmp");
        string ours2 = Path.Combine(P("killed"), $"loss.png.{Environment.ProcessId}-{Guid.NewGuid():N}.png");
        string theirs = Path.Combine(P("killed"), "notes.tmp");
        foreach (var f in new[] { ours, ours2, theirs }) File.WriteAllText(f, "x");
        Assert.Equal(0, Run("train", "--resume", P("killed")).Code);
        Assert.False(File.Exists(ours));
        Assert.False(File.Exists(ours2));
        Assert.True(File.Exists(theirs));
    }

    [Fact]
    public void An_ensemble_continued_with_other_options_is_refused_naming_the_difference()
    {
        string[] Args(string model) => ["ensemble", "train", "--members", "1", "--model", model, "--train-samples", "300", "--epochs", "1", "--batch-size", "32",
            "--data", SubsetDir, "--out", P("ens")];
        Assert.Equal(0, Run(Args("mlp")).Code);
        OneLine(Run(Args("cnn")), 1, "holds members trained with --model mlp; this command asks for cnn");
        var again = Run(Args("mlp"));
        Assert.Equal(0, again.Code);
        Assert.Contains("finished before; skipped", again.Out);
    }

    [Theory]
    [InlineData("cnn")]
    [InlineData("vgg")]
    [InlineData("mlp")]
    [InlineData("resnet")]
    public void The_size_computed_before_building_is_the_built_models(string model)
    {
        foreach (var shape in new[] { new DataShape(1, 28, 10), new DataShape(3, 64, 4), new DataShape(3, 40, 7), new DataShape(1, 16, 3) })
            foreach (int width in new[] { 1, 2 })
                foreach (bool bn in new[] { true, false })
                {
                    if (model == "resnet" && !bn) continue;
                    var c = TrainConfig.From(new System.Text.Json.Nodes.JsonObject { ["model"] = model, ["width"] = width, ["batch_norm"] = bn });
                    var built = Presets.Build(c, shape, new Generator(0));
                    var (parameters, largest) = Presets.Size(c, shape);
                    Assert.Equal(built.ParameterCount(), parameters);
                    Assert.Equal(built.Parameters().Max(p => (long)p.Numel), largest);
                }
    }

    [Fact]
    public void A_model_too_large_to_build_is_one_line_before_anything_is_allocated()
    {
        OneLine(Run(Tiny(P("huge"), "--model", "cnn", "--width", "64")), 2,
            "--model cnn --width 64 on 1 x 28 x 28 images makes 3.4 billion parameters, one layer alone 3.3 billion weights, more than a tensor holds (2^31 - 1); use a smaller --width");
        Assert.False(Directory.Exists(P("huge")));
    }

    [Fact]
    public void Augment_refuses_a_folder_and_an_existing_file_unless_forced()
    {
        OneLine(Run("augment", "--data", SubsetDir, "--out", _dir), 1, "is a folder; name the PNG file to write");
        File.WriteAllText(P("keep.png"), "mine");
        OneLine(Run("augment", "--data", SubsetDir, "--out", P("keep.png")), 1, "exists; choose another file, or add --force to replace it");
        Assert.Equal("mine", File.ReadAllText(P("keep.png")));
        Assert.Equal(0, Run("augment", "--data", SubsetDir, "--out", P("keep.png"), "--force").Code);
        Assert.Equal(0x89, File.ReadAllBytes(P("keep.png"))[0]);
        Assert.Single(Directory.GetFiles(_dir, "keep.png*"));
    }

    [Fact]
    public void A_bad_value_in_a_saved_config_is_named_as_the_files_on_resume()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Equal(130, Run(cancel.Token, Tiny(P("edited"))).Code);
        string config = Path.Combine(P("edited"), "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"lr\": 0.003", "\"lr\": -1", StringComparison.Ordinal));
        OneLine(Run("train", "--resume", P("edited")), 1, $"--resume: {config}: --lr must be positive and at most 10; got -1 (the run's saved configuration was edited or is corrupt)");
    }

    [Fact]
    public void Write_errors_name_the_file_asked_for_not_our_temporary_one()
    {
        string target = P("model.safetensors");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(target, tmp => throw new IOException($"No space left on device : '{tmp}'")));
        Assert.Equal($"No space left on device : '{target}'", e.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Resuming_from_any_interrupt_point_equals_the_uninterrupted_run()
    {
        string[] Args(string run) => Tiny(run, "--augment", "flip-crop", "--dropout", "0.3");
        Assert.Equal(0, Run(Args(P("whole"))).Code);
        using var whole = SafeTensorsFile.Open(Path.Combine(P("whole"), "model.safetensors"));
        int attempt = 0;
        Gen.Int[1, 7].Sample(stopAt =>
        {
            string run = P($"stopped-{attempt++}");
            using var cancel = new CancellationTokenSource();
            int reports = 0;
            Assert.Equal(130, Run(_ => { if (++reports == stopAt) cancel.Cancel(); }, cancel.Token, Args(run)).Code);
            Assert.Equal(0, Run("train", "--resume", run).Code);
            using var resumed = SafeTensorsFile.Open(Path.Combine(run, "model.safetensors"));
            foreach (var name in whole.Names) Assert.Equal(whole.ReadTensor(name).ToArray(), resumed.ReadTensor(name).ToArray());
        }, iter: 4, threads: 1);
    }

    [Fact]
    public async Task Two_trainings_into_one_folder_at_once_leave_one_whole_run()
    {
        var runs = new[] { "1", "2" }.Select(seed => Task.Run(() => Run(Tiny(P("same"), "--seed", seed, "--epochs", "1")))).ToArray();
        var outcomes = (await Task.WhenAll(runs)).OrderBy(r => r.Code).ToArray();
        Assert.Equal([0, 1], outcomes.Select(r => r.Code));
        Assert.Matches("is in use by another nabla command|already holds a run", outcomes[1].Error);
        // The folder's config and its weights are the same run's.
        using var model = SafeTensorsFile.Open(Path.Combine(P("same"), "model.safetensors"));
        var saved = System.Text.Json.Nodes.JsonNode.Parse(model.Metadata["config"])!["seed"]!.GetValue<int>();
        Assert.Equal(saved, Json(Path.Combine(P("same"), "config.json"))["seed"]!.GetValue<int>());
    }
}
