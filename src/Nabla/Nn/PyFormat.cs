using System.Globalization;

namespace Nabla.Nn;

/// <summary>
/// Values written as Python's <c>repr</c> writes them, so <c>ExtraRepr</c> matches PyTorch's
/// printout and error messages read as PyTorch's. The one formatter of the library.
/// </summary>
internal static class PyFormat
{
    /// <summary>A float as Python's repr writes it: <c>1e-05</c>, <c>0.1</c>, <c>1.0</c>, <c>1e+16</c>.</summary>
    /// <remarks>
    /// Both languages print the shortest round-trip digits; .NET switches to scientific notation for
    /// exponents up to -5 as Python does, but Python also does from 1e16, and writes the exponent
    /// with a sign and two digits.
    /// </remarks>
    public static string Float(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        string s = v.ToString("R", CultureInfo.InvariantCulture);
        string sign = s.StartsWith('-') ? "-" : "";
        if (sign.Length > 0) s = s[1..];
        int e = s.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            int exp = int.Parse(s[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return $"{sign}{s[..e]}e{(exp < 0 ? '-' : '+')}{Math.Abs(exp):00}";
        }
        if (Math.Abs(v) >= 1e16)
        {
            string rest = s[1..].TrimEnd('0'); // an integer: beyond 2^53 every double is one
            return $"{sign}{s[0]}{(rest.Length > 0 ? "." + rest : "")}e+{s.Length - 1:00}";
        }
        return sign + (s.Contains('.', StringComparison.Ordinal) ? s : s + ".0");
    }

    /// <summary>True or False.</summary>
    public static string Bool(bool b) => b ? "True" : "False";

    /// <summary>A tuple of ints: <c>(8,)</c>, <c>(6, 5, 5)</c>.</summary>
    public static string Tuple(IReadOnlyList<int> dims) =>
        dims.Count == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
}
