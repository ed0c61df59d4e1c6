using System.Numerics;
using System.Runtime.InteropServices;
using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// RMSProp (Hinton's lecture 6e; centered form from Graves, 2013), as <c>torch.optim.RMSprop</c>:
/// each coordinate's step is divided by the root of a running mean of its squared gradient.
/// </summary>
/// <remarks>
/// <para>For each parameter θ with gradient g, lr γ, smoothing α, momentum μ, weight decay λ:</para>
/// <code>
/// 1. g ← g + λ θ                          (if λ ≠ 0)
/// 2. v ← α v + (1 − α) g²                 (running mean of squared gradients)
/// 3. if centered: ḡ ← α ḡ + (1 − α) g;  s ← √(v − ḡ²)    (root of the running variance)
///    else:        s ← √v
/// 4. if μ &gt; 0: b ← μ b + g / (s + ε);  θ ← θ − γ b
///    else:      θ ← θ − γ g / (s + ε)
/// </code>
/// <para>
/// Dividing by the gradient's recent magnitude equalizes step sizes across coordinates, so steep and
/// flat directions progress at similar rates; unlike Adagrad the mean forgets old gradients, so steps
/// do not shrink to nothing. Centering divides by the standard deviation instead of the raw second
/// moment. As in PyTorch, ε is added after the square root (TensorFlow adds it inside).
/// </para>
/// <para>State per parameter: <c>step</c>, <c>square_avg</c>, <c>momentum_buffer</c> (μ &gt; 0),
/// <c>grad_avg</c> (centered). Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight decay 0, momentum 0,
/// centered false.</para>
/// </remarks>
public sealed class RmsProp : Optimizer
{
    static readonly StateSlot[] PlainSlots = [new("square_avg", true), new("momentum_buffer", false)];
    static readonly StateSlot[] CenteredSlots = [new("square_avg", true), new("momentum_buffer", false), new("grad_avg", true)];

    /// <summary>RMSProp over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">The learning rate γ.</param>
    /// <param name="alpha">The smoothing constant α of the running means.</param>
    /// <param name="eps">The term ε added to the denominator.</param>
    /// <param name="weightDecay">The L2 penalty λ added to the gradient.</param>
    /// <param name="momentum">The momentum factor μ.</param>
    /// <param name="centered">Whether to divide by the running standard deviation rather than the root mean square.</param>
    public RmsProp(IEnumerable<Parameter> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : this(OneGroup(parameters), lr, alpha, eps, weightDecay, momentum, centered) { }

    /// <summary>RMSProp over parameter groups, each of which may override lr, alpha, eps, weight decay and momentum.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">The default learning rate γ.</param>
    /// <param name="alpha">The default smoothing constant α.</param>
    /// <param name="eps">The default ε.</param>
    /// <param name="weightDecay">The default L2 penalty λ.</param>
    /// <param name="momentum">The default momentum factor μ.</param>
    /// <param name="centered">Whether to use the centered form.</param>
    public RmsProp(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(groups, MakeDefaults(lr, alpha, eps, weightDecay, momentum), CheckOption, centered ? CenteredSlots : PlainSlots, countsSteps: true)
    {
        Centered = centered;
    }

    /// <summary>Whether the centered form is used.</summary>
    public bool Centered { get; }

    private protected override string Name => "RmsProp";

    static KeyValuePair<string, double>[] MakeDefaults(double lr, double alpha, double eps, double weightDecay, double momentum)
    {
        CheckOption("lr", lr);
        CheckOption("eps", eps);
        CheckOption("momentum", momentum);
        CheckOption("weight_decay", weightDecay);
        CheckOption("alpha", alpha);
        return [new("lr", lr), new("momentum", momentum), new("alpha", alpha), new("eps", eps), new("weight_decay", weightDecay)];
    }

    /// <inheritdoc/>
    private protected override void Update(Parameter p, Tensor grad, ParamState state, ParamGroup group)
    {
        double lr = group["lr"], alpha = group["alpha"], eps = group["eps"], wd = group["weight_decay"], momentum = group["momentum"];
        var b = state.Buffers;
        b[0] ??= ZerosLike(p);
        if (momentum > 0) b[1] ??= ZerosLike(p);
        if (Centered) b[2] ??= ZerosLike(p);
        state.Step += 1;
        var job = _job;
        (job.P, job.G, job.Sq, job.Ga, job.Buf) =
            (p.Data.Storage, grad.Storage, b[0]!.Storage, Centered ? b[2]!.Storage : null, momentum > 0 ? b[1]!.Storage : null);
        (job.NegLr, job.Alpha, job.OneMinusAlpha, job.Eps, job.Wd, job.Mu) =
            ((float)-lr, (float)alpha, (float)(1 - alpha), (float)eps, (float)wd, (float)momentum);
        job.Run(p.Numel);
        (job.P, job.G, job.Sq, job.Ga, job.Buf) = ([], [], [], null, null);
    }

    readonly Job _job = new();

    sealed class Job : ChunkedUpdate
    {
        public float[] P = [], G = [], Sq = [];
        public float[]? Ga, Buf;
        public float NegLr, Alpha, OneMinusAlpha, Eps, Wd, Mu;

        static Span<float> Slice(float[]? a, int start, int length) => a is null ? default : a.AsSpan(start, length);

        protected override void Apply(int start, int length) =>
            Update(P.AsSpan(start, length), G.AsSpan(start, length), Sq.AsSpan(start, length), Slice(Ga, start, length),
                Slice(Buf, start, length), NegLr, Alpha, OneMinusAlpha, Eps, Wd, Mu);
    }

    /// <summary>Steps 1-4 for one parameter in one pass; <paramref name="ga"/> and <paramref name="buf"/> may be empty.</summary>
    static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> sq, Span<float> ga, Span<float> buf,
        float negLr, float alpha, float oneMinusAlpha, float eps, float wd, float mu)
    {
        int n = p.Length, i = 0;
        bool decay = wd != 0, centered = !ga.IsEmpty, hasBuf = !buf.IsEmpty;
        // grad_avg.lerp_(g, 1 − α), with PyTorch's two lerp formulas.
        bool smallWeight = Math.Abs(oneMinusAlpha) < 0.5f;
        float lerpRest = 1f - oneMinusAlpha;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float sr = ref MemoryMarshal.GetReference(sq);
        ref float ar = ref MemoryMarshal.GetReference(ga);
        ref float br = ref MemoryMarshal.GetReference(buf);
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            var vLr = new Vector<float>(negLr);
            var vAlpha = new Vector<float>(alpha);
            var vOma = new Vector<float>(oneMinusAlpha);
            var vRest = new Vector<float>(lerpRest);
            var vEps = new Vector<float>(eps);
            var vWd = new Vector<float>(wd);
            var vMu = new Vector<float>(mu);
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var pv = Vector.LoadUnsafe(ref pr, o);
                var gv = Vector.LoadUnsafe(ref gr, o);
                if (decay) gv += vWd * pv;
                var sv = Vector.LoadUnsafe(ref sr, o) * vAlpha + vOma * gv * gv;
                sv.StoreUnsafe(ref sr, o);
                Vector<float> avg;
                if (centered)
                {
                    var av = Vector.LoadUnsafe(ref ar, o);
                    av = smallWeight ? av + vOma * (gv - av) : gv - (gv - av) * vRest;
                    av.StoreUnsafe(ref ar, o);
                    avg = Vector.SquareRoot(sv - av * av) + vEps;
                }
                else avg = Vector.SquareRoot(sv) + vEps;
                if (hasBuf)
                {
                    var bv = Vector.LoadUnsafe(ref br, o) * vMu + gv / avg;
                    bv.StoreUnsafe(ref br, o);
                    (pv + vLr * bv).StoreUnsafe(ref pr, o);
                }
                else (pv + vLr * gv / avg).StoreUnsafe(ref pr, o);
            }
        }
        for (; i < n; i++)
        {
            float pv = p[i], gv = g[i];
            if (decay) gv += wd * pv;
            float sv = sq[i] * alpha + oneMinusAlpha * gv * gv;
            sq[i] = sv;
            float avg;
            if (centered)
            {
                float av = ga[i];
                av = smallWeight ? av + oneMinusAlpha * (gv - av) : gv - (gv - av) * lerpRest;
                ga[i] = av;
                avg = MathF.Sqrt(sv - av * av) + eps;
            }
            else avg = MathF.Sqrt(sv) + eps;
            if (hasBuf)
            {
                float bv = buf[i] * mu + gv / avg;
                buf[i] = bv;
                p[i] = pv + negLr * bv;
            }
            else p[i] = pv + negLr * gv / avg;
        }
    }
}
