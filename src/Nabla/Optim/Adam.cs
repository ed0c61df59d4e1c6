using System.Numerics;
using System.Runtime.InteropServices;
using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Adam (Kingma and Ba, 2014), as <c>torch.optim.Adam</c>: each parameter moves by its bias-corrected
/// gradient average divided by the root of its bias-corrected squared-gradient average, with weight
/// decay as an L2 penalty added to the gradient.
/// </summary>
/// <remarks>
/// <para>For each parameter θ with gradient g, lr γ, betas β₁ β₂, weight decay λ, at step t = 1, 2, ...:</para>
/// <code>
/// 1. g ← g + λ θ                          (if λ ≠ 0; AdamW instead does θ ← θ (1 − γ λ))
/// 2. m ← β₁ m + (1 − β₁) g                (first moment: a running mean of gradients)
/// 3. v ← β₂ v + (1 − β₂) g²               (second moment: a running mean of squared gradients)
/// 4. v̂max ← max(v̂max, v)                  (if amsgrad; v̂max is used for v below)
/// 5. denom ← √v / √(1 − β₂ᵗ) + ε
/// 6. θ ← θ − γ / (1 − β₁ᵗ) · m / denom
/// </code>
/// <para>
/// m and v start at zero, so early averages are biased towards zero; dividing by 1 − βᵗ (computed in
/// double, like PyTorch) removes that bias. Dividing by √v gives every coordinate a step of roughly γ
/// whatever the gradient's scale, which is why Adam needs little tuning. ε is added outside the root.
/// </para>
/// <para>
/// Because of that division, an L2 penalty folded into g is rescaled as well: weights with large
/// gradient history are decayed less than the penalty intends. <see cref="AdamW"/> decouples the decay
/// from the adaptive step and is the usual choice for weight decay.
/// </para>
/// <para>State per parameter: <c>step</c>, <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v) and, with amsgrad,
/// <c>max_exp_avg_sq</c>. Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0, amsgrad false.</para>
/// </remarks>
public class Adam : Optimizer
{
    static readonly StateSlot[] PlainSlots = [new("exp_avg", true), new("exp_avg_sq", true)];
    static readonly StateSlot[] AmsSlots = [new("exp_avg", true), new("exp_avg_sq", true), new("max_exp_avg_sq", true)];

    readonly bool _decoupled;

    /// <summary>Adam over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">The learning rate γ.</param>
    /// <param name="beta1">The decay β₁ of the gradient average.</param>
    /// <param name="beta2">The decay β₂ of the squared-gradient average.</param>
    /// <param name="eps">The term ε added to the denominator.</param>
    /// <param name="weightDecay">The L2 penalty λ added to the gradient.</param>
    /// <param name="amsgrad">Whether to divide by the largest second moment seen so far (AMSGrad).</param>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(OneGroup(parameters), lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>Adam over parameter groups, each of which may override lr, beta1, beta2, eps and weight decay.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">The default learning rate γ.</param>
    /// <param name="beta1">The default β₁.</param>
    /// <param name="beta2">The default β₂.</param>
    /// <param name="eps">The default ε.</param>
    /// <param name="weightDecay">The default L2 penalty λ.</param>
    /// <param name="amsgrad">Whether to use AMSGrad.</param>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false) { }

    private protected Adam(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool amsgrad, bool decoupled)
        : base(groups, MakeDefaults(lr, beta1, beta2, eps, weightDecay), CheckOption, amsgrad ? AmsSlots : PlainSlots, countsSteps: true)
    {
        Amsgrad = amsgrad;
        _decoupled = decoupled;
    }

    /// <summary>Whether AMSGrad's running maximum of the second moment is used.</summary>
    public bool Amsgrad { get; }

    private protected override string Name => "Adam";

    static KeyValuePair<string, double>[] MakeDefaults(double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        CheckOption("lr", lr);
        CheckOption("eps", eps);
        CheckOption("beta1", beta1);
        CheckOption("beta2", beta2);
        CheckOption("weight_decay", weightDecay);
        return [new("lr", lr), new("beta1", beta1), new("beta2", beta2), new("eps", eps), new("weight_decay", weightDecay)];
    }

    /// <inheritdoc/>
    private protected override void Update(Parameter p, Tensor grad, ParamState state, ParamGroup group)
    {
        double lr = group["lr"], beta1 = group["beta1"], beta2 = group["beta2"], eps = group["eps"], wd = group["weight_decay"];
        var b = state.Buffers;
        b[0] ??= ZerosLike(p);
        b[1] ??= ZerosLike(p);
        if (Amsgrad) b[2] ??= ZerosLike(p);
        double t = state.Step += 1;
        double biasCorrection1 = 1 - Math.Pow(beta1, t);
        double biasCorrection2 = 1 - Math.Pow(beta2, t);
        var k = new Coefficients
        {
            Decay = _decoupled && wd != 0 ? (float)(1 - lr * wd) : 1f,
            L2 = _decoupled ? 0f : (float)wd,
            Weight1 = (float)(1 - beta1),
            Beta2 = (float)beta2,
            OneMinusBeta2 = (float)(1 - beta2),
            BiasCorrection2Sqrt = (float)Math.Sqrt(biasCorrection2),
            Eps = (float)eps,
            NegStepSize = (float)-(lr / biasCorrection1),
        };
        var job = _job;
        (job.P, job.G, job.M, job.V, job.VMax, job.K) =
            (p.Data.Storage, grad.Storage, b[0]!.Storage, b[1]!.Storage, Amsgrad ? b[2]!.Storage : null, k);
        job.Run(p.Numel);
        (job.P, job.G, job.M, job.V, job.VMax) = ([], [], [], [], null);
    }

    readonly Job _job = new();

    sealed class Job : ChunkedUpdate
    {
        public float[] P = [], G = [], M = [], V = [];
        public float[]? VMax;
        public Coefficients K;

        protected override void Apply(int start, int length) =>
            Update(P.AsSpan(start, length), G.AsSpan(start, length), M.AsSpan(start, length), V.AsSpan(start, length),
                VMax is null ? default : VMax.AsSpan(start, length), K);
    }

    /// <summary>The scalars of one update, rounded to float32 as PyTorch's kernels round them.</summary>
    struct Coefficients
    {
        public float Decay, L2, Weight1, Beta2, OneMinusBeta2, BiasCorrection2Sqrt, Eps, NegStepSize;
    }

    /// <summary>Steps 1-6 for one parameter in one pass; <paramref name="vmax"/> is empty without amsgrad.</summary>
    static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vmax, in Coefficients k)
    {
        int n = p.Length, i = 0;
        bool decoupled = k.Decay != 1f, l2 = k.L2 != 0f, ams = !vmax.IsEmpty;
        // m.lerp_(g, w): PyTorch uses m + w (g − m) for w < 0.5 and g − (g − m)(1 − w) otherwise.
        bool smallWeight = Math.Abs(k.Weight1) < 0.5f;
        float oneMinusWeight1 = 1f - k.Weight1;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref float vr = ref MemoryMarshal.GetReference(v);
        ref float xr = ref MemoryMarshal.GetReference(vmax);
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            var decay = new Vector<float>(k.Decay);
            var wd = new Vector<float>(k.L2);
            var w1 = new Vector<float>(k.Weight1);
            var omw1 = new Vector<float>(oneMinusWeight1);
            var b2 = new Vector<float>(k.Beta2);
            var omb2 = new Vector<float>(k.OneMinusBeta2);
            var bc2 = new Vector<float>(k.BiasCorrection2Sqrt);
            var eps = new Vector<float>(k.Eps);
            var step = new Vector<float>(k.NegStepSize);
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var pv = Vector.LoadUnsafe(ref pr, o);
                var gv = Vector.LoadUnsafe(ref gr, o);
                if (decoupled) pv *= decay;
                if (l2) gv += wd * pv;
                var mv = Vector.LoadUnsafe(ref mr, o);
                mv = smallWeight ? mv + w1 * (gv - mv) : gv - (gv - mv) * omw1;
                var vv = Vector.LoadUnsafe(ref vr, o) * b2 + omb2 * gv * gv;
                mv.StoreUnsafe(ref mr, o);
                vv.StoreUnsafe(ref vr, o);
                if (ams)
                {
                    vv = Vector.Max(Vector.LoadUnsafe(ref xr, o), vv);
                    vv.StoreUnsafe(ref xr, o);
                }
                var denom = Vector.SquareRoot(vv) / bc2 + eps;
                (pv + step * mv / denom).StoreUnsafe(ref pr, o);
            }
        }
        for (; i < n; i++)
        {
            float pv = p[i], gv = g[i];
            if (decoupled) pv *= k.Decay;
            if (l2) gv += k.L2 * pv;
            float mv = m[i];
            mv = smallWeight ? mv + k.Weight1 * (gv - mv) : gv - (gv - mv) * oneMinusWeight1;
            float vv = v[i] * k.Beta2 + k.OneMinusBeta2 * gv * gv;
            m[i] = mv;
            v[i] = vv;
            if (ams) vmax[i] = vv = MathF.Max(vmax[i], vv);
            float denom = MathF.Sqrt(vv) / k.BiasCorrection2Sqrt + k.Eps;
            p[i] = pv + k.NegStepSize * mv / denom;
        }
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter, 2019), as <c>torch.optim.AdamW</c>: Adam with decoupled weight decay,
/// which shrinks the weights directly instead of adding an L2 term to the gradient.
/// </summary>
/// <remarks>
/// <para>For each parameter θ with gradient g, lr γ, weight decay λ, at step t:</para>
/// <code>
/// 1. θ ← θ (1 − γ λ)                      (decoupled decay, before the Adam update)
/// 2. m ← β₁ m + (1 − β₁) g
/// 3. v ← β₂ v + (1 − β₂) g²
/// 4. v̂max ← max(v̂max, v)                  (if amsgrad)
/// 5. denom ← √v / √(1 − β₂ᵗ) + ε
/// 6. θ ← θ − γ / (1 − β₁ᵗ) · m / denom
/// </code>
/// <para>
/// Why decoupled: under plain SGD an L2 penalty and weight decay are the same thing, but Adam divides
/// the gradient by √v, so an L2 term folded into g is divided too and weights with large gradients are
/// barely regularized. Decaying θ outside the adaptive step shrinks every weight by the same factor
/// 1 − γλ per step, which is what weight decay means and generalizes better in practice; it also
/// makes the best λ largely independent of γ's schedule. With λ = 0 AdamW and Adam are identical.
/// </para>
/// <para>Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, amsgrad false. Use
/// <see cref="ParamGroup.SplitByRank(Module, double)"/> to leave biases and normalization parameters undecayed.</para>
/// </remarks>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">The learning rate γ.</param>
    /// <param name="beta1">The decay β₁ of the gradient average.</param>
    /// <param name="beta2">The decay β₂ of the squared-gradient average.</param>
    /// <param name="eps">The term ε added to the denominator.</param>
    /// <param name="weightDecay">The decoupled weight decay λ.</param>
    /// <param name="amsgrad">Whether to use AMSGrad.</param>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : this(OneGroup(parameters), lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// <summary>AdamW over parameter groups, each of which may override lr, beta1, beta2, eps and weight decay.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">The default learning rate γ.</param>
    /// <param name="beta1">The default β₁.</param>
    /// <param name="beta2">The default β₂.</param>
    /// <param name="eps">The default ε.</param>
    /// <param name="weightDecay">The default decoupled weight decay λ.</param>
    /// <param name="amsgrad">Whether to use AMSGrad.</param>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true) { }

    private protected override string Name => "AdamW";
}
