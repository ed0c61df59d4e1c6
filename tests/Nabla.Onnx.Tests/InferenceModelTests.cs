using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>
/// <see cref="Module.ForInference"/> on every preset of <c>nabla train</c>, on presets exported and imported
/// back as ONNX graphs, and on the imported ImageNet ResNet-18: the prepared model equals the module's
/// evaluation-mode forward at batch 1 and 7.
/// </summary>
public class InferenceModelTests
{
    static void Same(Module model, int[] sampleShape, Tensor x, double rtol = 1e-5, double atol = 1e-5)
    {
        var fast = model.ForInference(sampleShape);
        var expected = LayerExportTests.Eval(model, x);
        var actual = fast.Forward(x);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        Ort.AssertClose(expected.ToArray(), actual.ToArray(), rtol, atol, what: string.Join("; ", fast.Plan));
    }

    [Theory]
    [MemberData(nameof(PresetExportTests.Presets), MemberType = typeof(PresetExportTests))]
    public void Every_preset_prepared_for_inference_matches_its_eval_forward(string preset, bool batchNorm, bool fold)
    {
        _ = fold;
        var model = PresetExportTests.Build(preset, batchNorm);
        foreach (int batch in new[] { 1, 7 })
            Same(model, [1, 28, 28], Tensor.Rand([batch, 1, 28, 28], new Generator((ulong)batch)));
        if (batchNorm) Assert.Contains(model.ForInference(1, 28, 28).Plan, p => p.Contains("batchnorm", StringComparison.Ordinal) && p.Contains("fused", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("cnn")]
    [InlineData("resnet")]
    public void An_exported_then_imported_preset_folds_its_graph(string preset)
    {
        var source = PresetExportTests.Build(preset, batchNorm: true);
        var imported = OnnxModule.Load(OnnxExport.ToBytes(source, [1, 1, 28, 28]));
        foreach (int batch in new[] { 1, 7 })
            Same(imported, [1, 28, 28], Tensor.Rand([batch, 1, 28, 28], new Generator(20 + (ulong)batch)));
        var plan = Assert.Single(imported.ForInference(1, 28, 28).Plan);
        Assert.DoesNotContain(" 0 with their BatchNormalization folded", plan);
    }

    [Fact]
    public void The_imported_resnet18_prepared_for_inference_matches_its_eval_forward()
    {
        var resnet = Pretrained.ResNet18ImageNet();
        using (Autograd.NoGrad())
        {
            var input = Pretrained.ResNet18Preprocessing().Forward(ResNet18Tests.Chelsea());
            Same(resnet, [3, 224, 224], input, rtol: 1e-4, atol: 1e-4);
        }
        var plan = Assert.Single(resnet.ForInference(3, 224, 224).Plan);
        // ML.NET's graph: torchvision's 20 convolutions and two more 512-channel ones, each followed by its batch norm.
        Assert.Matches(@"^22 Conv: 22 with their BatchNormalization folded in, [1-9]\d* with their Relu fused, [1-9] with the Add \+ Relu after them; 0 other Add \+ Relu fused", plan);
    }
}
