using Nabla.Nn;

namespace Nabla.Tests.ConformanceTests;

/// <summary>
/// The conformance dispatch: op name to the Nabla call that computes it. Each family registers
/// its ops in its own file (<c>Ops.Activations.cs</c>, <c>Ops.Losses.cs</c>, ...) by implementing
/// one of the partial methods below, a line per op:
/// <code>t.Op("leaky_relu", a => Functional.LeakyRelu(a.In("input"), a.Double("negative_slope")));</code>
/// An op without a registration fails its cases with "no Nabla implementation registered for op 'x'".
/// </summary>
internal sealed partial class Ops
{
    /// <summary>A forward op: reads its inputs and attributes from the case, returns the output.</summary>
    public delegate Tensor Forward(CaseArgs a);

    /// <summary>An optimizer: given the case (attributes) and the parameter, returns one optimization step.</summary>
    public delegate Action OptimizerStep(CaseArgs a, Parameter param);

    readonly Dictionary<string, Forward> _ops = new(StringComparer.Ordinal);
    readonly Dictionary<string, OptimizerStep> _optimizers = new(StringComparer.Ordinal);

    /// <summary>The registrations of every family file.</summary>
    public static Ops Table { get; } = Build();

    static Ops Build()
    {
        var t = new Ops();
        // A family whose file does not exist yet compiles to nothing (partial methods).
        RegisterActivations(t);
        RegisterLinear(t);
        RegisterLosses(t);
        RegisterConv(t);
        RegisterPooling(t);
        RegisterNorms(t);
        RegisterOptim(t);
        return t;
    }

    static partial void RegisterActivations(Ops t);
    static partial void RegisterLinear(Ops t);
    static partial void RegisterLosses(Ops t);
    static partial void RegisterConv(Ops t);
    static partial void RegisterPooling(Ops t);
    static partial void RegisterNorms(Ops t);
    static partial void RegisterOptim(Ops t);

    /// <summary>Registers a forward op (its gradients come from Nabla's autograd).</summary>
    public void Op(string name, Forward forward)
    {
        if (_ops.ContainsKey(name) || _optimizers.ContainsKey(name))
            throw new InvalidOperationException($"conformance: op '{name}' is registered twice");
        _ops.Add(name, forward);
    }

    /// <summary>Registers an optimizer: <paramref name="make"/> builds it on the parameter and returns its step.</summary>
    public void Optimizer(string name, OptimizerStep make)
    {
        if (_ops.ContainsKey(name) || _optimizers.ContainsKey(name))
            throw new InvalidOperationException($"conformance: op '{name}' is registered twice");
        _optimizers.Add(name, make);
    }

    public bool TryGetOp(string name, out Forward forward) => _ops.TryGetValue(name, out forward!);

    public bool TryGetOptimizer(string name, out OptimizerStep make) => _optimizers.TryGetValue(name, out make!);

    public IEnumerable<string> Names => _ops.Keys.Concat(_optimizers.Keys);
}
