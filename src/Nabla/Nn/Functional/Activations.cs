using System.Numerics;
using System.Numerics.Tensors;
using Nabla.Kernels;

namespace Nabla.Nn;

public static partial class Functional
{
    /// <summary>The logistic function 1 / (1 + e^-x), as <c>F.sigmoid</c>; forwards to <see cref="Tensor.Sigmoid(Tensor)"/>.</summary>
    public static Tensor Sigmoid(Tensor x) => Tensor.Sigmoid(x);

    /// <summary>The hyperbolic tangent, as <c>F.tanh</c>; forwards to <see cref="Tensor.Tanh(Tensor)"/>.</summary>
    public static Tensor Tanh(Tensor x) => Tensor.Tanh(x);

    /// <summary>max(x, 0), as <c>F.relu</c>; forwards to <see cref="Tensor.Relu(Tensor)"/> (gradient 0 at 0).</summary>
    public static Tensor Relu(Tensor x) => Tensor.Relu(x);

    /// <summary>
    /// x where x &gt; 0, else negativeSlope * x, as <c>F.leaky_relu</c> (default slope 0.01).
    /// </summary>
    /// <remarks>
    /// The small slope keeps a gradient flowing through negative inputs, so a unit pushed below zero
    /// can recover ("dying ReLU"). The gradient is 1 for x &gt; 0 and negativeSlope otherwise
    /// (including at 0, as PyTorch). Shape: any; the output has the input's shape.
    /// </remarks>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01)
    {
        ArgumentNullException.ThrowIfNull(x);
        float a = (float)negativeSlope;
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        SelectPositive(x.Storage, x.Storage, a, y.Storage);
        return Tensor.Record(y, "leaky_relu", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            SelectPositive(x.Storage, g.Storage, a, gx.Storage);
            return [gx];
        });
    }

    /// <summary>
    /// x where x &gt; 0, else alpha (e^x - 1), as <c>F.elu</c> (default alpha 1).
    /// </summary>
    /// <remarks>
    /// Smooth for alpha = 1 and saturating at -alpha for very negative inputs, which pushes mean
    /// activations toward zero. Gradient: 1 for x &gt; 0, alpha e^x otherwise. The exponential is
    /// float32, so results near 0 carry an absolute error of about alpha * 6e-8.
    /// </remarks>
    public static Tensor Elu(Tensor x, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(x);
        float a = (float)alpha;
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        var ys = y.Storage.AsSpan();
        // e^min(x, 0): the exponential never overflows on the branch it is not used on
        TensorPrimitives.Min(x.Storage, 0f, ys);
        TensorPrimitives.Exp(ys, ys);
        var xs = x.Storage;
        for (int i = 0; i < ys.Length; i++) ys[i] = xs[i] > 0 ? xs[i] : a * (ys[i] - 1f);
        return Tensor.Record(y, "elu", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            var gs = g.Storage;
            var d = gx.Storage.AsSpan();
            TensorPrimitives.Min(xs, 0f, d);
            TensorPrimitives.Exp(d, d);
            for (int i = 0; i < d.Length; i++) d[i] = xs[i] > 0 ? gs[i] : gs[i] * a * d[i];
            return [gx];
        });
    }

    /// <summary>
    /// The Gaussian error linear unit x Phi(x), as <c>F.gelu</c>, with Phi the standard normal
    /// distribution function. <paramref name="approximate"/> is "none" (the exact erf form, default)
    /// or "tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    /// </summary>
    /// <remarks>
    /// GELU weights its input by the probability that a standard normal variable is below it, a
    /// smooth ReLU used by BERT and GPT. Exact gradient: Phi(x) + x phi(x), with phi the normal
    /// density. Computed in float64 with an erfc of relative error below 1.2e-7, so the tiny values
    /// of the far negative tail are right too.
    /// </remarks>
    public static Tensor Gelu(Tensor x, string approximate = "none")
    {
        ArgumentNullException.ThrowIfNull(x);
        bool tanh = approximate switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw new ArgumentException($"gelu: expected approximate = \"none\" or \"tanh\"; got \"{approximate}\"", nameof(approximate)),
        };
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        var xs = x.Storage;
        var ys = y.Storage;
        if (tanh) for (int i = 0; i < xs.Length; i++) ys[i] = (float)GeluTanh(xs[i], out _);
        else for (int i = 0; i < xs.Length; i++) ys[i] = (float)(xs[i] * SpecialFunctions.NormalCdf(xs[i]));
        return Tensor.Record(y, "gelu", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            var gs = g.Storage;
            var d = gx.Storage;
            if (tanh)
                for (int i = 0; i < xs.Length; i++)
                {
                    GeluTanh(xs[i], out double slope);
                    d[i] = (float)(gs[i] * slope);
                }
            else
                for (int i = 0; i < xs.Length; i++)
                {
                    double v = xs[i];
                    d[i] = (float)(gs[i] * (SpecialFunctions.NormalCdf(v) + v * SpecialFunctions.NormalPdf(v)));
                }
            return [gx];
        });
    }

    static double GeluTanh(double x, out double slope)
    {
        const double k = 0.79788456080286535588; // sqrt(2 / pi)
        const double c = 0.044715;
        double t = Math.Tanh(k * (x + c * x * x * x));
        slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x);
        return 0.5 * x * (1 + t);
    }

    /// <summary>
    /// log(1 + e^(beta x)) / beta, as <c>F.softplus</c> (defaults beta 1, threshold 20); where
    /// beta x &gt; threshold the result is x itself.
    /// </summary>
    /// <remarks>
    /// A smooth ReLU whose derivative is the sigmoid sigma(beta x); above the threshold the two agree
    /// to float precision, so PyTorch (and Nabla) return x with gradient 1. Below it the value is
    /// computed as (max(beta x, 0) + log1p(e^-|beta x|)) / beta in float64, which never overflows.
    /// </remarks>
    public static Tensor Softplus(Tensor x, double beta = 1, double threshold = 20)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (beta == 0 || double.IsNaN(beta))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"softplus: expected a non-zero beta; got {beta}");
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        var xs = x.Storage;
        var ys = y.Storage;
        for (int i = 0; i < xs.Length; i++)
        {
            double bx = beta * xs[i];
            ys[i] = bx > threshold ? xs[i] : (float)((Math.Max(bx, 0) + SpecialFunctions.Log1p(Math.Exp(-Math.Abs(bx)))) / beta);
        }
        return Tensor.Record(y, "softplus", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            var gs = g.Storage;
            var d = gx.Storage;
            for (int i = 0; i < xs.Length; i++)
            {
                double bx = beta * xs[i];
                d[i] = bx > threshold ? gs[i] : (float)(gs[i] * StableSigmoid(bx));
            }
            return [gx];
        });
    }

    /// <summary>1 / (1 + e^-z) without overflow for either sign of z.</summary>
    internal static double StableSigmoid(double z)
    {
        if (z >= 0) return 1 / (1 + Math.Exp(-z));
        double e = Math.Exp(z);
        return e / (1 + e);
    }

    /// <summary>dst = cond &gt; 0 ? v : a * v, element-wise (NaN in cond takes the scaled branch).</summary>
    static void SelectPositive(ReadOnlySpan<float> cond, ReadOnlySpan<float> v, float a, Span<float> dst)
    {
        int i = 0, n = dst.Length;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var c = new Vector<float>(cond[i..]);
                var x = new Vector<float>(v[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(c, Vector<float>.Zero), x, x * va).CopyTo(dst[i..]);
            }
        }
        for (; i < n; i++) dst[i] = cond[i] > 0 ? v[i] : a * v[i];
    }
}
