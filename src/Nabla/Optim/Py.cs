namespace Nabla.Optim;

/// <summary>The optimizers' argument errors (numbers in them are formatted by <see cref="Nn.PyFormat"/>).</summary>
internal static class Py
{
    /// <summary>An argument error naming the constructor argument <paramref name="paramName"/>.</summary>
    public static ArgumentOutOfRangeException Invalid(string paramName, string message) => new(paramName, message);
}
