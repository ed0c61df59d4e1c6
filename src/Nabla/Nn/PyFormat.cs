using System.Globalization;

namespace Nabla.Nn;

/// <summary>Numbers written as Python's <c>repr</c> writes them, so <c>ExtraRepr</c> matches PyTorch's printout.</summary>
internal static class PyFormat
{
    /// <summary>A float as Python prints it: <c>1.0</c>, <c>0.01</c>, <c>1e-05</c>, <c>inf</c>, <c>nan</c>.</summary>
    internal static string Float(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var s = v.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
        if (s.Contains('e', StringComparison.Ordinal))
        {
            // Python pads the exponent to two digits: 1e-05, 1e+16
            int e = s.IndexOf('e', StringComparison.Ordinal);
            string mant = s[..e], exp = s[(e + 1)..];
            char sign = exp[0] is '-' or '+' ? exp[0] : '+';
            string digits = exp.TrimStart('-', '+');
            return $"{mant}e{sign}{digits.PadLeft(2, '0')}";
        }
        return s.Contains('.', StringComparison.Ordinal) ? s : s + ".0";
    }
}
