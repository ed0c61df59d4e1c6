using System.Globalization;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Training;

/// <summary>Where a checkpoint was taken: the epochs and optimizer steps completed.</summary>
/// <param name="Epoch">Epochs completed when the checkpoint was saved.</param>
/// <param name="Step">Optimizer steps completed when the checkpoint was saved.</param>
public readonly record struct CheckpointInfo(int Epoch, int Step);

/// <summary>
/// Saves and restores everything needed to resume training exactly: the model's state dict, the
/// optimizer's state, the random generators' states (a data loader's shuffling, dropout), and the
/// epoch and step reached — one safetensors file.
/// </summary>
/// <remarks>
/// Layout: tensors <c>model.&lt;key&gt;</c> and <c>optimizer.&lt;key&gt;</c>; metadata <c>format</c>
/// (<c>nabla.checkpoint.v1</c>), <c>epoch</c>, <c>step</c>, <c>generators</c> (their count) and
/// <c>generator.&lt;i&gt;</c> (the state words in hex; they are 64-bit integers, which float32
/// tensors cannot hold). The file is written atomically (a temporary file, flushed, then renamed),
/// so a crash while saving leaves the previous checkpoint intact. Resuming from a checkpoint
/// saved after N steps and taking N more gives bitwise the same weights as 2N steps in one run.
/// </remarks>
public static class Checkpoint
{
    const string Format = "nabla.checkpoint.v1";

    /// <summary>Writes a checkpoint of <paramref name="model"/>, <paramref name="optimizer"/> and <paramref name="generators"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, Module model, Optimizer optimizer, IReadOnlyList<Generator>? generators = null, int epoch = 0, int step = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        generators ??= [];
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in model.StateDict()) tensors.Add(new("model." + k, v));
        foreach (var (k, v) in optimizer.StateDict()) tensors.Add(new("optimizer." + k, v));
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["generators"] = generators.Count.ToString(CultureInfo.InvariantCulture),
        };
        for (int i = 0; i < generators.Count; i++)
            meta[$"generator.{i}"] = string.Join(',', Array.ConvertAll(generators[i].GetState(), w => w.ToString("x16", CultureInfo.InvariantCulture)));
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a checkpoint saved by <see cref="Save(string, Module, Optimizer, IReadOnlyList{Generator}, int, int)"/> into <paramref name="model"/>,
    /// <paramref name="optimizer"/> and <paramref name="generators"/> (the same number, in the same
    /// order, as when saving), and returns the epoch and step it was taken at.
    /// </summary>
    /// <exception cref="SafeTensorsException">The file is not a Nabla checkpoint or does not fit the given generators.</exception>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, IReadOnlyList<Generator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        generators ??= [];
        using var file = SafeTensorsFile.Open(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new SafeTensorsException(file.Source, $"not a Nabla checkpoint (metadata 'format' is '{format ?? "missing"}'; expected '{Format}')");
        int saved = int.Parse(meta["generators"], CultureInfo.InvariantCulture);
        if (saved != generators.Count)
            throw new SafeTensorsException(file.Source, $"the checkpoint holds {saved} generator states; {generators.Count} generators were given");
        var states = new ulong[saved][];
        for (int i = 0; i < saved; i++)
            states[i] = Array.ConvertAll(meta[$"generator.{i}"].Split(','), w => ulong.Parse(w, NumberStyles.HexNumber, CultureInfo.InvariantCulture));

        var modelState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizerState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in file.Names)
        {
            if (name.StartsWith("model.", StringComparison.Ordinal)) modelState.Add(name["model.".Length..], file.ReadTensor(name));
            else if (name.StartsWith("optimizer.", StringComparison.Ordinal)) optimizerState.Add(name["optimizer.".Length..], file.ReadTensor(name));
        }
        model.LoadStateDict(modelState);
        optimizer.LoadStateDict(optimizerState);
        for (int i = 0; i < saved; i++) generators[i].SetState(states[i]);
        return new CheckpointInfo(int.Parse(meta["epoch"], CultureInfo.InvariantCulture), int.Parse(meta["step"], CultureInfo.InvariantCulture));
    }

    /// <summary>Saves the trainer's model and optimizer with its epoch and step.</summary>
    public static void Save(string path, Trainer trainer, IReadOnlyList<Generator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Save(path, trainer.Model, trainer.Optimizer, generators, trainer.Epoch, trainer.GlobalStep);
    }

    /// <summary>Loads a checkpoint into the trainer's model and optimizer and sets its epoch and step, so the next <see cref="Trainer.Fit"/> continues the run.</summary>
    public static CheckpointInfo Load(string path, Trainer trainer, IReadOnlyList<Generator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var info = Load(path, trainer.Model, trainer.Optimizer, generators);
        trainer.Epoch = info.Epoch;
        trainer.GlobalStep = info.Step;
        return info;
    }
}
