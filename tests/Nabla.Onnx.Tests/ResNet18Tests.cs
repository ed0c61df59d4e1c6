using Microsoft.ML.OnnxRuntime;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Vision;
using Nabla.Vision.Transforms;

namespace Nabla.Onnx.Tests;

/// <summary>The ImageNet-pretrained ResNet-18 of ML.NET's package, imported: checked against ONNX Runtime, and trained.</summary>
[Collection("Cli")] // heavy: not beside the training runs
public class ResNet18Tests
{
    /// <summary>chelsea.png as ML.NET feeds it: resized to 224x224, planar RGB in 0-255, (1, 3, 224, 224).</summary>
    internal static Tensor Chelsea()
    {
        var image = Image.Load(ChelseaPath());
        return (new Resize(224, 224).Apply(image, new Generator(0)) * 255f).Unsqueeze(0);
    }

    internal static string ChelseaPath() => Nabla.Cli.Tests.ColourTree.ChelseaPath();

    static float[] OrtRun(string model, string input, Tensor x)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model, options);
        var tensor = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x.ToArray(), x.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)]);
        return [.. results[0].AsTensor<float>()];
    }

    [Fact]
    public void Features_of_chelsea_match_onnx_runtime()
    {
        var raw = Chelsea();
        var preprocess = Pretrained.ResNet18Preprocessing();
        var resnet = Pretrained.ResNet18ImageNet();
        Tensor input, features;
        using (Autograd.NoGrad())
        {
            input = preprocess.Forward(raw);
            features = resnet.Forward(input);
        }
        Assert.Equal(new[] { 1, 512, 1, 1 }, features.Shape.ToArray());

        string prepInput = preprocess.Inputs[0].Name;
        var ortInput = OrtRun(Pretrained.ResNet18PreprocessPath(), prepInput, raw);
        Ort.AssertClose(ortInput, input.ToArray(), rtol: 1e-5, atol: 1e-4, what: "preprocessed input");
        var ortFeatures = OrtRun(Pretrained.ResNet18Path(), Pretrained.ResNet18Input, input);
        Ort.AssertClose(ortFeatures, features.ToArray(), rtol: 1e-4, atol: 1e-4, what: "ResNet-18 features");
        Assert.True(features.ToArray().Count(v => v > 0.1f) > 50, "the features of a photograph are not mostly zero");
    }

    [Fact]
    public void The_graph_is_ml_nets_resnet18_with_parameters_named_from_the_file()
    {
        var resnet = Pretrained.ResNet18ImageNet();
        Assert.Equal(8, resnet.Opset);
        Assert.Equal(Pretrained.ResNet18Features, resnet.Output);
        Assert.Equal(Pretrained.ResNet18Input, resnet.Inputs.Single().Name);
        var ops = resnet.Ops.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(22, ops["Conv"]);
        Assert.Equal(22, ops["BatchNormalization"]);
        Assert.Equal(19, ops["Relu"]);
        Assert.Equal(9, ops["Add"]);
        Assert.Equal(1, ops["MaxPool"]);
        Assert.Equal(1, ops["AveragePool"]);
        // Conv weights and batch-norm scale and bias are parameters; running statistics are buffers.
        Assert.Equal(22 + 2 * 22, resnet.Parameters().Count());
        Assert.Equal(2 * 22, resnet.Buffers().Count());
        var state = resnet.StateDict();
        Assert.Equal(resnet.Parameters().Count() + resnet.Buffers().Count(), state.Count);
        Assert.True(resnet.ParameterCount() > 15_000_000);
        Assert.False(resnet.IsTraining);
    }

    [Fact]
    public void A_cut_at_the_last_feature_map_pools_to_the_features()
    {
        var resnet = Pretrained.ResNet18ImageNet();
        string lastRelu = resnet.ValueNames.Last(v => v.StartsWith("ReLU", StringComparison.OrdinalIgnoreCase));
        var trunk = resnet.WithOutput(lastRelu);
        using var noGrad = Autograd.NoGrad();
        var x = Pretrained.ResNet18Preprocessing().Forward(Chelsea());
        var map = trunk.Forward(x);
        Assert.Equal(new[] { 1, 512, 7, 7 }, map.Shape.ToArray());
        var features = resnet.Forward(x);
        Ort.AssertClose(features.ToArray(), map.Mean([2, 3]).ToArray(), rtol: 1e-4, atol: 1e-5, what: "pooled cut");
        var both = resnet.Run(x, lastRelu, resnet.Output);
        Assert.Equal(map.ToArray(), both[lastRelu].ToArray());
        Assert.Equal(resnet.Parameters().Count(), trunk.Parameters().Count()); // every convolution feeds the last map
        Assert.Same(resnet.Parameters().First().Data, trunk.Parameters().First().Data);
    }

    [Fact]
    public void It_fine_tunes_gradients_reach_every_parameter_and_the_loss_falls()
    {
        Generator.ManualSeed(3);
        var preprocess = Pretrained.ResNet18Preprocessing();
        var resnet = Pretrained.ResNet18ImageNet();
        resnet.Train();
        var head = new Sequential(new Flatten(), new Linear(512, 3));
        var model = new Sequential(resnet, head);
        // Four views of the photograph with made-up labels: enough to see the loss move.
        var raw = Chelsea();
        Tensor batch;
        using (Autograd.NoGrad())
        {
            var mirror = Tensor.FromArray([.. Enumerable.Range(0, 224).Reverse().Select(i => (float)i)], 224);
            batch = preprocess.Forward(Tensor.Cat([raw, raw.IndexSelect(3, mirror), raw * 0.8f, (raw * 0.9f).IndexSelect(3, mirror)], 0));
        }
        var labels = Tensor.FromArray([0f, 1f, 2f, 0f], 4);
        var optimizer = new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9);
        var criterion = new CrossEntropyLoss();
        var losses = new List<float>();
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            var loss = criterion.Forward(model.Forward(batch), labels);
            loss.Backward();
            if (step == 0)
            {
                var dead = resnet.NamedParameters().Where(p => p.Parameter.Grad is null || p.Parameter.Grad.Abs().Max().Item() == 0).Select(p => p.Name).ToList();
                Assert.True(dead.Count == 0, "no gradient reached: " + string.Join(", ", dead));
            }
            optimizer.Step();
            losses.Add(loss.Item());
        }
        Assert.True(losses[^1] < losses[0] * 0.7, "loss over 5 SGD steps: " + string.Join(", ", losses));
        Assert.All(resnet.Buffers(), b => Assert.True(float.IsFinite(b.Data.Sum().Item())));
    }
}
