namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Element-wise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(Tensor a, float b) => Add(a, Scalar(b));
    /// <summary>Adds a scalar to every element.</summary>
    public static Tensor operator +(float a, Tensor b) => Add(Scalar(a), b);
    /// <summary>Element-wise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);
    /// <summary>Subtracts a scalar from every element.</summary>
    public static Tensor operator -(Tensor a, float b) => Sub(a, Scalar(b));
    /// <summary>A scalar minus each element.</summary>
    public static Tensor operator -(float a, Tensor b) => Sub(Scalar(a), b);
    /// <summary>Element-wise negation.</summary>
    public static Tensor operator -(Tensor a) => Neg(a);
    /// <summary>Element-wise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(Tensor a, float b) => Mul(a, Scalar(b));
    /// <summary>Multiplies every element by a scalar.</summary>
    public static Tensor operator *(float a, Tensor b) => Mul(Scalar(a), b);
    /// <summary>Element-wise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);
    /// <summary>Divides every element by a scalar.</summary>
    public static Tensor operator /(Tensor a, float b) => Div(a, Scalar(b));
    /// <summary>A scalar divided by each element.</summary>
    public static Tensor operator /(float a, Tensor b) => Div(Scalar(a), b);
}
