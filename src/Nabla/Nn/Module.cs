using System.Text;

namespace Nabla.Nn;

/// <summary>
/// The base of every layer and model, as <c>torch.nn.Module</c>: it owns parameters, buffers and
/// child modules registered by name, switches between training and evaluation mode, and saves and
/// loads its state under PyTorch's key names (<c>features.0.weight</c>, <c>bn1.running_mean</c>).
/// </summary>
/// <remarks>
/// <para>
/// Registration is explicit and returns what it registers, so a field and its registration are one
/// line: <c>_fc1 = Register("fc1", new Linear(784, 512));</c>. Nothing is discovered by reflection:
/// what is not registered is not a parameter, and the order of registration is the order of
/// <see cref="Parameters"/> and of the state dict.
/// </para>
/// <para>
/// Call <see cref="Forward(Tensor)"/>; subclasses implement <see cref="ForwardCore(Tensor)"/>. A
/// <see cref="ShapeException"/> leaving a module carries the module's path in the model, so an error
/// deep in a network reads <c>classifier.fc1: Linear(784, 512) expects ...</c>.
/// </para>
/// </remarks>
public abstract class Module
{
    readonly List<KeyValuePair<string, Parameter?>> _parameters = [];
    readonly List<KeyValuePair<string, Buffer?>> _buffers = [];
    readonly List<KeyValuePair<string, Module>> _children = [];
    string? _nameInParent;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    /// <remarks>
    /// The setter is internal so that Monte Carlo dropout can switch one module without recursing
    /// into its children and restore every module's own mode afterwards; users call <see cref="Train"/>.
    /// </remarks>
    public bool IsTraining { get; internal set; } = true;

    /// <summary>Runs the module on <paramref name="input"/>.</summary>
    public Tensor Forward(Tensor input) => Forward(input, Fusion.None);

    /// <summary>
    /// Runs the module with what follows it fused in, as the caller names it (a container that sees a
    /// ReLU after a batch norm): one entry point, so the module path on errors and the profiling are
    /// applied once, here, whatever the fusion.
    /// </summary>
    internal Tensor Forward(Tensor input, Fusion fusion)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_forwardHooks is not null || _backwardHooks is not null) return ForwardHooked(input, fusion);
        try
        {
            if (!OpProfiler.Enabled) return ForwardCore(input, fusion);
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var y = ForwardCore(input, fusion);
            OpProfiler.Add($"forward.{_nameInParent ?? "model"}.{GetType().Name}", t0);
            return y;
        }
        catch (ShapeException e) when (_nameInParent is not null)
        {
            throw e.WithModule(_nameInParent);
        }
    }

    // ---- hooks -------------------------------------------------------------------------------

    // Null when none is registered, so a module without hooks pays one null check per forward.
    Action<Module, Tensor, Tensor>[]? _forwardHooks;
    Action<Module, Tensor?, Tensor>[]? _backwardHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to be called after every forward of this module with the
    /// module, its input and its output, as PyTorch's <c>register_forward_hook</c>. Hooks run in the
    /// order registered. Dispose the returned handle (or call <see cref="HookHandle.Remove"/>) to
    /// remove it.
    /// </summary>
    /// <remarks>
    /// A module with a hook is never fused with its neighbours (a container runs batch norm then
    /// ReLU as two modules instead of one fused operation), so each hook sees exactly its own
    /// module's output. The hook must not change the tensors it is given.
    /// </remarks>
    public HookHandle RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        _forwardHooks = [.. _forwardHooks ?? [], hook];
        return new HookHandle(() => _forwardHooks = Without(_forwardHooks, hook));
    }

    /// <summary>
    /// Registers <paramref name="hook"/> to be called during backward, once the gradients with
    /// respect to this module's input and output are known, as PyTorch's
    /// <c>register_full_backward_hook(hook(module, grad_input, grad_output))</c>. The gradient of
    /// the input is null when the input needs none (the first layer of a network). Dispose the
    /// returned handle to remove it.
    /// </summary>
    /// <remarks>
    /// The module's input and output pass through an identity recorded in the graph whose backward
    /// captures the gradient; the values are unchanged. As with forward hooks, a module with a hook
    /// is never fused with its neighbours.
    /// </remarks>
    public HookHandle RegisterFullBackwardHook(Action<Module, Tensor?, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        _backwardHooks = [.. _backwardHooks ?? [], hook];
        return new HookHandle(() => _backwardHooks = Without(_backwardHooks, hook));
    }

    /// <summary>True while a forward or backward hook is registered on this module: containers then do not fuse it.</summary>
    internal bool HasHooks => _forwardHooks is not null || _backwardHooks is not null;

    static T[]? Without<T>(T[]? hooks, T hook) where T : class
    {
        if (hooks is null) return null;
        int i = Array.IndexOf(hooks, hook);
        if (i < 0) return hooks;
        var rest = hooks.Where((_, j) => j != i).ToArray();
        return rest.Length == 0 ? null : rest;
    }

    Tensor ForwardHooked(Tensor input, Fusion fusion)
    {
        if (fusion != Fusion.None)
            throw new InvalidOperationException($"{GetType().Name} has hooks and cannot run fused ({fusion}); the container should run it alone");
        var backward = _backwardHooks;
        BackwardHookState? state = null;
        var x = input;
        if (backward is not null && Tensor.Recording([input]))
        {
            state = new BackwardHookState(this, backward);
            // The identity on the input sees the gradient of the input, after the output's.
            x = Tensor.Record(input.Detach(), "backward_hook_input", [input], g =>
            {
                state.Fire(g);
                return [g];
            });
        }
        Tensor y;
        try
        {
            long t0 = OpProfiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            y = ForwardCore(x, Fusion.None);
            if (t0 != 0) OpProfiler.Add($"forward.{_nameInParent ?? "model"}.{GetType().Name}", t0);
        }
        catch (ShapeException e) when (_nameInParent is not null)
        {
            throw e.WithModule(_nameInParent);
        }
        if (backward is not null && Tensor.Recording([y]))
        {
            state ??= new BackwardHookState(this, backward) { InputNeedsNoGrad = true };
            y = Tensor.Record(y.Detach(), "backward_hook_output", [y], g =>
            {
                state.GradOutput = g;
                if (state.InputNeedsNoGrad) state.Fire(null);
                return [g];
            });
        }
        if (_forwardHooks is { } hooks)
            foreach (var hook in hooks) hook(this, input, y);
        return y;
    }

    /// <summary>What one forward's backward hooks need: the output's gradient arrives first, then the input's.</summary>
    sealed class BackwardHookState(Module module, Action<Module, Tensor?, Tensor>[] hooks)
    {
        public bool InputNeedsNoGrad;
        public Tensor? GradOutput;

        public void Fire(Tensor? gradInput)
        {
            // No output gradient: the output did not reach the loss (nothing to report).
            if (GradOutput is not { } gOut) return;
            foreach (var hook in hooks) hook(module, gradInput, gOut);
        }
    }

    /// <summary>The computation; called by <see cref="Forward(Tensor)"/>.</summary>
    protected abstract Tensor ForwardCore(Tensor input);

    /// <summary>
    /// The computation with <paramref name="fusion"/> applied; the layers that have fused forms
    /// (batch norm, linear) override it. Others accept only <see cref="Fusion.None"/>.
    /// </summary>
    private protected virtual Tensor ForwardCore(Tensor input, Fusion fusion) =>
        fusion == Fusion.None ? ForwardCore(input)
            : throw new InvalidOperationException($"{GetType().Name} has no fused form {fusion}");

    // ---- registration ----------------------------------------------------------------------

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T Register<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _children.Add(new(name, module));
        module._nameInParent ??= name;
        return module;
    }

    /// <summary>Registers a parameter under <paramref name="name"/> and returns it.</summary>
    protected Parameter Register(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckName(name);
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>
    /// Registers an absent optional parameter (a layer built with <c>bias: false</c>), so its name is
    /// reserved and it appears in neither <see cref="Parameters"/> nor the state dict.
    /// </summary>
    protected void RegisterNone(string name)
    {
        CheckName(name);
        _parameters.Add(new(name, null));
    }

    /// <summary>Registers a buffer under <paramref name="name"/> and returns it.</summary>
    protected Buffer Register(string name, Buffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckName(name);
        _buffers.Add(new(name, buffer));
        return buffer;
    }

    void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
            throw new ArgumentException($"Register: expected a non-empty name without '.'; got \"{name}\"", nameof(name));
        if (_parameters.Exists(p => p.Key == name) || _buffers.Exists(b => b.Key == name) || _children.Exists(c => c.Key == name))
            throw new ArgumentException($"Register: expected a new name; got \"{name}\", which {GetType().Name} already registered", nameof(name));
    }

    // ---- mode ------------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and every descendant; returns this module.</summary>
    public Module Train(bool mode = true)
    {
        foreach (var m in Modules()) m.IsTraining = mode;
        return this;
    }

    /// <summary>Sets evaluation mode (dropout off, batch norm on running statistics) recursively.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// This model prepared for inference on batches of samples of shape <paramref name="sampleShape"/>
    /// (without the batch dimension): batch norm folded into the layer before it, ReLU fused into the
    /// convolution's output, weights re-laid once. Sets the model to evaluation mode; the prepared
    /// model copies the weights, so prepare again after changing them. See <see cref="InferenceModel"/>.
    /// </summary>
    /// <exception cref="ShapeException">The model does not accept a batch of that shape.</exception>
    public InferenceModel ForInference(params int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Any(d => d < 1))
            throw new ArgumentException($"ForInference: expected a sample shape of positive sizes; got ({string.Join(", ", sampleShape)})", nameof(sampleShape));
        Eval();
        var (run, plan) = this is IInferencePreparable own ? own.PrepareForInference(sampleShape) : InferencePlanner.Prepare(this);
        var model = new InferenceModel(this, (int[])sampleShape.Clone(), run, plan);
        // One batch of one sample through it now: a shape the model cannot take fails here, not later.
        using (TensorScope.Begin()) model.Forward(Tensor.Zeros([1, .. sampleShape]));
        return model;
    }

    // ---- traversal -------------------------------------------------------------------------

    /// <summary>The direct children in registration order.</summary>
    public IEnumerable<Module> Children() => _children.Select(c => c.Value);

    /// <summary>The direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.Key, c.Value));

    /// <summary>This module and all descendants, depth first, each once.</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>This module (named "") and all descendants with dotted names, depth first, each once.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Module)>();
        Walk(this, "", seen, result);
        return result;

        static void Walk(Module m, string prefix, HashSet<Module> seen, List<(string, Module)> result)
        {
            if (!seen.Add(m)) return;
            result.Add((prefix, m));
            foreach (var (name, child) in m._children)
                Walk(child, prefix.Length == 0 ? name : prefix + "." + name, seen, result);
        }
    }

    /// <summary>Every parameter of this module and its descendants, each once, in registration order.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every parameter with its dotted name (<c>features.0.weight</c>), each once.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, m) in NamedModules())
            foreach (var (name, p) in m._parameters)
                if (p is not null && seen.Add(p)) yield return (Join(prefix, name), p);
    }

    /// <summary>Every buffer of this module and its descendants.</summary>
    public IEnumerable<Buffer> Buffers() => NamedBuffers().Select(b => b.Buffer);

    /// <summary>Every buffer with its dotted name (<c>bn1.running_mean</c>).</summary>
    public IEnumerable<(string Name, Buffer Buffer)> NamedBuffers()
    {
        var seen = new HashSet<Buffer>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, m) in NamedModules())
            foreach (var (name, b) in m._buffers)
                if (b is not null && seen.Add(b)) yield return (Join(prefix, name), b);
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Calls <paramref name="fn"/> on every descendant and then on this module, as <c>module.apply</c>.</summary>
    public Module Apply(Action<Module> fn)
    {
        ArgumentNullException.ThrowIfNull(fn);
        foreach (var (_, child) in _children) child.Apply(fn);
        fn(this);
        return this;
    }

    /// <summary>The number of scalar parameters (only trainable ones with <paramref name="trainableOnly"/>).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Numel);

    /// <summary>Clears the gradient of every parameter.</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        foreach (var p in Parameters()) p.ZeroGrad(setToNone);
    }

    // ---- state dict ------------------------------------------------------------------------

    /// <summary>
    /// The parameters and persistent buffers by PyTorch key name, in PyTorch's order (each module's
    /// parameters, then its buffers, then its children). Values share storage with the module.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var (name, p) in m._parameters)
                if (p is not null) dict.TryAdd(Join(prefix, name), p.Data.Detach());
            foreach (var (name, b) in m._buffers)
                if (b is not null && b.Persistent) dict.TryAdd(Join(prefix, name), b.Data.Detach());
        }
        return dict;
    }

    /// <summary>
    /// Copies values into the module's parameters and buffers, in place. Every key is checked before
    /// anything is written: a size mismatch is always an error, and in <paramref name="strict"/> mode
    /// so are missing and unexpected keys; one exception lists all of them, and the module is left
    /// unchanged.
    /// </summary>
    /// <returns>The keys the module has but the dictionary lacks, and those it has but the module lacks.</returns>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var fit = CheckStateDict(stateDict);
        if (fit.SizeMismatches.Count > 0 || (strict && !fit.KeysMatch))
        {
            var sb = new StringBuilder($"LoadStateDict: error(s) in loading the state dict for {GetType().Name}:");
            if (strict && fit.MissingKeys.Count > 0) sb.Append("\n  missing key(s): ").AppendJoin(", ", fit.MissingKeys.Select(k => $"\"{k}\""));
            if (strict && fit.UnexpectedKeys.Count > 0) sb.Append("\n  unexpected key(s): ").AppendJoin(", ", fit.UnexpectedKeys.Select(k => $"\"{k}\""));
            foreach (var (key, source, target) in fit.SizeMismatches)
                sb.Append($"\n  size mismatch for {key}: copying a param with shape {ShapeException.Str(source)} from the state dict, " +
                          $"the shape in the current model is {ShapeException.Str(target)}");
            throw new ArgumentException(sb.ToString(), nameof(stateDict));
        }
        foreach (var (key, target) in StateDict())
            if (stateDict.TryGetValue(key, out var source)) source.Data.CopyTo(target.Span);
        return new StateDictLoadResult(fit.MissingKeys, fit.UnexpectedKeys);
    }

    /// <summary>
    /// How <paramref name="stateDict"/> fits this module, without changing anything: the keys the
    /// module has and the dictionary lacks, those the dictionary has and the module lacks, and the
    /// keys whose shapes differ. The one check behind <see cref="LoadStateDict"/> and checkpoint loading.
    /// </summary>
    internal StateDictFit CheckStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var own = StateDict();
        var mismatches = new List<(string, int[], int[])>();
        foreach (var (key, target) in own)
            if (stateDict.TryGetValue(key, out var source) && !source.Shape.SequenceEqual(target.Shape))
                mismatches.Add((key, source.Shape.ToArray(), target.Shape.ToArray()));
        return new StateDictFit(
            [.. own.Keys.Where(k => !stateDict.ContainsKey(k))],
            [.. stateDict.Keys.Where(k => !own.ContainsKey(k))],
            mismatches);
    }

    // ---- printing --------------------------------------------------------------------------

    /// <summary>The layer's own settings for <see cref="ToString"/>, as PyTorch's <c>extra_repr</c>.</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The module tree, printed as PyTorch prints it.</summary>
    public override string ToString()
    {
        var name = GetType().Name;
        if (_children.Count == 0) return $"{name}({ExtraRepr()})";
        var sb = new StringBuilder(name).Append('(');
        var extra = ExtraRepr();
        if (extra.Length > 0) sb.Append("\n  ").Append(extra);
        foreach (var (childName, child) in _children)
            sb.Append("\n  (").Append(childName).Append("): ").Append(child.ToString().Replace("\n", "\n  ", StringComparison.Ordinal));
        return sb.Append("\n)").ToString();
    }
}

/// <summary>How a state dict fits a module: what <see cref="Module.CheckStateDict"/> finds.</summary>
/// <param name="MissingKeys">Keys of the module absent from the dictionary.</param>
/// <param name="UnexpectedKeys">Keys of the dictionary the module does not have.</param>
/// <param name="SizeMismatches">Keys in both whose shapes differ: the dictionary's shape, then the module's.</param>
internal sealed record StateDictFit(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys,
    IReadOnlyList<(string Key, int[] Source, int[] Target)> SizeMismatches)
{
    /// <summary>No key missing and none unexpected.</summary>
    public bool KeysMatch => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0;
}

/// <summary>
/// What a layer computes together with the layers after it, when its container asks: the same
/// values as the layers one after the other, with fewer passes over memory.
/// </summary>
internal enum Fusion
{
    /// <summary>The layer alone.</summary>
    None,

    /// <summary>relu(layer(x)): batch norm or linear followed by a ReLU.</summary>
    Relu,

    /// <summary>max_pool2d(relu(layer(x)), 2): batch norm, ReLU and 2x2 stride-2 max pooling.</summary>
    ReluMaxPool2,
}

/// <summary>
/// Removes a hook registered with <see cref="Module.RegisterForwardHook"/> or
/// <see cref="Module.RegisterFullBackwardHook"/>, as PyTorch's <c>RemovableHandle</c>; removing twice
/// does nothing.
/// </summary>
public sealed class HookHandle : IDisposable
{
    Action? _remove;

    internal HookHandle(Action remove) => _remove = remove;

    /// <summary>Removes the hook.</summary>
    public void Remove()
    {
        _remove?.Invoke();
        _remove = null;
    }

    /// <summary>Removes the hook.</summary>
    public void Dispose() => Remove();
}

/// <summary>What <see cref="Module.LoadStateDict"/> did not match.</summary>
/// <param name="MissingKeys">Keys of the module absent from the dictionary.</param>
/// <param name="UnexpectedKeys">Keys of the dictionary the module does not have.</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
