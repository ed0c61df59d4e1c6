using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Onnx;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla export RUN [--out FILE.onnx]</c>: writes a trained run as an ONNX model (opset 17) for
/// ONNX Runtime, ML.NET or any other ONNX consumer. By default the run's input normalization goes in
/// front, so the file takes raw pixels in [0, 1], shaped (N, 1, 28, 28); its output is the class
/// logits (N, 10). The class names and the normalization are in the file's metadata_props.
/// </summary>
internal static class ExportCommand
{
    public const string FileName = "model.onnx";

    public static readonly OptionSpec[] Options =
    [
        new("--out", OptionKind.Path, $"the ONNX file to write (default RUN/{FileName})"),
        new("--raw", OptionKind.Switch, "leave out the input normalization: the model then takes normalized inputs, as during training"),
        new("--fold-batch-norm", OptionKind.Switch, "fold each batch norm that follows a convolution into its weights (fewer nodes, same outputs)"),
        new("--force", OptionKind.Switch, "replace the output file if it exists"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("export", args, Options);
        if (parsed.Positionals.Count != 1)
            throw new CliException($"nabla export expects one run folder (or model file); got {parsed.Positionals.Count} (usage: nabla export RUN [--out FILE.onnx])");
        string run = parsed.Positionals[0];
        bool raw = parsed.Switch("raw") ?? false;
        var saved = SavedModel.Load(run);
        string output = parsed.Text("out")
            ?? Path.Combine(Directory.Exists(run) ? run : Path.GetDirectoryName(Path.GetFullPath(run))!, FileName);
        CheckOutput(output, parsed.Switch("force") ?? false);

        var mean = saved.Normalization.Mean;
        var std = saved.Normalization.Std;
        if (!raw && saved.Normalization.Kind == NormalizeKind.MeanImage)
            throw new CliException($"nabla export: {run} subtracts a mean image, which the exported graph cannot include; use --raw and apply the metadata's normalization_mean (C x H x W) and normalization_std yourself");
        var s = saved.Shape;
        string dims = $"(N, {s.Channels}, {s.Size}, {s.Size})";
        var options = new OnnxExportOptions
        {
            FoldBatchNorm = parsed.Switch("fold_batch_norm") ?? false,
            InputNormalization = raw || saved.Normalization.Kind == NormalizeKind.None ? null : (mean, std),
            Description = $"nabla train --model {TrainConfig.ModelWords.Of(saved.Config.Model)}: {saved.Classes.Count}-class image classifier. Input 'input' {dims}: " +
                (raw ? "pixels normalized as (x - mean) / std with the metadata's mean and std" : saved.FromFolder ? "raw pixels in [0, 1]" : "raw grey levels in [0, 1], light object on a dark background") +
                ". Output 'logits' (N, classes): apply softmax for probabilities.",
            Metadata = new Dictionary<string, string>
            {
                ["classes"] = new JsonArray([.. saved.Classes.Select(c => (JsonNode)c)]).ToJsonString(),
                ["normalization_mean"] = Floats(mean),
                ["normalization_std"] = Floats(std),
                ["normalization_included"] = raw ? "false" : "true",
                ["input"] = raw ? $"normalized (x - mean) / std, shape {dims}" : $"raw pixels in [0, 1], shape {dims}",
                ["nabla_config"] = saved.Config.ToJson().ToJsonString(),
            },
        };
        OnnxExportResult result;
        try
        {
            result = OnnxExport.Save(saved.Model, [1, s.Channels, s.Size, s.Size], output, options);
        }
        catch (OnnxExportException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        string ops = string.Join(", ", result.OpCounts.OrderByDescending(o => o.Value).ThenBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"));
        console.MarkupLineInterpolated($"Wrote [bold]{output}[/]: ONNX opset {result.Opset} (IR version {result.IrVersion}), {FormatBytes(result.FileBytes)}");
        console.WriteLine($"  {result.Nodes} nodes: {ops}");
        console.WriteLine($"  {saved.Model.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters; " +
                          $"{result.Parameters.ToString("N0", CultureInfo.InvariantCulture)} values stored with the running statistics and constants");
        console.WriteLine($"  input 'input' {dims}, {(raw ? "normalized as during training" : "raw pixels in [0, 1] (normalization included)")}; " +
                          $"output 'logits' (N, {saved.Classes.Count})");
        return 0;
    }

    /// <summary>Refuses, before any work, an output that exists (without --force) or that cannot be written.</summary>
    static void CheckOutput(string output, bool force)
    {
        if (Directory.Exists(output)) throw CliException.File($"--out {output} is a folder; name the .onnx file to write");
        if (File.Exists(output) && !force) throw CliException.File($"{output} already exists; pass --force to replace it");
        string folder = Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (!Directory.Exists(folder)) throw CliException.File($"--out: folder not found: {folder}");
        // Checked from the mode bits too, so a folder a user made read-only is respected even by root.
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(folder) & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0)
            throw CliException.File($"--out: folder {folder} is read-only");
    }

    static string Floats(float[] values) => new JsonArray([.. values.Select(v => (JsonNode)v)]).ToJsonString();

    static string FormatBytes(long bytes) => bytes >= 1 << 20
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB");
}
