namespace Nabla.Serialization;

/// <summary>
/// Thrown when a safetensors file breaks the format: the message names the file and what is wrong,
/// e.g. <c>safetensors file 'model.safetensors': tensor "fc.weight" has data_offsets [0, 96], 96 bytes; its dtype F32 and shape [4, 8] need 128</c>.
/// </summary>
/// <remarks>
/// Every malformed input ends in this one exception type, never an index, overflow or
/// out-of-memory error: the header is validated completely before any tensor is allocated.
/// </remarks>
public sealed class SafeTensorsException : FormatException
{
    /// <summary>Creates the exception for <paramref name="source"/> (a path, or a description of a stream).</summary>
    public SafeTensorsException(string source, string problem, Exception? inner = null)
        : base($"safetensors file '{source}': {problem}", inner)
    {
        FileName = source;
        Problem = problem;
    }

    /// <summary>The file (or stream) that was rejected.</summary>
    public string FileName { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
