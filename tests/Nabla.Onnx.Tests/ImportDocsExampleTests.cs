using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Vision;
using Nabla.Vision.Transforms;

namespace Nabla.Onnx.Tests;

/// <summary>docs/onnx.md's import examples, run as written (the page shows this code verbatim).</summary>
[Collection("Cli")]
public sealed class ImportDocsExampleTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-import-docs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (OnnxModule Net, Tensor Logits, IReadOnlyDictionary<string, Tensor> Inner) AnyModel(string path, Tensor images)
    {
        // docs/onnx.md any-model example begins
        var net = OnnxModule.Load(path);             // a classifier exported by PyTorch, tf2onnx, ML.NET or nabla export
        Console.WriteLine($"{net.Producer}, opset {net.Opset}: {net.Ops.Count} nodes, {net.ParameterCount():N0} parameters");
        var logits = net.Forward(images);                             // evaluation mode
        var inner = net.Run(images, net.ValueNames[^3]);              // any intermediate value by name
        // docs/onnx.md any-model example ends
        return (net, logits, inner);
    }

    static (OnnxModule ResNet, Tensor Features, Tensor Loss, Sequential Model) FineTune(string photo)
    {
        // docs/onnx.md resnet example begins
        var preprocess = Pretrained.ResNet18Preprocessing();          // RGB 0-255 -> BGR minus the mean image
        var resnet = Pretrained.ResNet18ImageNet();                   // 15.9M weights, evaluation mode
        var pixels = (new Resize(224, 224).Apply(Image.Load(photo), new Generator(0)) * 255f).Unsqueeze(0);
        var features = resnet.Forward(preprocess.Forward(pixels));    // (1, 512, 1, 1)

        var model = new Sequential(resnet, new Flatten(), new Linear(512, 5));  // a new head for 5 classes
        foreach (var p in resnet.Parameters()) p.RequiresGrad = false;          // train the head only...
        var optimizer = new AdamW(model.Parameters().Where(p => p.RequiresGrad), lr: 1e-3);
        var loss = new CrossEntropyLoss().Forward(model.Forward(preprocess.Forward(pixels)), Tensor.FromArray([3f], 1));
        loss.Backward();
        optimizer.Step();                                             // ...or leave them trainable and call resnet.Train()
        // docs/onnx.md resnet example ends
        return (resnet, features, loss, model);
    }

    [Fact]
    public void The_import_examples_run()
    {
        var preset = PresetExportTests.Build("cnn", batchNorm: true);
        string path = Path.Combine(_dir, "classifier.onnx");
        OnnxExport.Save(preset, [1, 1, 28, 28], path);
        var images = Tensor.Rand([3, 1, 28, 28], new Generator(4));
        var console = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        try
        {
            var (net, logits, inner) = AnyModel(path, images);
            Ort.AssertClose(LayerExportTests.Eval(preset, images).ToArray(), logits.ToArray(), what: "classifier");
            Assert.Single(inner);
            Assert.StartsWith("Nabla", output.ToString(), StringComparison.Ordinal);
            Assert.Contains($"opset 17: {net.Ops.Count} nodes, {preset.ParameterCount():N0} parameters", output.ToString());
        }
        finally
        {
            Console.SetOut(console);
        }

        var (resnet, features, loss, model) = FineTune(ResNet18Tests.ChelseaPath());
        Assert.Equal(new[] { 1, 512, 1, 1 }, features.Shape.ToArray());
        Assert.True(float.IsFinite(loss.Item()));
        Assert.All(resnet.Parameters(), p => Assert.Null(p.Grad));
        Assert.NotNull(model.Parameters().Last().Grad);
        Assert.Equal(15.9, Math.Round(resnet.ParameterCount() / 1e6, 1));
        Assert.Equal(66, resnet.Parameters().Count());

        var page = File.ReadAllText(BackendNodeTests.FindRepoFile("docs/onnx.md")).ReplaceLineEndings("\n");
        var code = File.ReadAllText(BackendNodeTests.FindRepoFile("tests/Nabla.Onnx.Tests/ImportDocsExampleTests.cs")).ReplaceLineEndings("\n");
        foreach (var name in new[] { "any-model", "resnet" })
        {
            string begin = $"// docs/onnx.md {name} example begins\n", end = $"        // docs/onnx.md {name} example ends";
            int b = code.IndexOf(begin, StringComparison.Ordinal) + begin.Length;
            var snippet = string.Join('\n', code[b..code.IndexOf(end, b, StringComparison.Ordinal)].Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
            Assert.Contains(snippet.TrimEnd(), page, StringComparison.Ordinal);
        }
    }
}
