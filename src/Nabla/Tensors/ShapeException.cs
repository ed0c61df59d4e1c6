namespace Nabla;

/// <summary>
/// Thrown when an operation receives a tensor of the wrong shape or an argument out of range.
/// The message always names the operation, what it expected and what it got, with shapes written
/// as <c>[64, 1568]</c>, and may end with a <c>hint:</c> line saying how to fix it.
/// </summary>
public sealed class ShapeException : ArgumentException
{
    /// <summary>The operation that rejected its input, e.g. <c>matmul</c>.</summary>
    public string Op { get; }

    /// <summary>What the operation expected.</summary>
    public string Expected { get; }

    /// <summary>What it received.</summary>
    public string Actual { get; }

    /// <summary>Creates the exception; the message is <c>op: expected E; got A</c> plus an optional hint.</summary>
    public ShapeException(string op, string expected, string actual, string? hint = null)
        : base(Format(op, expected, actual, hint))
    {
        Op = op;
        Expected = expected;
        Actual = actual;
    }

    static string Format(string op, string expected, string actual, string? hint) =>
        hint is null ? $"{op}: expected {expected}; got {actual}" : $"{op}: expected {expected}; got {actual}\nhint: {hint}";

    /// <summary>Writes a shape the way every Nabla message does: <c>[2, 3, 4]</c>; a scalar is <c>[]</c>.</summary>
    public static string Str(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 0) return "[]";
        var sb = new System.Text.StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i]);
        }
        return sb.Append(']').ToString();
    }
}
