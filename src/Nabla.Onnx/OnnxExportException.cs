namespace Nabla.Onnx;

/// <summary>
/// A model or an input shape that cannot be written as ONNX. The message names the module's path
/// in the model and its type, and says why; nothing has been written when it is thrown.
/// </summary>
public sealed class OnnxExportException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnnxExportException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public OnnxExportException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public OnnxExportException() { }
}
