namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Element-wise a^b with broadcasting, as <c>torch.pow</c>.</summary>
    /// <remarks>
    /// Gradients follow PyTorch: d/da = b a^(b-1), taken as 0 where b = 0 (so 0^0 does not give
    /// 0 * inf); d/db = a^b log(a), taken as 0 where a = 0 and b &gt;= 0 (the limit from the right),
    /// and NaN for a negative base, where the power is not differentiable in b.
    /// </remarks>
    public static Tensor Pow(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Pow, "pow");
        return Record(y, "pow", [a, b], g =>
        [
            a.RequiresGrad ? Where(Eq(b, 0f), Scalar(0f), Mul(g, Mul(b, Pow(a, Sub(b, Scalar(1f)))))) : null,
            b.RequiresGrad ? Where(Mul(Eq(a, 0f), Ge(b, 0f)), Scalar(0f), Mul(g, Mul(y, Log(a)))) : null,
        ]);
    }

    /// <summary>Element-wise x^p for a scalar exponent.</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        var y = BinaryForward(x, Scalar(p), BinaryOp.Pow, "pow");
        return Record(y, "pow", [x], g => [p == 0 ? ZerosLike(g) : Mul(g, Mul(Pow(x, p - 1), Scalar(p)))]);
    }

    /// <summary>Instance form of <see cref="Pow(Tensor, Tensor)"/>.</summary>
    public Tensor Pow(Tensor exponent) => Pow(this, exponent);

    /// <summary>Instance form of <see cref="Pow(Tensor, float)"/>: <c>x.Pow(2f)</c>.</summary>
    public Tensor Pow(float exponent) => Pow(this, exponent);
}
