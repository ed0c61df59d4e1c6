using Nabla.Cli;
using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>
/// Every model preset of <c>nabla train</c>, with and without batch norm, exported as it is, with
/// folded batch norm, and with the input normalization in front: ONNX Runtime's outputs equal
/// Nabla's evaluation-mode outputs (rtol 1e-4, atol 1e-5) at batch 1 and 7.
/// </summary>
public class PresetExportTests
{
    public static TheoryData<string, bool, bool> Presets()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var model in TrainConfig.Models)
            foreach (bool batchNorm in new[] { true, false })
                foreach (bool fold in new[] { false, true })
                    if ((batchNorm || !fold) && (batchNorm || model != "resnet")) data.Add(model, batchNorm, fold); // resnet always has batch norm
        return data;
    }

    internal static Sequential Build(string preset, bool batchNorm, int width = 1)
    {
        string[] flags = ["--model", preset, "--width", width.ToString(System.Globalization.CultureInfo.InvariantCulture), batchNorm ? "--batch-norm" : "--no-batch-norm"];
        var config = TrainConfig.From(ArgParser.Parse("train", flags, TrainCommand.Options).Options);
        var model = Cli.Presets.Build(config, Cli.Presets.FashionMnist, new Generator(3));
        // Statistics that are not the initial zeros and ones, so batch norm does real work.
        var g = new Generator(4);
        var state = model.StateDict().ToDictionary(
            kv => kv.Key,
            kv => kv.Key.EndsWith("running_var", StringComparison.Ordinal) ? Tensor.Rand(kv.Value.Shape.ToArray(), g) + 0.5f
                : kv.Key.EndsWith("running_mean", StringComparison.Ordinal) ? Tensor.Randn(kv.Value.Shape.ToArray(), g) * 0.2f
                : kv.Key.EndsWith(".bias", StringComparison.Ordinal) ? Tensor.Randn(kv.Value.Shape.ToArray(), g) * 0.1f
                : kv.Value,
            StringComparer.Ordinal);
        model.LoadStateDict(state);
        return model;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Preset_matches_onnx_runtime(string preset, bool batchNorm, bool fold)
    {
        var model = Build(preset, batchNorm);
        var bytes = OnnxExport.ToBytes(model, [1, 1, 28, 28], new OnnxExportOptions { FoldBatchNorm = fold });
        using var session = Ort.Session(bytes);
        foreach (int batch in new[] { 1, 7 })
        {
            var x = Tensor.Rand([batch, 1, 28, 28], new Generator((ulong)batch));
            var expected = LayerExportTests.Eval(model, x);
            var (actual, shape) = Ort.Run(session, x);
            Assert.Equal(new[] { batch, 10 }, shape);
            Ort.AssertClose(expected.ToArray(), actual, what: $"{preset} batch {batch}");
        }
    }

    [Theory]
    [InlineData("cnn")]
    [InlineData("resnet")]
    public void Input_normalization_in_front_takes_raw_pixels(string preset)
    {
        var model = Build(preset, batchNorm: true);
        float mean = 0.2860f, std = 0.3530f;
        var bytes = OnnxExport.ToBytes(model, [1, 1, 28, 28], new OnnxExportOptions { InputNormalization = ([mean], [std]) });
        var raw = Tensor.Rand([5, 1, 28, 28], new Generator(9));
        var expected = LayerExportTests.Eval(model, (raw - mean) / std);
        var (actual, _) = Ort.Run(bytes, raw);
        Ort.AssertClose(expected.ToArray(), actual, what: preset + " with normalization");
    }

    [Fact]
    public void Wider_presets_export_too()
    {
        var model = Build("vgg", batchNorm: true, width: 2);
        var x = Tensor.Rand([2, 1, 28, 28], new Generator(1));
        var (actual, _) = Ort.Run(OnnxExport.ToBytes(model, [1, 1, 28, 28]), x);
        Ort.AssertClose(LayerExportTests.Eval(model, x).ToArray(), actual, what: "vgg width 2");
    }

    [Fact]
    public void Graph_mirrors_the_model_and_names_weights_by_state_dict_key()
    {
        var model = Build("resnet", batchNorm: true);
        var (proto, counts, outputShape) = OnnxExport.Build(model, [1, 1, 28, 28], new OnnxExportOptions());
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        Assert.Equal("", proto.OpsetImport.Single().Domain);
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal("input", proto.Graph.Input.Single().Name);
        Assert.Equal("logits", proto.Graph.Output.Single().Name);
        Assert.Equal("N", proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("N", proto.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(new[] { -1, 10 }, outputShape);
        // Stem conv + 2 per block + 2 downsample convolutions; a batch norm after each; dropout gone.
        Assert.Equal(1 + 3 * 2 + 2, counts["Conv"]);
        Assert.Equal(counts["Conv"], counts["BatchNormalization"]);
        Assert.Equal(3, counts["Add"]);
        Assert.Equal(1, counts["GlobalAveragePool"]);
        Assert.Equal(1, counts["Gemm"]);
        Assert.DoesNotContain("Dropout", counts.Keys);
        // Every parameter and statistic is an initializer under its state-dict key, with its values.
        var initializers = proto.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var (key, value) in model.StateDict())
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            Assert.True(initializers.TryGetValue(key, out var t), $"no initializer {key}");
            Assert.Equal(value.Shape.ToArray(), t.Dims.Select(d => (int)d).ToArray());
            var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            Assert.Equal(value.ToArray(), floats);
        }
    }

    [Fact]
    public void Export_restores_each_modules_mode()
    {
        var model = Build("mlp", batchNorm: true);
        model.Train();
        model[1].Eval();
        OnnxExport.ToBytes(model, [1, 1, 28, 28]);
        Assert.True(model.IsTraining);
        Assert.False(model[1].IsTraining);
        Assert.True(model[2].IsTraining);
    }
}
