namespace Nabla;

/// <summary>
/// Gradient checking, like <c>torch.autograd.gradcheck</c>: the analytic gradients the engine
/// computes are compared with central finite differences of the function.
/// </summary>
/// <remarks>
/// <para>
/// Nabla has float32 tensors only, so the float64 recipe of PyTorch (step 1e-6, atol 1e-5,
/// rtol 1e-3) does not apply. Instead: the scalar probed is L = sum(w * f(inputs)) with fixed
/// random weights w in [-1, 1) (so every output element and its position matter); f runs in
/// float32, but L is accumulated in double. Each input element x is moved by a step
/// h = <c>relativeStep</c> * max(1, |x|) (default 1e-3, a balance between float32 round-off, which
/// grows as 1/h, and truncation error, which grows as h^2); the actual distance between the two
/// float32 points is used as the denominator. Analytic a and numeric n agree when
/// |a - n| &lt;= atol + rtol |n|, with atol 2e-3 and rtol 1e-2 by default (JAX's float32 setting).
/// </para>
/// <para>
/// Only inputs with <see cref="Tensor.RequiresGrad"/> set are checked; others (index tensors,
/// conditions) are held fixed. Inputs are never modified: the function sees perturbed copies.
/// Choose inputs away from kinks (ReLU at 0, ties in max), where the derivative does not exist.
/// </para>
/// </remarks>
public static class GradCheck
{
    /// <summary>The default relative finite-difference step.</summary>
    public const double DefaultStep = 1e-3;

    /// <summary>The default absolute tolerance.</summary>
    public const double DefaultAtol = 2e-3;

    /// <summary>The default relative tolerance.</summary>
    public const double DefaultRtol = 1e-2;

    /// <summary>
    /// Compares analytic and numeric gradients of <paramref name="f"/> at <paramref name="inputs"/>
    /// and returns the comparison; call <see cref="GradCheckResult.Check"/> to throw on a mismatch.
    /// </summary>
    /// <param name="f">The function; it must be deterministic.</param>
    /// <param name="inputs">The point; inputs with RequiresGrad are checked.</param>
    /// <param name="step">The relative step (see remarks of <see cref="GradCheck"/>).</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="seed">Seed of the output weights.</param>
    public static GradCheckResult Run(Func<Tensor[], Tensor> f, Tensor[] inputs, double step = DefaultStep,
        double atol = DefaultAtol, double rtol = DefaultRtol, ulong seed = 1234)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        var leaves = new Tensor[inputs.Length];
        var checkedInputs = new List<int>();
        for (int i = 0; i < inputs.Length; i++)
        {
            leaves[i] = inputs[i].Clone().RequireGrad(inputs[i].RequiresGrad);
            if (inputs[i].RequiresGrad) checkedInputs.Add(i);
        }
        if (checkedInputs.Count == 0)
            throw new ArgumentException("GradCheck: expected at least one input with RequiresGrad = true; got none", nameof(inputs));

        var y = f(leaves);
        var gen = new Generator(seed);
        var w = new float[y.Numel];
        for (int i = 0; i < w.Length; i++) w[i] = 2 * gen.NextSingle() - 1;
        var wt = Tensor.FromArray(w, [.. y.Shape]);
        var analytic = Autograd.Grad([(y * wt).Sum()], [.. checkedInputs.Select(i => leaves[i])], allowUnused: true);

        var probe = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) probe[i] = inputs[i].Detach().Clone();
        double worstRatio = -1;
        GradCheckResult? worst = null;
        int count = 0;
        using (Autograd.NoGrad())
        {
            for (int c = 0; c < checkedInputs.Count; c++)
            {
                int k = checkedInputs[c];
                var s = probe[k].Span;
                if (!analytic[c].Shape.SequenceEqual(inputs[k].Shape))
                    throw new InvalidOperationException(
                        $"GradCheck: expected the gradient of input {k} to have its shape {inputs[k].ShapeString}; got {analytic[c].ShapeString}");
                for (int j = 0; j < s.Length; j++)
                {
                    float x0 = s[j];
                    double h = step * Math.Max(1.0, Math.Abs(x0));
                    float xp = (float)(x0 + h), xm = (float)(x0 - h);
                    s[j] = xp; double fp = Weighted(f(probe), w);
                    s[j] = xm; double fm = Weighted(f(probe), w);
                    s[j] = x0;
                    double numeric = (fp - fm) / ((double)xp - xm);
                    double a = analytic[c].Data[j];
                    double err = Math.Abs(a - numeric), tol = atol + rtol * Math.Abs(numeric);
                    double ratio = double.IsNaN(err) ? double.PositiveInfinity : err / tol;
                    count++;
                    if (ratio > worstRatio)
                    {
                        worstRatio = ratio;
                        worst = new GradCheckResult(k, j, a, numeric, ratio <= 1, atol, rtol, 0);
                    }
                }
            }
        }
        // Inputs with no elements leave nothing to compare: that passes vacuously.
        return (worst ?? new GradCheckResult(-1, -1, 0, 0, true, atol, rtol, 0)) with { Checked = count };
    }

    static double Weighted(Tensor y, float[] w)
    {
        var d = y.Data;
        if (d.Length != w.Length)
            throw new InvalidOperationException($"GradCheck: expected the function to keep its output size {w.Length}; got {d.Length}");
        double s = 0;
        for (int i = 0; i < d.Length; i++) s += (double)d[i] * w[i];
        return s;
    }
}

/// <summary>
/// The outcome of <see cref="GradCheck.Run"/>: whether every element agreed, and the element with
/// the largest error relative to its tolerance.
/// </summary>
/// <param name="Input">Index of the input holding the worst element.</param>
/// <param name="FlatIndex">Its row-major position in that input.</param>
/// <param name="Analytic">The gradient autograd computed there.</param>
/// <param name="Numeric">The central-difference estimate there.</param>
/// <param name="Passed">Whether every element was within tolerance.</param>
/// <param name="Atol">The absolute tolerance used.</param>
/// <param name="Rtol">The relative tolerance used.</param>
/// <param name="Checked">How many input elements were compared.</param>
public sealed record GradCheckResult(int Input, int FlatIndex, double Analytic, double Numeric, bool Passed,
    double Atol, double Rtol, int Checked)
{
    /// <summary>Throws an <see cref="InvalidOperationException"/> describing the worst element unless the check passed.</summary>
    public void Check(string? what = null)
    {
        if (Passed) return;
        throw new InvalidOperationException(
            $"GradCheck{(what is null ? "" : $" ({what})")}: expected analytic and numeric gradients to agree within " +
            $"{Atol:g3} + {Rtol:g3} * |numeric|; got input {Input}, element {FlatIndex}: analytic {Analytic:g6}, " +
            $"numeric {Numeric:g6} (difference {Math.Abs(Analytic - Numeric):g3}, {Checked} elements checked)");
    }
}
