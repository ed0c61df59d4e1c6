namespace Nabla.Nn;

/// <summary>The argument checks the normalization layers share.</summary>
internal static class NormArgs
{
    /// <summary>
    /// eps keeps the square root away from zero; a negative or infinite one gives NaN or all-zero
    /// outputs instead of an error, so it is refused (PyTorch accepts anything).
    /// </summary>
    public static void CheckEps(string layer, double eps)
    {
        if (!(eps >= 0) || double.IsPositiveInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{layer}: expected a finite eps >= 0; got {PyFormat.Float(eps)}");
    }

    /// <summary>
    /// The running statistics are (1 - momentum) old + momentum new: outside [0, 1] they diverge
    /// or change sign, so such a momentum is refused (PyTorch accepts anything).
    /// </summary>
    public static void CheckMomentum(string layer, double momentum)
    {
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum,
                $"{layer}: expected momentum in [0, 1]; got {PyFormat.Float(momentum)}");
    }
}
