using System.Globalization;
using System.Text;

namespace Nabla.Optim;

public abstract partial class Optimizer
{
    /// <summary>
    /// The optimizer's state as flat PyTorch-like keys, so it can be saved beside the model's:
    /// <c>state.{i}.step</c>, <c>state.{i}.exp_avg</c>, <c>state.{i}.momentum_buffer</c>, ... for each
    /// parameter <c>i</c> (numbered across the groups) that has taken a step, then
    /// <c>param_groups.{g}.params</c> (the parameter numbers of group <c>g</c>) and
    /// <c>param_groups.{g}.{option}</c> for each option (<c>lr</c>, <c>weight_decay</c>, <c>initial_lr</c>, ...).
    /// Scalars are zero-dimensional tensors; buffers share storage with the optimizer.
    /// </summary>
    /// <remarks>
    /// Scalars are float32 like every tensor: step counts are exact up to 2^24; a hyper-parameter is
    /// restored exactly by <see cref="LoadStateDict"/> when the loading optimizer already holds a value
    /// that rounds to the saved one (the same constructor arguments), otherwise as the float32 value.
    /// Flags chosen at construction (<c>nesterov</c>, <c>amsgrad</c>, <c>centered</c>) are not saved.
    /// </remarks>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        for (int i = 0; i < _state.Count; i++)
        {
            if (_state[i] is not { } s) continue;
            if (_countsSteps) dict.Add(Key(i, "step"), Tensor.Scalar((float)s.Step));
            for (int k = 0; k < _slots.Length; k++)
                if (s.Buffers[k] is { } b) dict.Add(Key(i, _slots[k].Name), b.Detach());
        }
        int index = 0;
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            var ids = Tensor.Owned([group.Params.Count], clear: false);
            for (int j = 0; j < group.Params.Count; j++) ids.Span[j] = index++;
            dict.Add($"param_groups.{g}.params", ids);
            foreach (var option in group.OptionNames)
                dict.Add($"param_groups.{g}.{option}", Tensor.Scalar((float)group[option]));
        }
        return dict;

        static string Key(int i, string name) => $"state.{i}.{name}";
    }

    /// <summary>
    /// Restores the state saved by <see cref="StateDict"/> into an optimizer built over the same
    /// parameters with the same groups. Everything is checked before anything changes: one exception
    /// lists every unexpected key, missing key, wrong shape and wrong group size.
    /// </summary>
    /// <exception cref="ArgumentException">The dictionary does not fit this optimizer; the message lists each problem.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var perParam = new Dictionary<string, Tensor>?[_params.Count];
        var perGroup = new Dictionary<string, Tensor>[_groups.Count];
        for (int g = 0; g < perGroup.Length; g++) perGroup[g] = [];
        int savedGroups = 0;

        foreach (var (key, value) in stateDict)
        {
            if (value is null) { problems.Add($"{key}: expected a tensor; got null"); continue; }
            var parts = key.Split('.', 3);
            if (parts.Length == 3 && parts[0] == "state" && TryIndex(parts[1], out int i))
            {
                if (i >= _params.Count)
                {
                    problems.Add($"unexpected key \"{key}\": the optimizer has {_params.Count} parameters");
                    continue;
                }
                string name = parts[2];
                if (name == "step" && _countsSteps)
                {
                    if (!IsScalar(value) || !(value.Item() >= 0) || value.Item() != MathF.Floor(value.Item()))
                        problems.Add($"{key}: expected a 0-d tensor holding a step count; got {Describe(value)}");
                }
                else if (Array.FindIndex(_slots, s => s.Name == name) < 0)
                {
                    problems.Add($"unexpected key \"{key}\": {Name} keeps no state \"{name}\"");
                    continue;
                }
                else if (!value.Shape.SequenceEqual(_params[i].Shape))
                {
                    problems.Add($"size mismatch for {key}: the state dict has shape {value.ShapeString}, " +
                                 $"parameter {i} has shape {_params[i].Data.ShapeString}");
                }
                (perParam[i] ??= [])[name] = value;
            }
            else if (parts.Length == 3 && parts[0] == "param_groups" && TryIndex(parts[1], out int g))
            {
                savedGroups = Math.Max(savedGroups, g + 1);
                if (g >= _groups.Count) continue;
                if (parts[2] == "params")
                {
                    int count = _groups[g].Params.Count;
                    if (value.Rank != 1 || value.Numel != count)
                        problems.Add($"param group {g} has {count} parameters here; the state dict's has " +
                                     (value.Rank == 1 ? $"{value.Numel}" : $"params of shape {value.ShapeString}"));
                }
                else if (!IsScalar(value))
                    problems.Add($"{key}: expected a 0-d tensor; got shape {value.ShapeString}");
                perGroup[g][parts[2]] = value;
            }
            else problems.Add($"unexpected key \"{key}\"");
        }

        if (savedGroups != _groups.Count)
            problems.Add($"the state dict has {savedGroups} parameter groups; the optimizer has {_groups.Count}");
        for (int g = 0; g < Math.Min(savedGroups, _groups.Count); g++)
        {
            var missing = new List<string>();
            if (!perGroup[g].ContainsKey("params")) missing.Add("params");
            foreach (var (option, _) in _defaults)
                if (!perGroup[g].ContainsKey(option)) missing.Add(option);
            foreach (var m in missing) problems.Add($"missing key \"param_groups.{g}.{m}\"");
        }
        for (int i = 0; i < perParam.Length; i++)
        {
            if (perParam[i] is not { } entries) continue;
            if (_countsSteps && !entries.ContainsKey("step")) problems.Add($"missing key \"state.{i}.step\"");
            foreach (var slot in _slots)
                if (slot.Required && !entries.ContainsKey(slot.Name)) problems.Add($"missing key \"state.{i}.{slot.Name}\"");
        }

        if (problems.Count > 0)
        {
            var sb = new StringBuilder($"{Name}.LoadStateDict: error(s) in loading the state dict:");
            foreach (var p in problems) sb.Append("\n  ").Append(p);
            sb.Append("\nhint: the state dict must come from an optimizer of the same kind built over the same parameters and groups");
            throw new ArgumentException(sb.ToString(), nameof(stateDict));
        }

        for (int i = 0; i < perParam.Length; i++)
        {
            if (perParam[i] is not { } entries) { _state[i] = null; continue; }
            var s = StateAt(i);
            s.Step = _countsSteps ? entries["step"].Item() : 0;
            for (int k = 0; k < _slots.Length; k++)
            {
                if (!entries.TryGetValue(_slots[k].Name, out var src)) { s.Buffers[k] = null; continue; }
                if (s.Buffers[k] is { } dst) src.Data.CopyTo(dst.Span);
                else s.Buffers[k] = src.Clone();
            }
        }
        for (int g = 0; g < _groups.Count; g++)
            foreach (var (option, value) in perGroup[g])
            {
                if (option == "params") continue;
                float saved = value.Item();
                // Keep the double we hold when it is what was saved: float32 storage would otherwise
                // perturb lr = 1e-3 and break bitwise resumption.
                if (!(_groups[g].TryGet(option, out double current) && (float)current == saved))
                    _groups[g][option] = saved;
            }
    }

    static bool TryIndex(string s, out int i) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out i);

    static bool IsScalar(Tensor t) => t.Rank == 0;

    static string Describe(Tensor t) => t.Rank == 0 ? t.Item().ToString(CultureInfo.InvariantCulture) : $"shape {t.ShapeString}";
}
