namespace Nabla;

/// <summary>
/// Thrown when an operation receives a tensor of the wrong shape or an argument out of range.
/// The message always names the operation, what it expected and what it got, with shapes written
/// as <c>[64, 1568]</c>, and may end with a <c>hint:</c> line saying how to fix it. When a module
/// rejects its input, the message starts with the module's path in the model (<c>classifier.fc1</c>).
/// </summary>
public sealed class ShapeException : ArgumentException
{
    /// <summary>The operation that rejected its input, e.g. <c>matmul</c> or <c>Linear(784, 512)</c>.</summary>
    public string Op { get; }

    /// <summary>What the operation expected.</summary>
    public string Expected { get; }

    /// <summary>What it received.</summary>
    public string Actual { get; }

    /// <summary>How to fix it, or null.</summary>
    public string? Hint { get; }

    /// <summary>The dotted path of the module that threw within the model (<c>features.0</c>), or null.</summary>
    public string? ModulePath { get; }

    readonly bool _layerStyle;

    /// <summary>Creates the exception; the message is <c>op: expected E; got A</c> plus an optional hint.</summary>
    public ShapeException(string op, string expected, string actual, string? hint = null)
        : this(op, expected, actual, hint, null, false, null) { }

    ShapeException(string op, string expected, string actual, string? hint, string? path, bool layerStyle, Exception? inner)
        : base(Format(op, expected, actual, hint, path, layerStyle), inner)
    {
        Op = op;
        Expected = expected;
        Actual = actual;
        Hint = hint;
        ModulePath = path;
        _layerStyle = layerStyle;
    }

    /// <summary>
    /// The error of a layer given the wrong input, worded <c>Conv2d(3, 16) expects input of shape
    /// (N, 3, H, W); got [8, 1, 28, 28]</c>.
    /// </summary>
    public static ShapeException ForLayer(string layer, string expected, string actual, string? hint = null) =>
        new(layer, expected, actual, hint, null, true, null);

    /// <summary>The same error with <paramref name="name"/> prepended to its module path.</summary>
    internal ShapeException WithModule(string name) =>
        new(Op, Expected, Actual, Hint, ModulePath is null ? name : name + "." + ModulePath, _layerStyle, this);

    static string Format(string op, string expected, string actual, string? hint, string? path, bool layerStyle)
    {
        var s = layerStyle ? $"{op} expects {expected}; got {actual}" : $"{op}: expected {expected}; got {actual}";
        if (path is not null) s = $"{path}: {s}";
        return hint is null ? s : $"{s}\nhint: {hint}";
    }

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
