using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Cli;

/// <summary>
/// A trained model as a run folder keeps it: <c>model.safetensors</c> holds the state dict under
/// PyTorch's key names (it loads in PyTorch with <c>safetensors.torch.load_file</c>), and, in its
/// metadata, the configuration that built the model, the input normalization fitted on its training
/// set, the images' channels and size, the class names, and whether it was trained on an image folder
/// — everything <c>nabla eval</c> and <c>nabla predict</c> need. Files saved before image folders
/// existed (no <c>normalize</c> key) are Fashion-MNIST models: per-channel, 1 x 28 x 28, 10 classes.
/// </summary>
internal sealed record SavedModel(Sequential Model, TrainConfig Config, InputNormalization Normalization, DataShape Shape, IReadOnlyList<string> Classes, bool FromFolder)
{
    public const string FileName = "model.safetensors";

    /// <summary>The per-channel statistics (of a per-channel model).</summary>
    public ChannelStats Stats => Normalization.Channels;

    public static void Save(string path, Module model, TrainConfig config, RunData data)
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = "nabla.model.v1",
            ["config"] = config.ToJson().ToJsonString(),
            ["normalize"] = TrainConfig.NormalizeWords.Of(data.Normalization.Kind),
            ["mean"] = Floats(data.Normalization.Mean),
            ["std"] = Floats(data.Normalization.Std),
            ["channels"] = data.Shape.Channels.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["image_size"] = data.Shape.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["data"] = data.Split is null ? "idx" : "folder",
            ["classes"] = new JsonArray([.. data.Classes.Select(c => (JsonNode)c)]).ToJsonString(),
        };
        SafeTensors.Save(path, model.StateDict(), meta);
    }

    static string Floats(float[] values) => new JsonArray([.. values.Select(v => (JsonNode)v)]).ToJsonString();

    /// <summary>Loads a model from a run folder or a model file; every problem is a one-line <see cref="CliException"/>.</summary>
    public static SavedModel Load(string runOrFile)
    {
        string path = Directory.Exists(runOrFile) ? Path.Combine(runOrFile, FileName) : runOrFile;
        if (!File.Exists(path))
            throw CliException.File(Directory.Exists(runOrFile)
                ? $"{runOrFile} holds no {FileName}: not a finished run folder (an interrupted run continues with nabla train --resume {runOrFile})"
                : $"run folder or model file not found: {runOrFile}");
        try
        {
            using var file = SafeTensorsFile.Open(path);
            var meta = file.Metadata;
            if (!meta.TryGetValue("format", out var format) || format != "nabla.model.v1")
                throw CliException.File($"{path}: not a model saved by nabla train (metadata 'format' is '{format ?? "missing"}')");
            var configJson = JsonNode.Parse(Required(meta, "config", path)) as JsonObject
                ?? throw CliException.File($"{path}: metadata 'config' is not a JSON object");
            var values = new JsonObject();
            foreach (var (key, value) in configJson)
            {
                var spec = Array.Find(TrainConfig.Options, o => o.Key == key)
                    ?? throw CliException.File($"{path}: metadata 'config' has an unknown key '{key}'");
                values[key] = spec.Check(value, $"{path}: config '{key}'");
            }
            values["threads"] = null; // this machine's default, not the training machine's
            var config = TrainConfig.From(values);
            var mean = ReadFloats(meta, "mean", path);
            var std = ReadFloats(meta, "std", path);
            var classes = JsonNode.Parse(Required(meta, "classes", path)) is JsonArray names && names.All(n => n is JsonValue v && v.TryGetValue(out string? _))
                ? names.Select(n => n!.GetValue<string>()).ToArray()
                : throw CliException.File($"{path}: metadata 'classes' is not a list of class names");
            if (classes.Length < 2 || classes.Distinct().Count() != classes.Length)
                throw CliException.File($"{path}: metadata 'classes' must name at least two distinct classes; got {classes.Length}");
            bool legacy = !meta.ContainsKey("normalize");
            var kind = legacy ? NormalizeKind.PerChannel
                : TrainConfig.NormalizeWords.All.Contains(meta["normalize"]) ? TrainConfig.NormalizeWords.Parse(meta["normalize"])
                : throw CliException.File($"{path}: metadata 'normalize' is '{meta["normalize"]}'; expected one of {string.Join(", ", TrainConfig.NormalizeWords.All)}");
            int channels = legacy ? 1 : ReadInt(meta, "channels", path, 1, 3), size = legacy ? 28 : ReadInt(meta, "image_size", path, 8, 1024);
            if (channels == 2) throw CliException.File($"{path}: metadata 'channels' must be 1 or 3; got 2");
            int meanLength = kind switch { NormalizeKind.None => 0, NormalizeKind.PerChannel => channels, _ => channels * size * size };
            if (mean.Length != meanLength || std.Length != (kind == NormalizeKind.None ? 0 : channels) || !std.All(v => v > 0 && float.IsFinite(v)) || !mean.All(float.IsFinite))
                throw CliException.File($"{path}: metadata 'mean' and 'std' do not fit {TrainConfig.NormalizeWords.Of(kind)} normalization of {channels}-channel images " +
                                        $"({meanLength} and {(kind == NormalizeKind.None ? 0 : channels)} finite values, std > 0; got {mean.Length} and {std.Length})");
            var shape = new DataShape(channels, size, classes.Length);
            // The metadata says what to build; check it against the tensors' shapes first, so a tampered
            // width or size cannot make us allocate a huge model before the weights are looked at.
            if (FirstWeight(config, shape) is var (first, dims) && !(file.Contains(first) && file.Shape(first).SequenceEqual(dims)))
                throw CliException.File($"{path}: the metadata describes a {TrainConfig.ModelWords.Of(config.Model)} whose '{first}' is [{string.Join(", ", dims)}], " +
                                        $"but the file's is {(file.Contains(first) ? $"[{string.Join(", ", file.Shape(first))}]" : "missing")}: metadata and weights disagree");
            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in file.Names)
            {
                var t = file.ReadTensor(name);
                if (!CommandShared.AllFinite(t.Data))
                    throw CliException.File($"{path}: the weights hold NaN or infinite values (in '{name}'): the model cannot predict; was its training diverging?");
                state[name] = t;
            }
            var model = Presets.Build(config, shape, new Generator(0));
            try
            {
                model.LoadStateDict(state);
            }
            catch (ArgumentException e)
            {
                throw CliException.File($"{path}: the weights do not fit a {TrainConfig.ModelWords.Of(config.Model)} model: {CommandShared.OneLine(e.Message)}");
            }
            model.Eval();
            return new SavedModel(model, config, new InputNormalization(kind, mean, std), shape, classes, FromFolder: meta.TryGetValue("data", out var d) && d == "folder");
        }
        catch (SafeTensorsException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw CliException.File($"{path}: corrupt metadata ({CommandShared.OneLine(e.Message)})");
        }
        catch (InvalidOperationException e)
        {
            throw CliException.File($"{path}: corrupt metadata ({CommandShared.OneLine(e.Message)})");
        }
        catch (CliException e) when (e.ExitCode == 2)
        {
            throw CliException.File($"{path}: the saved configuration is invalid: {e.Message}");
        }
    }

    static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw CliException.File($"{path}: metadata '{key}' is missing");

    /// <summary>The name and shape of a preset's first weight, which its width and the data's shape fix; null for the pretrained model.</summary>
    static (string Name, int[] Dims)? FirstWeight(TrainConfig c, DataShape s) => c.Model switch
    {
        ModelKind.Cnn or ModelKind.Vgg => ("0.weight", [32 * c.Width, s.Channels, 3, 3]),
        ModelKind.Resnet => ("0.weight", [16 * c.Width, s.Channels, 3, 3]),
        ModelKind.Mlp => ("1.weight", [512 * c.Width, s.Channels * s.Size * s.Size]),
        _ => null,
    };

    static int ReadInt(IReadOnlyDictionary<string, string> meta, string key, string path, int min, int max) =>
        int.TryParse(Required(meta, key, path), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v : throw CliException.File($"{path}: metadata '{key}' must be a whole number from {min} to {max}; got '{meta[key]}'");

    static float[] ReadFloats(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        JsonNode.Parse(Required(meta, key, path)) is JsonArray a && a.All(n => n is JsonValue v && v.TryGetValue(out double _))
            ? a.Select(n => (float)n!.GetValue<double>()).ToArray()
            : throw CliException.File($"{path}: metadata '{key}' is not a list of numbers");
}
