namespace Nabla;

public sealed partial class Tensor
{
    // Comparisons return 1 where the relation holds and 0 elsewhere, with broadcasting. They are
    // not differentiable (their gradient is 0 almost everywhere), so they record nothing and their
    // result never requires a gradient. Any comparison with NaN is false, except Ne, which is true.

    /// <summary>Element-wise a == b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Eq(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Eq, "eq");
    /// <summary>Element-wise a != b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Ne(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Ne, "ne");
    /// <summary>Element-wise a &lt; b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Lt(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Lt, "lt");
    /// <summary>Element-wise a &lt;= b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Le(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Le, "le");
    /// <summary>Element-wise a &gt; b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Gt(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Gt, "gt");
    /// <summary>Element-wise a &gt;= b as 0/1 floats, with broadcasting; never requires a gradient.</summary>
    public static Tensor Ge(Tensor a, Tensor b) => BinaryForward(a, b, BinaryOp.Ge, "ge");

    /// <summary>Element-wise a == b against a scalar, as 0/1 floats.</summary>
    public static Tensor Eq(Tensor a, float b) => Eq(a, Scalar(b));
    /// <summary>Element-wise a != b against a scalar, as 0/1 floats.</summary>
    public static Tensor Ne(Tensor a, float b) => Ne(a, Scalar(b));
    /// <summary>Element-wise a &lt; b against a scalar, as 0/1 floats.</summary>
    public static Tensor Lt(Tensor a, float b) => Lt(a, Scalar(b));
    /// <summary>Element-wise a &lt;= b against a scalar, as 0/1 floats.</summary>
    public static Tensor Le(Tensor a, float b) => Le(a, Scalar(b));
    /// <summary>Element-wise a &gt; b against a scalar, as 0/1 floats.</summary>
    public static Tensor Gt(Tensor a, float b) => Gt(a, Scalar(b));
    /// <summary>Element-wise a &gt;= b against a scalar, as 0/1 floats.</summary>
    public static Tensor Ge(Tensor a, float b) => Ge(a, Scalar(b));

    /// <summary>Instance form of <see cref="Eq(Tensor, Tensor)"/>.</summary>
    public Tensor Eq(Tensor other) => Eq(this, other);
    /// <summary>Instance form of <see cref="Ne(Tensor, Tensor)"/>.</summary>
    public Tensor Ne(Tensor other) => Ne(this, other);
    /// <summary>Instance form of <see cref="Lt(Tensor, Tensor)"/>.</summary>
    public Tensor Lt(Tensor other) => Lt(this, other);
    /// <summary>Instance form of <see cref="Le(Tensor, Tensor)"/>.</summary>
    public Tensor Le(Tensor other) => Le(this, other);
    /// <summary>Instance form of <see cref="Gt(Tensor, Tensor)"/>.</summary>
    public Tensor Gt(Tensor other) => Gt(this, other);
    /// <summary>Instance form of <see cref="Ge(Tensor, Tensor)"/>.</summary>
    public Tensor Ge(Tensor other) => Ge(this, other);
    /// <summary>Instance form of <see cref="Eq(Tensor, float)"/>.</summary>
    public Tensor Eq(float other) => Eq(this, other);
    /// <summary>Instance form of <see cref="Ne(Tensor, float)"/>.</summary>
    public Tensor Ne(float other) => Ne(this, other);
    /// <summary>Instance form of <see cref="Lt(Tensor, float)"/>.</summary>
    public Tensor Lt(float other) => Lt(this, other);
    /// <summary>Instance form of <see cref="Le(Tensor, float)"/>.</summary>
    public Tensor Le(float other) => Le(this, other);
    /// <summary>Instance form of <see cref="Gt(Tensor, float)"/>.</summary>
    public Tensor Gt(float other) => Gt(this, other);
    /// <summary>Instance form of <see cref="Ge(Tensor, float)"/>.</summary>
    public Tensor Ge(float other) => Ge(this, other);
}
