using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Cli;

/// <summary>
/// A trained model as a run folder keeps it: <c>model.safetensors</c> holds the state dict under
/// PyTorch's key names (it loads in PyTorch with <c>safetensors.torch.load_file</c>), and, in its
/// metadata, the configuration that built the model, the normalization statistics of its training
/// set and the class names — everything <c>nabla eval</c> and <c>nabla predict</c> need.
/// </summary>
internal sealed record SavedModel(Sequential Model, TrainConfig Config, ChannelStats Stats, IReadOnlyList<string> Classes)
{
    public const string FileName = "model.safetensors";

    public static void Save(string path, Module model, TrainConfig config, ChannelStats stats)
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = "nabla.model.v1",
            ["config"] = config.ToJson().ToJsonString(),
            ["mean"] = Floats(stats.Mean),
            ["std"] = Floats(stats.Std),
            ["classes"] = new JsonArray([.. FashionMnist.Classes.Select(c => (JsonNode)c)]).ToJsonString(),
        };
        SafeTensors.Save(path, model.StateDict(), meta);
    }

    static string Floats(Tensor t) => new JsonArray([.. t.ToArray().Select(v => (JsonNode)v)]).ToJsonString();

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
            if (mean.Length != 1 || std.Length != 1 || !(std[0] > 0))
                throw CliException.File($"{path}: metadata 'mean' and 'std' must hold one value each with std > 0");
            var classes = JsonNode.Parse(Required(meta, "classes", path)) is JsonArray names && names.All(n => n is JsonValue v && v.TryGetValue(out string? _))
                ? names.Select(n => n!.GetValue<string>()).ToArray()
                : throw CliException.File($"{path}: metadata 'classes' is not a list of class names");
            if (classes.Length != Presets.Classes)
                throw CliException.File($"{path}: metadata 'classes' names {classes.Length} classes; the presets predict {Presets.Classes}");
            var model = Presets.Build(config, new Generator(0));
            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in file.Names) state[name] = file.ReadTensor(name);
            try
            {
                model.LoadStateDict(state);
            }
            catch (ArgumentException e)
            {
                throw CliException.File($"{path}: the weights do not fit a {TrainConfig.ModelWords.Of(config.Model)} model: {CommandShared.OneLine(e.Message)}");
            }
            model.Eval();
            return new SavedModel(model, config, new ChannelStats(Tensor.FromArray(mean, 1), Tensor.FromArray(std, 1)), classes);
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

    static float[] ReadFloats(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        JsonNode.Parse(Required(meta, key, path)) is JsonArray a && a.All(n => n is JsonValue v && v.TryGetValue(out double _))
            ? a.Select(n => (float)n!.GetValue<double>()).ToArray()
            : throw CliException.File($"{path}: metadata '{key}' is not a list of numbers");
}
