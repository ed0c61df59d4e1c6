using System.Numerics.Tensors;

namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Applies a span kernel to a fresh output of the same shape.</summary>
    internal static Tensor Map(Tensor x, SpanMap kernel)
    {
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        // Some TensorPrimitives kernels (Sigmoid) reject empty spans; an empty tensor maps to an empty tensor.
        if (y.Storage.Length > 0) kernel(x.Storage, y.Storage);
        return y;
    }

    internal delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Element-wise -x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Negate);
        return Record(y, "neg", [x], g => [Neg(g)]);
    }

    /// <summary>Element-wise e^x.</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Exp);
        return Record(y, "exp", [x], g => [Mul(g, y)]);
    }

    /// <summary>Element-wise natural logarithm; log(0) = -inf and log of a negative number is NaN.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Log);
        return Record(y, "log", [x], g => [Div(g, x)]);
    }

    /// <summary>Element-wise square root; the square root of a negative number is NaN.</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Sqrt);
        // d sqrt(x) = 1 / (2 sqrt(x)), from the saved output
        return Record(y, "sqrt", [x], g => [Div(g, Mul(y, Scalar(2f)))]);
    }

    /// <summary>Element-wise |x|. The gradient at 0 is 0 (the sign of 0), as in PyTorch.</summary>
    public static Tensor Abs(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Abs);
        return Record(y, "abs", [x], g => [Mul(g, Sign(x))]);
    }

    /// <summary>Element-wise sign: -1, 0 or 1 (NaN stays NaN). Not differentiable (gradient 0), so it records nothing.</summary>
    public static Tensor Sign(Tensor x) => Map(x, static (s, d) =>
    {
        for (int i = 0; i < s.Length; i++) d[i] = s[i] > 0 ? 1f : s[i] < 0 ? -1f : s[i] == 0 ? 0f : float.NaN;
    });

    /// <summary>Element-wise logistic function 1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Sigmoid);
        // sigma' = sigma (1 - sigma), from the saved output
        return Record(y, "sigmoid", [x], g => [Mul(g, Mul(y, Sub(Scalar(1f), y)))]);
    }

    /// <summary>Element-wise hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = Map(x, TensorPrimitives.Tanh);
        // tanh' = 1 - tanh^2, from the saved output
        return Record(y, "tanh", [x], g => [Mul(g, Sub(Scalar(1f), Mul(y, y)))]);
    }

    /// <summary>Element-wise max(x, 0); NaN stays NaN.</summary>
    /// <remarks>
    /// NOTE: the gradient at exactly 0 is 0, as PyTorch's threshold backward (x &gt; 0). Writing relu
    /// as <c>Maximum(x, 0)</c> would instead split the gradient at the tie and give 0.5 there.
    /// </remarks>
    public static Tensor Relu(Tensor x)
    {
        var y = new Tensor((int[])x.Dims.Clone(), clear: false);
        Kernels.Activation.Relu(x.Storage, y.Storage);
        // y > 0 exactly where x > 0, so backward reads the saved output and x can be released.
        return Record(y, "relu", [x], g =>
        {
            var gx = new Tensor((int[])x.Dims.Clone(), clear: false);
            Kernels.Activation.ReluBackward(y.Storage, g.Storage, gx.Storage);
            return [gx];
        });
    }

    /// <summary>Instance form of <see cref="Exp(Tensor)"/>.</summary>
    public Tensor Exp() => Exp(this);
    /// <summary>Instance form of <see cref="Log(Tensor)"/>.</summary>
    public Tensor Log() => Log(this);
    /// <summary>Instance form of <see cref="Sqrt(Tensor)"/>.</summary>
    public Tensor Sqrt() => Sqrt(this);
    /// <summary>Instance form of <see cref="Abs(Tensor)"/>.</summary>
    public Tensor Abs() => Abs(this);
    /// <summary>Instance form of <see cref="Neg(Tensor)"/>.</summary>
    public Tensor Neg() => Neg(this);
    /// <summary>Instance form of <see cref="Sigmoid(Tensor)"/>.</summary>
    public Tensor Sigmoid() => Sigmoid(this);
    /// <summary>Instance form of <see cref="Tanh(Tensor)"/>.</summary>
    public Tensor Tanh() => Tanh(this);
    /// <summary>Instance form of <see cref="Relu(Tensor)"/>.</summary>
    public Tensor Relu() => Relu(this);
}
