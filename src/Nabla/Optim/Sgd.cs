using System.Numerics;
using System.Runtime.InteropServices;
using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight
/// decay, as <c>torch.optim.SGD</c>.
/// </summary>
/// <remarks>
/// <para>For each parameter θ with gradient g, lr γ, momentum μ, dampening τ, weight decay λ:</para>
/// <code>
/// 1. g ← g + λ θ                         (if λ ≠ 0: L2 penalty λ/2 ‖θ‖² folded into the gradient)
/// 2. if μ ≠ 0:
///      b ← g                             (first step: the buffer starts at the gradient)
///      b ← μ b + (1 − τ) g               (later steps)
///      g ← g + μ b   if nesterov,  else  g ← b
/// 3. θ ← θ − γ g
/// </code>
/// <para>
/// Momentum keeps a running sum of past gradients, so directions that agree from step to step build
/// speed while oscillating ones cancel; with μ = 0.9 the step is up to ten times the plain one.
/// Nesterov's variant looks ahead along the buffer before applying the gradient, which damps the
/// overshoot of plain momentum. This is PyTorch's formulation (γ multiplies the buffer), not
/// Sutskever's (γ inside the buffer); the two differ when γ changes during training.
/// </para>
/// <para>State per parameter: <c>momentum_buffer</c> (only when μ ≠ 0). Defaults: lr 1e-3, momentum 0,
/// dampening 0, weight decay 0, nesterov false.</para>
/// </remarks>
public sealed class Sgd : Optimizer
{
    static readonly StateSlot[] Slots = [new("momentum_buffer", Required: false)];

    /// <summary>SGD over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">The learning rate γ.</param>
    /// <param name="momentum">The momentum factor μ.</param>
    /// <param name="dampening">The dampening τ of the gradient added to the buffer.</param>
    /// <param name="weightDecay">The L2 penalty λ added to the gradient.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum (needs μ &gt; 0 and τ = 0).</param>
    public Sgd(IEnumerable<Parameter> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : this(OneGroup(parameters), lr, momentum, dampening, weightDecay, nesterov) { }

    /// <summary>SGD over parameter groups, each of which may override lr, momentum, dampening and weight decay.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">The default learning rate γ.</param>
    /// <param name="momentum">The default momentum factor μ.</param>
    /// <param name="dampening">The default dampening τ.</param>
    /// <param name="weightDecay">The default L2 penalty λ.</param>
    /// <param name="nesterov">Whether to use Nesterov momentum (needs μ &gt; 0 and τ = 0 in every group).</param>
    public Sgd(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : base(groups, MakeDefaults(lr, momentum, dampening, weightDecay, nesterov), CheckOption, Slots, countsSteps: false)
    {
        Nesterov = nesterov;
        if (nesterov)
            foreach (var group in ParamGroups)
                CheckNesterov(group["momentum"], group["dampening"]);
    }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    private protected override string Name => "Sgd";

    static KeyValuePair<string, double>[] MakeDefaults(double lr, double momentum, double dampening, double weightDecay, bool nesterov)
    {
        CheckOption("lr", lr);
        CheckOption("momentum", momentum);
        CheckOption("weight_decay", weightDecay);
        if (nesterov) CheckNesterov(momentum, dampening);
        return [new("lr", lr), new("momentum", momentum), new("dampening", dampening), new("weight_decay", weightDecay)];
    }

    static void CheckNesterov(double momentum, double dampening)
    {
        if (momentum <= 0 || dampening != 0)
            throw Py.Invalid("nesterov", "Nesterov momentum requires a momentum and zero dampening");
    }


    /// <inheritdoc/>
    private protected override void Update(Parameter p, Tensor grad, ParamState state, ParamGroup group)
    {
        double lr = group["lr"], momentum = group["momentum"], dampening = group["dampening"], wd = group["weight_decay"];
        Tensor? buf = null;
        bool first = false;
        if (momentum != 0)
        {
            first = state.Buffers[0] is null;
            buf = state.Buffers[0] ??= Tensor.Owned((int[])p.Data.Dims.Clone(), clear: false); // optimizer state outlives any TensorScope
        }
        var job = _job;
        (job.P, job.G, job.Buf, job.First) = (p.Data.Storage, grad.Storage, buf?.Storage, first);
        (job.NegLr, job.Wd, job.Mu, job.OneMinusDamp, job.Nesterov) =
            ((float)-lr, (float)wd, (float)momentum, (float)(1 - dampening), Nesterov);
        job.Run(p.Numel);
        (job.P, job.G, job.Buf) = ([], [], null);
    }

    readonly Job _job = new();

    sealed class Job : ChunkedUpdate
    {
        public float[] P = [], G = [];
        public float[]? Buf;
        public bool First, Nesterov;
        public float NegLr, Wd, Mu, OneMinusDamp;

        protected override void Apply(int start, int length) =>
            Update(P.AsSpan(start, length), G.AsSpan(start, length), Buf is null ? default : Buf.AsSpan(start, length),
                First, NegLr, Wd, Mu, OneMinusDamp, Nesterov);
    }

    /// <summary>The fused update of one parameter; <paramref name="buf"/> is empty without momentum.</summary>
    static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> buf, bool first,
        float negLr, float wd, float mu, float oneMinusDamp, bool nesterov)
    {
        int n = p.Length, i = 0;
        bool decay = wd != 0, hasBuf = !buf.IsEmpty;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float br = ref MemoryMarshal.GetReference(buf);
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            var vLr = new Vector<float>(negLr);
            var vWd = new Vector<float>(wd);
            var vMu = new Vector<float>(mu);
            var vDamp = new Vector<float>(oneMinusDamp);
            for (; i <= n - w; i += w)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var gv = Vector.LoadUnsafe(ref gr, (nuint)i);
                if (decay) gv += vWd * pv;
                if (hasBuf)
                {
                    var bv = first ? gv : Vector.LoadUnsafe(ref br, (nuint)i) * vMu + vDamp * gv;
                    bv.StoreUnsafe(ref br, (nuint)i);
                    gv = nesterov ? gv + vMu * bv : bv;
                }
                (pv + vLr * gv).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = p[i], gv = g[i];
            if (decay) gv += wd * pv;
            if (hasBuf)
            {
                float bv = first ? gv : buf[i] * mu + oneMinusDamp * gv;
                buf[i] = bv;
                gv = nesterov ? gv + mu * bv : bv;
            }
            p[i] = pv + negLr * gv;
        }
    }
}
