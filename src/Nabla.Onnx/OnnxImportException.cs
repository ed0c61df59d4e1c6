namespace Nabla.Onnx;

/// <summary>
/// An ONNX file or graph that Nabla cannot import or run: corrupt bytes, an unsupported op or
/// attribute value (named with its node and opset, and the supported set), an inconsistent graph (an
/// undefined tensor, a cycle), or data that does not match its shape. Load-time problems are found
/// before any forward pass, and no partial module is returned.
/// </summary>
public sealed class OnnxImportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxImportException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public OnnxImportException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public OnnxImportException() { }
}
