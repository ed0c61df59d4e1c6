using System.Globalization;

namespace Nabla.Optim;

/// <summary>Formats numbers in error messages as Python prints them, so messages read as PyTorch's.</summary>
internal static class Py
{
    /// <summary><c>-0.1</c>, <c>1.0</c>, <c>1e-08</c>, <c>inf</c>, <c>nan</c>.</summary>
    public static string Fmt(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var s = v.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
        return s.Contains('e', StringComparison.Ordinal) || s.Contains('.', StringComparison.Ordinal) ? s : s + ".0";
    }

    /// <summary>An argument error naming the constructor argument <paramref name="paramName"/>.</summary>
    public static ArgumentOutOfRangeException Invalid(string paramName, string message) => new(paramName, message);
}
