using Microsoft.ML.OnnxRuntime;
using Nabla.Cli;
using Nabla.Cli.Tests;
using Nabla.Data;
using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>One run of <c>nabla train --epochs 1</c> on the embedded subset, shared by the export tests.</summary>
public sealed class TrainedRun : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("nabla-export-").FullName;

    public string Run => Path.Combine(Dir, "run");

    public TrainedRun()
    {
        var r = CliHarness.Run("train", "--epochs", "1", "--out", Run, "--data", CliHarness.SubsetDir, "--threads", "2");
        if (r.Code != 0) throw new InvalidOperationException($"training failed ({r.Code}): {r.Error}");
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>
/// <c>nabla export</c>: the exported file, run in ONNX Runtime on the 2,000 embedded test images,
/// predicts what <c>nabla eval</c> predicts, with probabilities within 1e-4; and every bad case is
/// one line that changes nothing.
/// </summary>
[Collection("Cli")]
public sealed class ExportCommandTests(TrainedRun trained) : IClassFixture<TrainedRun>
{
    static float[] Softmax(float[] logits, int classes)
    {
        var p = new float[logits.Length];
        for (int r = 0; r < logits.Length / classes; r++)
        {
            var row = logits.AsSpan(r * classes, classes);
            float max = row.ToArray().Max();
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(row[c] - max);
            for (int c = 0; c < classes; c++) p[r * classes + c] = (float)(Math.Exp(row[c] - max) / sum);
        }
        return p;
    }

    static int[] Argmax(float[] p, int classes) =>
        [.. Enumerable.Range(0, p.Length / classes).Select(r => Array.IndexOf(p, p.AsSpan(r * classes, classes).ToArray().Max(), r * classes, classes) - r * classes)];

    [Fact]
    public void Onnx_runtime_predicts_what_nabla_eval_predicts()
    {
        string onnx = Path.Combine(trained.Run, "model.onnx");
        var export = CliHarness.Run("export", trained.Run, "--out", onnx);
        Assert.True(export.Code == 0, export.Error);
        Assert.Contains($"Wrote {onnx}: ONNX opset 17 (IR version 8)", export.Out);
        Assert.Contains("nodes: ", export.Out);
        Assert.Contains("Conv 2", export.Out);
        Assert.Contains("824,554 parameters", export.Out);
        Assert.Contains("raw pixels in [0, 1] (normalization included)", export.Out);

        string evalDir = Path.Combine(trained.Dir, "eval");
        var eval = CliHarness.Run("eval", trained.Run, "--out", evalDir, "--data", CliHarness.SubsetDir, "--threads", "2");
        Assert.True(eval.Code == 0, eval.Error);
        var summary = CliHarness.Json(Path.Combine(evalDir, "summary.json"));

        // Raw [0, 1] images go straight in: the normalization is inside the file.
        var (test, _) = Inference.TestSet(CliHarness.SubsetDir);
        Assert.Equal(2000, test.Count);
        var saved = SavedModel.Load(trained.Run);
        var nabla = Functional.Softmax(Inference.Logits(Inference.Prepared(saved), Inference.Inputs(saved, test.Inputs)), 1).ToArray();
        using var session = Ort.Session(onnx);
        var (logits, shape) = Ort.Run(session, test.Inputs);
        Assert.Equal(new[] { 2000, 10 }, shape);
        var ort = Softmax(logits, 10);

        Ort.AssertClose(nabla, ort, rtol: 0, atol: 1e-4, what: "probabilities");
        var predicted = Argmax(ort, 10);
        Assert.Equal(Argmax(nabla, 10), predicted);
        var targets = test.Targets.ToArray();
        double accuracy = predicted.Where((c, i) => c == (int)targets[i]).Count() / 2000.0;
        Assert.Equal(summary["accuracy"]!.GetValue<double>(), accuracy, 12);
        double nll = -Enumerable.Range(0, 2000).Average(i => Math.Log(Math.Max(ort[i * 10 + (int)targets[i]], 1e-12)));
        Assert.Equal(summary["deterministic"]!["nll"]!.GetValue<double>(), nll, 4);
        Assert.Equal(summary["nll"]!.GetValue<double>(), nll, 4);

        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(FashionMnist.Classes), meta["classes"]);
        Assert.Equal("true", meta["normalization_included"]);
        Assert.Equal(saved.Stats.Mean.ToArray()[0], float.Parse(meta["normalization_mean"].Trim('[', ']'), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Nabla", session.ModelMetadata.ProducerName);
    }

    [Fact]
    public void Raw_export_takes_normalized_inputs_and_folding_keeps_the_outputs()
    {
        string raw = Path.Combine(trained.Dir, "raw.onnx"), folded = Path.Combine(trained.Dir, "folded.onnx");
        Assert.Equal(0, CliHarness.Run("export", trained.Run, "--out", raw, "--raw").Code);
        var f = CliHarness.Run("export", trained.Run, "--out", folded, "--fold-batch-norm");
        Assert.True(f.Code == 0, f.Error);
        Assert.DoesNotContain("BatchNormalization", f.Out);

        var saved = SavedModel.Load(trained.Run);
        var images = Tensor.Rand([6, 1, 28, 28], new Generator(2));
        var expected = LayerExportTests.Eval(saved.Model, Inference.Inputs(saved, images)).ToArray();
        var (fromRaw, _) = Ort.Run(File.ReadAllBytes(raw), Inference.Inputs(saved, images));
        var (fromFolded, _) = Ort.Run(File.ReadAllBytes(folded), images);
        Ort.AssertClose(expected, fromRaw, what: "--raw");
        Ort.AssertClose(expected, fromFolded, what: "--fold-batch-norm");
        using var session = Ort.Session(raw);
        Assert.Equal("false", session.ModelMetadata.CustomMetadataMap["normalization_included"]);
    }

    /// <summary>docs/onnx.md's serving example (ServingExample.cs, shown verbatim on the page) on the exported run.</summary>
    [Fact]
    public void The_docs_serving_example_predicts_what_nabla_predicts()
    {
        string onnx = Path.Combine(trained.Dir, "served.onnx");
        Assert.Equal(0, CliHarness.Run("export", trained.Run, "--out", onnx).Code);
        var (test, _) = Inference.TestSet(CliHarness.SubsetDir);
        var images = Enumerable.Range(0, 50).Select(i => test.Get(i).Input.ToArray()).ToList();

        using var classifier = new MyShop.Vision.GarmentClassifier(onnx);
        var served = classifier.Predict(images);

        Assert.Equal(FashionMnist.Classes, classifier.Classes);
        var saved = SavedModel.Load(trained.Run);
        var nabla = Functional.Softmax(Inference.Logits(Inference.Prepared(saved), Inference.Inputs(saved, test.Inputs.Narrow(0, 0, 50))), 1).ToArray();
        Ort.AssertClose(nabla, [.. served.SelectMany(p => p)], rtol: 0, atol: 1e-4, what: "served probabilities");

        var page = File.ReadAllText(BackendNodeTests.FindRepoFile("docs/onnx.md")).ReplaceLineEndings("\n");
        var code = File.ReadAllText(BackendNodeTests.FindRepoFile("tests/Nabla.Onnx.Tests/ServingExample.cs")).ReplaceLineEndings("\n");
        Assert.Contains("```csharp\n" + code + "```", page, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_output_is_model_onnx_in_the_run_folder()
    {
        string copy = Path.Combine(trained.Dir, "copy");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(trained.Run, SavedModel.FileName), Path.Combine(copy, SavedModel.FileName));
        var r = CliHarness.Run("export", copy);
        Assert.True(r.Code == 0, r.Error);
        Assert.True(File.Exists(Path.Combine(copy, "model.onnx")));
    }

    [Fact]
    public void An_existing_output_is_kept_without_force_and_replaced_with_it()
    {
        string path = Path.Combine(trained.Dir, "existing.onnx");
        File.WriteAllText(path, "keep me");
        var r = CliHarness.Run("export", trained.Run, "--out", path);
        Assert.Equal(1, r.Code);
        Assert.Equal($"nabla: error: {path} already exists; pass --force to replace it\n", r.Error.ReplaceLineEndings("\n"));
        Assert.Equal("keep me", File.ReadAllText(path));

        Assert.Equal(0, CliHarness.Run("export", trained.Run, "--out", path, "--force").Code);
        using var session = Ort.Session(path);
        Assert.Equal("logits", session.OutputNames.Single());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_read_only_folder_is_refused_and_left_empty()
    {
        string folder = Path.Combine(trained.Dir, "read-only");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var r = CliHarness.Run("export", trained.Run, "--out", Path.Combine(folder, "m.onnx"));
            Assert.Equal(1, r.Code);
            Assert.Equal($"nabla: error: --out: folder {folder} is read-only\n", r.Error.ReplaceLineEndings("\n"));
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Theory]
    [InlineData("missing-run", 1, "run folder or model file not found: ")]
    [InlineData("", 2, "nabla export expects one run folder (or model file); got 0")]
    [InlineData("two", 2, "nabla export expects one run folder (or model file); got 2")]
    [InlineData("bad-flag", 2, "nabla export: unknown option '--folding'")]
    [InlineData("out-folder", 1, "is a folder; name the .onnx file to write")]
    [InlineData("no-folder", 1, "--out: folder not found: ")]
    public void Bad_arguments_are_one_line(string kind, int code, string message)
    {
        string[] args = kind switch
        {
            "missing-run" => ["export", Path.Combine(trained.Dir, "nowhere")],
            "" => ["export"],
            "two" => ["export", trained.Run, trained.Run],
            "bad-flag" => ["export", trained.Run, "--folding"],
            "out-folder" => ["export", trained.Run, "--out", trained.Dir],
            _ => ["export", trained.Run, "--out", Path.Combine(trained.Dir, "absent", "m.onnx")],
        };
        var before = Directory.GetFileSystemEntries(trained.Dir, "*", SearchOption.AllDirectories).Order().ToArray();
        var r = CliHarness.Run(args);
        Assert.Equal(code, r.Code);
        Assert.Contains(message, r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.Equal(before, Directory.GetFileSystemEntries(trained.Dir, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    [Fact]
    public void A_colour_image_folder_model_exports_and_onnx_runtime_agrees_on_raw_pixels()
    {
        string tree = Path.Combine(trained.Dir, "colour"), run = Path.Combine(trained.Dir, "colour-run"), onnx = Path.Combine(trained.Dir, "colour.onnx");
        if (!Directory.Exists(tree)) ColourTree.Write(tree, perClass: 6);
        // 40 pixels: the cnn's 10 x 10 map is average-pooled by 2 before its classifier.
        var r = CliHarness.Run("train", "--data", tree, "--model", "cnn", "--image-size", "40", "--epochs", "1", "--batch-size", "4", "--out", run, "--threads", "2");
        Assert.True(r.Code == 0, r.Error);
        var export = CliHarness.Run("export", run, "--out", onnx);
        Assert.True(export.Code == 0, export.Error);
        Assert.Contains("input 'input' (N, 3, 40, 40), raw pixels in [0, 1]", export.Out);
        Assert.Contains("AveragePool 1", export.Out);

        var saved = SavedModel.Load(run);
        var test = Nabla.Cli.FolderData.LoadSplit(run, "test", saved.Shape, saved.Classes, null)!;
        var raw = Tensor.Stack([.. Enumerable.Range(0, test.Count).Select(i => test.Get(i).Input)], 0);
        using var session = Ort.Session(onnx);
        var (ort, shape) = Ort.Run(session, raw);
        Assert.Equal(new[] { test.Count, 4 }, shape);
        Ort.AssertClose(Inference.Logits(Inference.Prepared(saved), saved.Normalization.Apply(raw)).ToArray(), ort, what: "colour folder model");
    }
}
