using System.Numerics;
using System.Numerics.Tensors;
using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Gradient clipping, as <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>: call it
/// between <c>loss.Backward()</c> and <c>opt.Step()</c>. Parameters without a gradient are skipped.
/// </summary>
/// <remarks>
/// One bad batch can produce a gradient orders of magnitude larger than usual (exploding gradients in
/// recurrent networks, loss spikes in transformers); a single step along it can undo many steps of
/// training. Clipping the total norm bounds the step's length while keeping its direction.
/// </remarks>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so their total norm is at most <paramref name="maxNorm"/>, and
    /// returns the total norm before scaling.
    /// </summary>
    /// <remarks>
    /// <code>
    /// 1. total ← ‖(‖g₁‖ₚ, ‖g₂‖ₚ, ...)‖ₚ           (the p-norm of all gradients as one vector; p = ∞: max |gᵢ|)
    /// 2. coef ← min(maxNorm / (total + 1e-6), 1)
    /// 3. gᵢ ← coef · gᵢ                          (every gradient, even when coef = 1)
    /// </code>
    /// The 1e-6 keeps the division finite for zero gradients. Norms are accumulated in double and the
    /// total is rounded to float32, then steps 2-3 run in float32 as PyTorch runs them. A non-finite
    /// total (a NaN or infinite gradient) scales every gradient to NaN or zero unless
    /// <paramref name="errorIfNonfinite"/> asks for an exception instead.
    /// </remarks>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="maxNorm">The largest allowed total norm; non-negative.</param>
    /// <param name="normType">The p of the p-norm: positive, or <see cref="double.PositiveInfinity"/> for the max norm.</param>
    /// <param name="errorIfNonfinite">Whether a NaN or infinite total norm throws rather than scaling.</param>
    /// <returns>The total norm of the gradients before clipping (0 when no parameter has a gradient).</returns>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"ClipGradNorm: expected maxNorm >= 0; got {PyFormat.Float(maxNorm)}");
        if (!(normType > 0))
            throw new ArgumentOutOfRangeException(nameof(normType),
                $"ClipGradNorm: expected a positive normType or infinity; got {PyFormat.Float(normType)}");
        var grads = Grads(parameters);
        if (grads.Count == 0) return 0;

        double acc = 0;
        foreach (var g in grads)
        {
            var s = g.Data;
            if (double.IsPositiveInfinity(normType)) acc = Math.Max(acc, MaxAbs(s));
            else if (normType == 2) acc += SumSquares(s);
            else if (normType == 1) acc += SumAbs(s);
            else acc += SumPow(s, normType);
        }
        float total = (float)(double.IsPositiveInfinity(normType) ? acc
            : normType == 2 ? Math.Sqrt(acc)
            : normType == 1 ? acc
            : Math.Pow(acc, 1 / normType));

        if (errorIfNonfinite && !float.IsFinite(total))
            throw new InvalidOperationException(
                $"The total norm of order {PyFormat.Float(normType)} for gradients from `parameters` is non-finite, so it cannot be clipped. " +
                "To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`");

        float coef = MathF.Min((float)maxNorm / (total + 1e-6f), 1f);
        foreach (var g in grads) TensorPrimitives.Multiply(g.Span, coef, g.Span);
        return total;
    }

    /// <summary>Clamps every gradient element into [−<paramref name="clipValue"/>, <paramref name="clipValue"/>]; NaN stays NaN.</summary>
    /// <remarks>
    /// Unlike <see cref="ClipGradNorm"/> this changes the gradient's direction; it is the cruder tool,
    /// kept for recipes that use it.
    /// </remarks>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="clipValue">The largest allowed magnitude; non-negative.</param>
    public static void ClipGradValue(IEnumerable<Parameter> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(clipValue), $"ClipGradValue: expected clipValue >= 0; got {PyFormat.Float(clipValue)}");
        float c = (float)clipValue;
        foreach (var g in Grads(parameters)) Clamp(g.Span, -c, c);
    }

    static List<Tensor> Grads(IEnumerable<Parameter> parameters)
    {
        var list = new List<Tensor>();
        foreach (var p in parameters)
            if (p?.Grad is { } g) list.Add(g);
        return list;
    }

    // Blocks summed in float32 by the vectorized kernel, the block sums in double. Each lane adds
    // at most Block / (vector width) terms: 128 with 128-bit vectors, so the float error stays small
    // whatever instructions the processor has.
    const int Block = 512;

    static double SumSquares(ReadOnlySpan<float> s)
    {
        double acc = 0;
        for (int i = 0; i < s.Length; i += Block)
            acc += TensorPrimitives.SumOfSquares(s.Slice(i, Math.Min(Block, s.Length - i)));
        return acc;
    }

    static double SumAbs(ReadOnlySpan<float> s)
    {
        double acc = 0;
        for (int i = 0; i < s.Length; i += Block)
            acc += TensorPrimitives.SumOfMagnitudes(s.Slice(i, Math.Min(Block, s.Length - i)));
        return acc;
    }

    static double SumPow(ReadOnlySpan<float> s, double p)
    {
        double acc = 0;
        foreach (float x in s) acc += Math.Pow(Math.Abs(x), p);
        return acc;
    }

    static double MaxAbs(ReadOnlySpan<float> s)
    {
        // MaxMagnitude returns NaN when any element is NaN, as torch's inf-norm does.
        return s.IsEmpty ? 0 : Math.Abs(TensorPrimitives.MaxMagnitude(s));
    }

    static void Clamp(Span<float> s, float lo, float hi)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vlo = new Vector<float>(lo);
            var vhi = new Vector<float>(hi);
            for (; i <= s.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(s.Slice(i));
                // Comparisons are false for NaN, so NaN passes through as clamp_min/clamp_max keep it.
                v = Vector.ConditionalSelect(Vector.LessThan(v, vlo), vlo, v);
                v = Vector.ConditionalSelect(Vector.GreaterThan(v, vhi), vhi, v);
                v.CopyTo(s.Slice(i));
            }
        }
        for (; i < s.Length; i++)
        {
            float x = s[i];
            s[i] = x < lo ? lo : x > hi ? hi : x;
        }
    }
}
