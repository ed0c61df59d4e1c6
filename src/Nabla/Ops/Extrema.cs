namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>Element-wise max(a, b) with broadcasting; NaN in either gives NaN.</summary>
    /// <remarks>Where a = b the gradient is split evenly between the two, as in PyTorch.</remarks>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Maximum, "maximum");
        return Record(y, "maximum", [a, b], g => TieSplit(g, a, b, Gt(a, b), Lt(a, b)));
    }

    /// <summary>Element-wise min(a, b) with broadcasting; NaN in either gives NaN.</summary>
    /// <remarks>Where a = b the gradient is split evenly between the two, as in PyTorch.</remarks>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = BinaryForward(a, b, BinaryOp.Minimum, "minimum");
        return Record(y, "minimum", [a, b], g => TieSplit(g, a, b, Lt(a, b), Gt(a, b)));
    }

    /// <summary>The gradients of a selection between a and b: all of g to the winner, half to each on a tie.</summary>
    static Tensor?[] TieSplit(Tensor g, Tensor a, Tensor b, Tensor aWins, Tensor bWins)
    {
        var half = Mul(Eq(a, b), Scalar(0.5f));
        return
        [
            a.RequiresGrad ? Mul(g, Add(aWins, half)) : null,
            b.RequiresGrad ? Mul(g, Add(bWins, half)) : null,
        ];
    }

    /// <summary>
    /// Limits every element to [min, max], as <c>torch.clamp</c>; either bound may be omitted, not both.
    /// If min &gt; max every element becomes max. NaN stays NaN. The gradient passes where
    /// min &lt;= x &lt;= max and is 0 elsewhere.
    /// </summary>
    public static Tensor Clamp(Tensor x, float? min = null, float? max = null)
    {
        if (min is null && max is null)
            throw new ArgumentException("clamp: expected at least one of min and max; got neither");
        var y = x;
        using (Autograd.NoGrad())
        {
            if (min is { } lo) y = BinaryForward(y, Scalar(lo), BinaryOp.Maximum, "clamp");
            if (max is { } hi) y = BinaryForward(y, Scalar(hi), BinaryOp.Minimum, "clamp");
        }
        if (ReferenceEquals(y, x)) y = x.Clone();
        return Record(y, "clamp", [x], g =>
        {
            var pass = min is { } lo ? Ge(x, lo) : OnesLike(x);
            if (max is { } hi) pass = Mul(pass, Le(x, hi));
            return [Mul(g, pass)];
        });
    }

    /// <summary>Instance form of <see cref="Maximum(Tensor, Tensor)"/>.</summary>
    public Tensor Maximum(Tensor other) => Maximum(this, other);
    /// <summary>Instance form of <see cref="Minimum(Tensor, Tensor)"/>.</summary>
    public Tensor Minimum(Tensor other) => Minimum(this, other);
    /// <summary>Instance form of <see cref="Clamp(Tensor, float?, float?)"/>: <c>x.Clamp(min: 0)</c>.</summary>
    public Tensor Clamp(float? min = null, float? max = null) => Clamp(this, min, max);
}
