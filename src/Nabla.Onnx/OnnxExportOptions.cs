namespace Nabla.Onnx;

/// <summary>How <see cref="OnnxExport"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Folds each batch norm that directly follows a convolution into that convolution's weight and
    /// bias (as PyTorch's exporter does). Off by default, so the graph mirrors the model node for node.
    /// </summary>
    public bool FoldBatchNorm { get; init; }

    /// <summary>
    /// Per-channel input normalization to put in front of the model, (x - mean[c]) / std[c], so the
    /// exported model takes raw inputs; null for none. Both have one value per input channel.
    /// </summary>
    public (float[] Mean, float[] Std)? InputNormalization { get; init; }

    /// <summary>The graph input's name (default <c>input</c>).</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The graph output's name (default <c>logits</c>).</summary>
    public string OutputName { get; init; } = "logits";

    /// <summary>Key-value pairs written to the model's <c>metadata_props</c> (class names, normalization, ...).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>A human-readable description written to the model's <c>doc_string</c>.</summary>
    public string? Description { get; init; }
}

/// <summary>What <see cref="OnnxExport.Save"/> wrote.</summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Opset">The default-domain opset version (17).</param>
/// <param name="IrVersion">The ONNX IR version (8).</param>
/// <param name="OpCounts">How many nodes of each op type the graph holds.</param>
/// <param name="Parameters">The number of scalar values in the graph's initializers.</param>
/// <param name="FileBytes">The file's size in bytes.</param>
/// <param name="OutputShape">The output's shape, with -1 for the free batch dimension.</param>
public sealed record OnnxExportResult(string Path, int Opset, long IrVersion, IReadOnlyDictionary<string, int> OpCounts,
    long Parameters, long FileBytes, IReadOnlyList<int> OutputShape)
{
    /// <summary>The number of nodes.</summary>
    public int Nodes => OpCounts.Values.Sum();
}
