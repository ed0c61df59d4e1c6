namespace Nabla.Nn;

/// <summary>
/// The maxout activation (Goodfellow et al., 2013): input (N, units * pieces) -> output (N, units),
/// out[:, u] = max_j input[:, u * pieces + j]. Put it after a Linear layer with units * pieces
/// outputs, so each unit takes the maximum of <c>pieces</c> learned linear functions.
/// </summary>
/// <remarks>
/// Not in PyTorch; the name and print follow its style (<c>Maxout(pieces=3)</c>). Any rank
/// &gt;= 1 is accepted, grouping along the last dimension. Gradient: to each group's maximum
/// (the first on ties). See <see cref="Functional.Maxout"/>.
/// </remarks>
public sealed class Maxout : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="pieces">Linear pieces per unit; at least 1 (1 is the identity).</param>
    public Maxout(int pieces)
    {
        if (pieces < 1)
            throw new ArgumentOutOfRangeException(nameof(pieces), pieces, $"Maxout: expected pieces >= 1; got {pieces}");
        Pieces = pieces;
    }

    /// <summary>Linear pieces per unit.</summary>
    public int Pieces { get; }

    /// <inheritdoc/>
    protected override Tensor ForwardCore(Tensor input)
    {
        if (input.Rank == 0 || input.Shape[^1] % Pieces != 0)
            throw ShapeException.ForLayer($"Maxout(pieces={Pieces})", $"input of shape (N, units*{Pieces})", input.ShapeString,
                input.Rank == 0 ? null : $"{input.Shape[^1]} features do not split into groups of {Pieces}; the layer before should output a multiple of {Pieces}");
        return Functional.Maxout(input, Pieces);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"pieces={Pieces}";
}
