namespace Nabla.Kernels;

/// <summary>Special functions .NET lacks, in float64, accurate beyond what float32 results need.</summary>
internal static class SpecialFunctions
{
    /// <summary>1 / sqrt(2).</summary>
    internal const double InvSqrt2 = 0.70710678118654752440;

    /// <summary>1 / sqrt(2 pi), the peak of the standard normal density.</summary>
    internal const double InvSqrt2Pi = 0.39894228040143267794;

    /// <summary>
    /// The complementary error function erfc(x) = 1 - erf(x), with relative error below 1.2e-7 for
    /// every x (Numerical Recipes' Chebyshev fit <c>erfcc</c>): t = 1 / (1 + |x|/2),
    /// erfc(|x|) = t exp(-x^2 + P(t)), and erfc(-x) = 2 - erfc(x).
    /// </summary>
    /// <remarks>
    /// The relative (not only absolute) accuracy in the tail is what GELU needs: for x = -5 the
    /// result x Phi(x) is about -1.4e-6, and an erf with 1e-7 absolute error would be 10% off there.
    /// </remarks>
    internal static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>The error function erf(x) = 1 - erfc(x); absolute error below 1.2e-7.</summary>
    internal static double Erf(double x) => 1 - Erfc(x);

    /// <summary>
    /// The standard normal distribution function Phi(x) = erfc(-x / sqrt 2) / 2, accurate relative to
    /// its value in the lower tail (where it is tiny) as well as near 1.
    /// </summary>
    internal static double NormalCdf(double x) => 0.5 * Erfc(-x * InvSqrt2);

    /// <summary>The standard normal density phi(x) = exp(-x^2 / 2) / sqrt(2 pi).</summary>
    internal static double NormalPdf(double x) => InvSqrt2Pi * Math.Exp(-0.5 * x * x);

    /// <summary>
    /// log(1 + z), accurate also for tiny z where 1 + z rounds (Goldberg's correction: the rounding
    /// of u = 1 + z cancels in log(u) z / (u - 1)).
    /// </summary>
    internal static double Log1p(double z)
    {
        double u = 1 + z;
        if (u == 1) return z;
        if (double.IsPositiveInfinity(u)) return u;
        return Math.Log(u) * z / (u - 1);
    }
}
