using System.Globalization;
using System.Text;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Training;

/// <summary>
/// Saves and restores everything needed to resume training exactly: the model's state dict, the
/// optimizer's state, the learning-rate schedulers' progress, the random generators' states (a
/// data loader's shuffling, dropout), the epoch and step reached, and free-form user metadata —
/// one safetensors file.
/// </summary>
/// <remarks>
/// <para>
/// Layout: tensors <c>model.&lt;key&gt;</c>, <c>optimizer.&lt;key&gt;</c>,
/// <c>scheduler.&lt;i&gt;.&lt;key&gt;</c> and <c>plateau.&lt;key&gt;</c> (the state dicts); metadata
/// <c>format</c> (<c>nabla.checkpoint.v1</c>), <c>epoch</c>, <c>step</c>, <c>generators</c> (their
/// count), <c>generator.&lt;i&gt;</c> (the state words in hex; they are 64-bit integers, which
/// float32 tensors cannot hold), <c>schedulers</c> (their count), <c>plateau</c> (1 when a
/// ReduceLrOnPlateau was saved), <c>optimizer.exact.&lt;g&gt;.&lt;option&gt;</c> and
/// <c>plateau.best</c> (the exact float64 bits of values the state dicts round to float32), and
/// <c>user.&lt;key&gt;</c> for the caller's metadata.
/// </para>
/// <para>
/// The file is written atomically (a temporary file, flushed, then renamed), so a crash while
/// saving leaves the previous checkpoint intact. Loading is all-or-nothing: the whole file is
/// checked against the model, optimizer, schedulers and generators before any of them changes.
/// Resuming from a checkpoint saved after N steps and taking N more gives bitwise the same
/// weights as 2N steps in one run, schedules included.
/// </para>
/// </remarks>
public static class Checkpoint
{
    const string Format = "nabla.checkpoint.v1";
    const string UserPrefix = "user.";
    const string ExactPrefix = "optimizer.exact.";
    const string ExactBest = "plateau.best";

    /// <summary>
    /// Writes a checkpoint of <paramref name="model"/>, <paramref name="optimizer"/>,
    /// <paramref name="generators"/>, <paramref name="schedulers"/> and <paramref name="plateau"/> to
    /// <paramref name="path"/>, with the <paramref name="epoch"/> and <paramref name="step"/> reached and
    /// the caller's <paramref name="metadata"/> (returned by <see cref="CheckpointInfo.Metadata"/> on load).
    /// </summary>
    /// <exception cref="ArgumentException">A metadata key is empty, or a scheduler schedules another optimizer.</exception>
    public static void Save(string path, Module model, Optimizer optimizer, IReadOnlyList<Generator>? generators = null, int epoch = 0, int step = 0,
                            IReadOnlyList<LrScheduler>? schedulers = null, ReduceLrOnPlateau? plateau = null,
                            IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        generators ??= [];
        schedulers ??= [];
        CheckArguments(optimizer, generators, schedulers, plateau);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in model.StateDict()) tensors.Add(new("model." + k, v));
        foreach (var (k, v) in optimizer.StateDict()) tensors.Add(new("optimizer." + k, v));
        for (int i = 0; i < schedulers.Count; i++)
            foreach (var (k, v) in schedulers[i].StateDict()) tensors.Add(new($"scheduler.{i}.{k}", v));
        if (plateau is not null)
            foreach (var (k, v) in plateau.StateDict()) tensors.Add(new("plateau." + k, v));

        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["epoch"] = Str(epoch),
            ["step"] = Str(step),
            ["generators"] = Str(generators.Count),
            ["schedulers"] = Str(schedulers.Count),
            ["plateau"] = plateau is null ? "0" : "1",
        };
        for (int i = 0; i < generators.Count; i++)
            meta[$"generator.{i}"] = string.Join(',', Array.ConvertAll(generators[i].GetState(), Hex));
        // The state dicts hold float32; these exact values make a resumed run bitwise identical
        // even when several schedulers move the same rate (a replay of one alone cannot recover it).
        var groups = optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++)
            foreach (var option in groups[g].OptionNames)
                meta[$"{ExactPrefix}{g}.{option}"] = Hex(BitConverter.DoubleToUInt64Bits(groups[g][option]));
        if (plateau is not null) meta[ExactBest] = Hex(BitConverter.DoubleToUInt64Bits(plateau.Best));
        if (metadata is not null)
            foreach (var (key, value) in metadata)
            {
                if (string.IsNullOrEmpty(key))
                    throw new ArgumentException("Checkpoint.Save: metadata keys must be non-empty", nameof(metadata));
                if (value is null)
                    throw new ArgumentException($"Checkpoint.Save: metadata \"{key}\" is null; expected a string", nameof(metadata));
                meta[UserPrefix + key] = value;
            }
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a checkpoint saved by <see cref="Save(string, Module, Optimizer, IReadOnlyList{Generator}, int, int, IReadOnlyList{LrScheduler}, ReduceLrOnPlateau, IReadOnlyDictionary{string, string})"/>
    /// into <paramref name="model"/>, <paramref name="optimizer"/>, <paramref name="generators"/>,
    /// <paramref name="schedulers"/> and <paramref name="plateau"/> (the same kinds, number and order
    /// as when saving), and returns the epoch, step and user metadata it was taken with.
    /// </summary>
    /// <remarks>
    /// All-or-nothing: the format, the metadata, the model's keys and shapes, the scheduler and
    /// generator states are all checked before anything changes, and the optimizer (whose own
    /// load checks everything first) is loaded before the rest, so a rejected file leaves every
    /// argument as it was.
    /// </remarks>
    /// <exception cref="SafeTensorsException">The file is malformed, not a Nabla checkpoint, or does not fit what was given; the message says what does not fit.</exception>
    /// <exception cref="ArgumentException">A scheduler schedules another optimizer.</exception>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, IReadOnlyList<Generator>? generators = null,
                                      IReadOnlyList<LrScheduler>? schedulers = null, ReduceLrOnPlateau? plateau = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        generators ??= [];
        schedulers ??= [];
        CheckArguments(optimizer, generators, schedulers, plateau);
        using var file = SafeTensorsFile.Open(path);
        var meta = file.Metadata;

        // ---- validate everything; nothing changes in this part ----
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw Bad(file, $"not a Nabla checkpoint (metadata 'format' is '{format ?? "missing"}'; expected '{Format}')");
        int epoch = ReadCount(file, "epoch");
        int step = ReadCount(file, "step");
        int savedGenerators = ReadCount(file, "generators");
        if (savedGenerators != generators.Count)
            throw Bad(file, $"the checkpoint holds {savedGenerators} generator states; {generators.Count} generators were given");
        // Files written before schedulers were saved have neither key: they hold none.
        int savedSchedulers = meta.ContainsKey("schedulers") ? ReadCount(file, "schedulers") : 0;
        if (savedSchedulers != schedulers.Count)
            throw Bad(file, $"the checkpoint holds {savedSchedulers} scheduler states; {schedulers.Count} schedulers were given");
        bool savedPlateau = meta.TryGetValue("plateau", out var p) && p == "1";
        if (p is not null and not "0" and not "1") throw Bad(file, $"metadata 'plateau' is '{p}'; expected 0 or 1");
        if (savedPlateau != plateau is not null)
            throw Bad(file, savedPlateau ? "the checkpoint holds a ReduceLrOnPlateau state; no plateau scheduler was given"
                                         : "the checkpoint holds no ReduceLrOnPlateau state; a plateau scheduler was given");
        var states = new ulong[savedGenerators][];
        for (int i = 0; i < savedGenerators; i++) states[i] = ReadGeneratorState(file, i);

        var modelState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizerState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var schedulerStates = new Dictionary<string, Tensor>[savedSchedulers];
        for (int i = 0; i < savedSchedulers; i++) schedulerStates[i] = new(StringComparer.Ordinal);
        var plateauState = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in file.Names)
        {
            if (name.StartsWith("model.", StringComparison.Ordinal)) modelState.Add(name["model.".Length..], file.ReadTensor(name));
            else if (name.StartsWith("optimizer.", StringComparison.Ordinal)) optimizerState.Add(name["optimizer.".Length..], file.ReadTensor(name));
            else if (savedPlateau && name.StartsWith("plateau.", StringComparison.Ordinal)) plateauState.Add(name["plateau.".Length..], file.ReadTensor(name));
            else if (TrySchedulerKey(name, savedSchedulers, out int i, out var key)) schedulerStates[i].Add(key, file.ReadTensor(name));
            else throw Bad(file, $"unexpected tensor \"{name}\" (a checkpoint holds model.*, optimizer.*, scheduler.<i>.* and plateau.* tensors)");
        }
        CheckModel(file, model, modelState);
        for (int i = 0; i < savedSchedulers; i++)
        {
            try { schedulers[i].ValidateStateDict(schedulerStates[i]); }
            catch (ArgumentException e) { throw Bad(file, $"scheduler {i} ({schedulers[i].GetType().Name}) does not fit the checkpoint: {e.Message}", e); }
        }
        double exactBest = double.NaN;
        if (plateau is not null)
        {
            try { plateau.ValidateStateDict(plateauState); }
            catch (ArgumentException e) { throw Bad(file, $"the plateau scheduler does not fit the checkpoint: {e.Message}", e); }
            exactBest = ReadExact(file, ExactBest, plateauState["best"].Item());
        }
        var exactOptions = ReadExactOptions(file, optimizerState);
        var user = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in meta)
            if (key.StartsWith(UserPrefix, StringComparison.Ordinal)) user[key[UserPrefix.Length..]] = value;

        // ---- apply ----
        // The optimizer goes first: its LoadStateDict checks everything before changing anything,
        // so a rejection there still leaves every argument untouched; what follows was checked above.
        try { optimizer.LoadStateDict(optimizerState); }
        catch (ArgumentException e) { throw Bad(file, $"the optimizer state does not fit this {optimizer.GetType().Name}: {e.Message}", e); }
        for (int i = 0; i < savedSchedulers; i++) schedulers[i].LoadStateDict(schedulerStates[i]);
        if (plateau is not null)
        {
            plateau.LoadStateDict(plateauState);
            plateau.Best = exactBest;
        }
        var groups = optimizer.ParamGroups;
        foreach (var (g, option, value) in exactOptions) groups[g][option] = value;
        model.LoadStateDict(modelState);
        for (int i = 0; i < savedGenerators; i++) generators[i].SetState(states[i]);
        return new CheckpointInfo(epoch, step) { Metadata = user };
    }

    /// <summary>
    /// Saves the trainer's model, optimizer, schedulers (<see cref="Trainer.StepSchedulers"/> then
    /// <see cref="Trainer.EpochSchedulers"/>, and <see cref="Trainer.PlateauScheduler"/>), epoch and step,
    /// its <see cref="Trainer.InterruptedEpoch"/> when a cancelled <see cref="Trainer.Fit"/> left one,
    /// with the <paramref name="generators"/> and the caller's <paramref name="metadata"/>.
    /// </summary>
    public static void Save(string path, Trainer trainer, IReadOnlyList<Generator>? generators = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (meta.ContainsKey(InterruptedKey))
            throw new ArgumentException($"Checkpoint: the metadata key '{InterruptedKey}' is reserved", nameof(metadata));
        if (trainer.InterruptedEpoch is { } p)
            meta[InterruptedKey] = string.Join(',',
                p.Epoch.ToString(CultureInfo.InvariantCulture), p.EpochSeed.ToString("x16", CultureInfo.InvariantCulture),
                p.Batches.ToString(CultureInfo.InvariantCulture), p.Samples.ToString(CultureInfo.InvariantCulture),
                Bits(p.LossSum), p.Correct.ToString(CultureInfo.InvariantCulture), Bits(p.Seconds));
        Save(path, trainer.Model, trainer.Optimizer, generators, trainer.Epoch, trainer.GlobalStep,
             SchedulersOf(trainer), trainer.PlateauScheduler, meta);
    }

    /// <summary>
    /// Loads a checkpoint into the trainer's model, optimizer and schedulers and sets its epoch, step
    /// and <see cref="Trainer.InterruptedEpoch"/>, so the next <see cref="Trainer.Fit"/> continues the
    /// run where it stopped, even in the middle of an epoch; all-or-nothing like
    /// <see cref="Load(string, Module, Optimizer, IReadOnlyList{Generator}, IReadOnlyList{LrScheduler}, ReduceLrOnPlateau)"/>.
    /// </summary>
    /// <exception cref="SafeTensorsException">The file is malformed, not a Nabla checkpoint, or does not fit the trainer.</exception>
    public static CheckpointInfo Load(string path, Trainer trainer, IReadOnlyList<Generator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        EpochProgress? interrupted = null;
        using (var file = SafeTensorsFile.Open(path))
            if (file.Metadata.TryGetValue(UserPrefix + InterruptedKey, out var text))
            {
                interrupted = ParseInterrupted(file, text);
                if (file.Metadata.TryGetValue("epoch", out var e) && int.TryParse(e, CultureInfo.InvariantCulture, out int done) && interrupted.Epoch != done + 1)
                    throw new SafeTensorsException(file.Source, $"the interrupted epoch {interrupted.Epoch} does not follow the {done} epochs completed");
            }
        var info = Load(path, trainer.Model, trainer.Optimizer, generators, SchedulersOf(trainer), trainer.PlateauScheduler);
        trainer.Epoch = info.Epoch;
        trainer.GlobalStep = info.Step;
        trainer.InterruptedEpoch = interrupted;
        var user = new Dictionary<string, string>(info.Metadata, StringComparer.Ordinal);
        user.Remove(InterruptedKey);
        return info with { Metadata = user };
    }

    const string InterruptedKey = "trainer.interrupted_epoch";

    static string Bits(double v) => BitConverter.DoubleToInt64Bits(v).ToString("x16", CultureInfo.InvariantCulture);

    static EpochProgress ParseInterrupted(SafeTensorsFile file, string text)
    {
        var parts = text.Split(',');
        const NumberStyles hex = NumberStyles.HexNumber;
        var inv = CultureInfo.InvariantCulture;
        if (parts.Length == 7
            && int.TryParse(parts[0], NumberStyles.Integer, inv, out int epoch) && epoch >= 1
            && ulong.TryParse(parts[1], hex, inv, out ulong seed)
            && int.TryParse(parts[2], NumberStyles.Integer, inv, out int batches) && batches >= 0
            && long.TryParse(parts[3], NumberStyles.Integer, inv, out long samples) && samples >= 0
            && long.TryParse(parts[4], hex, inv, out long lossBits)
            && long.TryParse(parts[5], NumberStyles.Integer, inv, out long correct) && correct >= -1
            && long.TryParse(parts[6], hex, inv, out long secondsBits))
            return new EpochProgress(epoch, seed, batches, samples, BitConverter.Int64BitsToDouble(lossBits), correct,
                                     BitConverter.Int64BitsToDouble(secondsBits));
        throw new SafeTensorsException(file.Source, $"metadata '{UserPrefix}{InterruptedKey}' is malformed: '{text}'");
    }

    static List<LrScheduler> SchedulersOf(Trainer trainer) => [.. trainer.StepSchedulers, .. trainer.EpochSchedulers];

    static void CheckArguments(Optimizer optimizer, IReadOnlyList<Generator> generators, IReadOnlyList<LrScheduler> schedulers, ReduceLrOnPlateau? plateau)
    {
        for (int i = 0; i < generators.Count; i++)
            if (generators[i] is null) throw new ArgumentException($"Checkpoint: generator {i} is null", nameof(generators));
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null) throw new ArgumentException($"Checkpoint: scheduler {i} is null", nameof(schedulers));
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"Checkpoint: scheduler {i} ({schedulers[i].GetType().Name}) schedules another optimizer than the one given", nameof(schedulers));
        }
        if (plateau is not null && !ReferenceEquals(plateau.Optimizer, optimizer))
            throw new ArgumentException("Checkpoint: the plateau scheduler schedules another optimizer than the one given", nameof(plateau));
    }

    /// <summary>Module.LoadStateDict's strict check, made here so it comes before any change, in the checkpoint's words.</summary>
    static void CheckModel(SafeTensorsFile file, Module model, Dictionary<string, Tensor> state)
    {
        var fit = model.CheckStateDict(state);
        if (fit.KeysMatch && fit.SizeMismatches.Count == 0) return;
        var sb = new StringBuilder($"the checkpoint does not fit the model ({model.GetType().Name}):");
        foreach (var key in fit.MissingKeys) sb.Append($"\n  missing key \"{key}\"");
        foreach (var key in fit.UnexpectedKeys) sb.Append($"\n  unexpected key \"{key}\"");
        foreach (var (key, source, target) in fit.SizeMismatches)
            sb.Append($"\n  size mismatch for \"{key}\": the checkpoint has shape {ShapeException.Str(source)}, the model has {ShapeException.Str(target)}");
        throw Bad(file, sb.ToString());
    }

    static bool TrySchedulerKey(string name, int count, out int index, out string key)
    {
        index = -1;
        key = "";
        const string prefix = "scheduler.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        int dot = name.IndexOf('.', prefix.Length);
        if (dot < 0 || !int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out index) || index >= count)
            return false;
        key = name[(dot + 1)..];
        return true;
    }

    static int ReadCount(SafeTensorsFile file, string key)
    {
        if (!file.Metadata.TryGetValue(key, out var text)) throw Bad(file, $"metadata '{key}' is missing");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            throw Bad(file, $"metadata '{key}' is '{text}'; expected a non-negative integer");
        return value;
    }

    static ulong[] ReadGeneratorState(SafeTensorsFile file, int i)
    {
        string key = $"generator.{i}";
        if (!file.Metadata.TryGetValue(key, out var text)) throw Bad(file, $"metadata '{key}' is missing");
        var words = text.Split(',');
        var state = new ulong[words.Length];
        for (int w = 0; w < words.Length; w++)
            if (!ulong.TryParse(words[w], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state[w]))
                throw Bad(file, $"metadata '{key}': word {w} is '{words[w]}'; expected a 64-bit hexadecimal number");
        // A scratch generator runs SetState's own checks without touching the caller's.
        try { new Generator(0).SetState(state); }
        catch (ArgumentException e) { throw Bad(file, $"metadata '{key}': {e.Message}", e); }
        return state;
    }

    /// <summary>The exact value saved under <paramref name="key"/>, which must round to <paramref name="rounded"/>; the rounded value when the key is absent.</summary>
    static double ReadExact(SafeTensorsFile file, string key, float rounded)
    {
        if (!file.Metadata.TryGetValue(key, out var text)) return rounded;
        if (!ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong bits))
            throw Bad(file, $"metadata '{key}' is '{text}'; expected the 64-bit hexadecimal bits of a double");
        double exact = BitConverter.UInt64BitsToDouble(bits);
        if (!((float)exact).Equals(rounded))
            throw Bad(file, string.Create(CultureInfo.InvariantCulture, $"metadata '{key}' holds {exact:R}, which disagrees with the tensor's {rounded:R}"));
        return exact;
    }

    static List<(int Group, string Option, double Value)> ReadExactOptions(SafeTensorsFile file, Dictionary<string, Tensor> optimizerState)
    {
        var options = new List<(int, string, double)>();
        foreach (var key in file.Metadata.Keys)
        {
            if (!key.StartsWith(ExactPrefix, StringComparison.Ordinal)) continue;
            var rest = key.AsSpan(ExactPrefix.Length);
            int dot = rest.IndexOf('.');
            if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int g)
                || !optimizerState.TryGetValue($"param_groups.{g}.{rest[(dot + 1)..]}", out var saved) || saved.Rank != 0)
                throw Bad(file, $"metadata '{key}' names no 0-d optimizer tensor 'optimizer.param_groups.{rest}'");
            options.Add((g, rest[(dot + 1)..].ToString(), ReadExact(file, key, saved.Item())));
        }
        return options;
    }

    static SafeTensorsException Bad(SafeTensorsFile file, string problem, Exception? inner = null) => new(file.Source, problem, inner);

    static string Str(int v) => v.ToString(CultureInfo.InvariantCulture);

    static string Hex(ulong w) => w.ToString("x16", CultureInfo.InvariantCulture);
}
