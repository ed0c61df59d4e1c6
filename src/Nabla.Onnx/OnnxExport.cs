using System.Reflection;
using Module = Nabla.Nn.Module;
using Google.Protobuf;
using Nabla.Nn;
using Nabla.Onnx.Export;
using Onnx;

namespace Nabla.Onnx;

/// <summary>
/// Writes a Nabla model as an ONNX file (opset 17, IR version 8) that ONNX Runtime, ML.NET's
/// OnnxTransformer, Windows ML and every other ONNX consumer can run, with the model's
/// evaluation-mode outputs.
/// </summary>
/// <remarks>
/// <para>
/// The module tree is written layer by layer (Linear as Gemm, Conv2d as Conv, BatchNorm2d as
/// BatchNormalization with its running statistics, ...; the table is in docs/onnx.md). Weights
/// become initializers under their state-dict names (<c>0.weight</c>, <c>3.running_mean</c>).
/// Dropout disappears: exporting is exporting the evaluation-mode function.
/// </para>
/// <para>
/// The input is named <c>input</c> and the output <c>logits</c>; the batch dimension is free
/// (named <c>N</c>), so one file serves any batch size. A layer with no ONNX form is refused with
/// an <see cref="OnnxExportException"/> that names its path and type, before anything is written.
/// </para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The default-domain opset the exporter writes.</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written with opset 17, which every current ONNX Runtime loads.</summary>
    public const long IrVersion = 8;

    /// <summary>The layers that have an ONNX form, as named in errors.</summary>
    public const string SupportedLayers =
        "Sequential, BasicBlock, Linear, Conv2d, BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm, Relu, LeakyRelu, " +
        "Elu, Gelu, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax, Maxout, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, " +
        "Flatten, Identity, Dropout, Dropout2d";

    /// <summary>
    /// Exports <paramref name="module"/> to the ONNX file <paramref name="path"/>, replacing it
    /// atomically: a reader sees the old file or the complete new one, and a failure leaves nothing.
    /// </summary>
    /// <param name="module">The model. It is exported in evaluation mode; each module's own mode is restored afterwards.</param>
    /// <param name="inputShape">
    /// The shape of an example input, batch first, e.g. <c>[1, 1, 28, 28]</c>. The batch dimension is
    /// written as the free dimension <c>N</c>; the others are fixed.
    /// </param>
    /// <param name="path">The file to write.</param>
    /// <param name="options">Folding, input normalization, names and metadata; null for the defaults.</param>
    /// <returns>What was written: ops, parameter count, file size, opset.</returns>
    /// <exception cref="OnnxExportException">A module has no ONNX form, or the model does not accept <paramref name="inputShape"/>.</exception>
    public static OnnxExportResult Save(Module module, int[] inputShape, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (model, counts, outputShape) = Build(module, inputShape, options ?? new OnnxExportOptions());
        WriteAtomically(path, model);
        return new OnnxExportResult(path, Opset, IrVersion, counts, model.Graph.Initializer.Sum(t => (long)t.Dims.Aggregate(1L, (a, d) => a * d)),
            new FileInfo(path).Length, outputShape);
    }

    /// <summary>The ONNX file's bytes, as <see cref="Save"/> would write them.</summary>
    public static byte[] ToBytes(Module module, int[] inputShape, OnnxExportOptions? options = null) =>
        Build(module, inputShape, options ?? new OnnxExportOptions()).Model.ToByteArray();

    internal static (ModelProto Model, IReadOnlyDictionary<string, int> OpCounts, int[] OutputShape) Build(
        Module module, int[] inputShape, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(options);
        if (inputShape.Length == 0 || inputShape.Any(d => d < 1))
            throw new ArgumentException($"OnnxExport: expected an input shape of positive sizes, batch first, e.g. [1, 1, 28, 28]; got {ShapeException.Str(inputShape)}", nameof(inputShape));
        if (string.IsNullOrEmpty(options.InputName) || string.IsNullOrEmpty(options.OutputName) || options.InputName == options.OutputName)
            throw new ArgumentException($"OnnxExport: expected two different non-empty names for the input and the output; got \"{options.InputName}\" and \"{options.OutputName}\"", nameof(options));

        var modes = module.Modules().Select(m => (Module: m, m.IsTraining)).ToList();
        module.Eval();
        try
        {
            var g = new GraphBuilder();
            g.Reserve(options.InputName);
            g.Reserve(options.OutputName);
            var x = new Value(options.InputName, inputShape, BatchFirst: true);
            if (options.InputNormalization is var (mean, std)) x = Normalize(g, x, mean, std);
            var y = new ModuleExporter(g, options).Export(module, "", x);
            if (g.IsNodeOutput(y.Name)) g.Rename(y.Name, options.OutputName);
            else g.Graph.Node.Add(new NodeProto { OpType = "Identity", Name = "/Identity", Input = { y.Name }, Output = { options.OutputName } });

            g.Graph.Input.Add(ValueInfo(options.InputName, inputShape, batchFirst: true));
            g.Graph.Output.Add(ValueInfo(options.OutputName, y.Shape, y.BatchFirst));
            var model = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Nabla",
                ProducerVersion = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
                Graph = g.Graph,
                DocString = options.Description ?? "",
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            foreach (var (key, value) in options.Metadata ?? new Dictionary<string, string>())
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
            int[] outputShape = [.. y.Shape];
            if (y.BatchFirst) outputShape[0] = -1;
            return (model, g.OpCounts, outputShape);
        }
        finally
        {
            // Parents come before their children, so each module ends with its own mode.
            foreach (var (m, training) in modes) m.Train(training);
        }
    }

    /// <summary>(x - mean) / std per channel, with the statistics shaped (1, C, 1, ..., 1).</summary>
    static Value Normalize(GraphBuilder g, Value x, float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (x.Rank < 2 || mean.Length != x.Shape[1] || std.Length != x.Shape[1])
            throw new ArgumentException($"OnnxExport: the input normalization needs one mean and one std per input channel; got {mean.Length} and {std.Length} " +
                $"for an input of shape {ShapeException.Str(x.Shape)}", nameof(x));
        if (std.Any(s => !(s > 0)) || mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException("OnnxExport: the input normalization needs finite means and positive stds", nameof(std));
        int[] dims = [1, x.Shape[1], .. Enumerable.Repeat(1, x.Rank - 2)];
        string centred = g.Node("Sub", "normalize", [x.Name, g.Initializer("input_mean", mean, dims)]);
        return x with { Name = g.Node("Div", "normalize", [centred, g.Initializer("input_std", std, dims)]) };
    }

    static ValueInfoProto ValueInfo(string name, int[] shape, bool batchFirst)
    {
        var tensorShape = new TensorShapeProto();
        for (int i = 0; i < shape.Length; i++)
            tensorShape.Dim.Add(i == 0 && batchFirst ? new TensorShapeProto.Types.Dimension { DimParam = "N" }
                : i == 0 ? new TensorShapeProto.Types.Dimension() // depends on the batch size
                : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
        };
    }

    static void WriteAtomically(string path, ModelProto model)
    {
        string full = Path.GetFullPath(path);
        string tmp = $"{full}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                model.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } // the original error matters more
            throw;
        }
    }
}
