using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>
/// Every exportable layer, with non-default attributes, exported at batch 1 and run in ONNX Runtime
/// (strict shape inference) at batch 1 and 7: the outputs must equal Nabla's evaluation-mode
/// outputs within rtol 1e-4, atol 1e-5.
/// </summary>
public class LayerExportTests
{
    /// <summary>A layer configuration: the module (weights and statistics randomized) and one sample's shape.</summary>
    internal sealed record Case(Func<Module> Build, int[] Sample, float InputScale = 2f);

    internal static readonly Dictionary<string, Case> Cases = new(StringComparer.Ordinal)
    {
        ["linear"] = new(() => new Linear(10, 6), [10]),
        ["linear_no_bias"] = new(() => new Linear(10, 6, bias: false), [10]),
        ["linear_rank3_matmul"] = new(() => new Linear(10, 6), [4, 10]),
        ["linear_rank3_no_bias"] = new(() => new Linear(10, 6, bias: false), [4, 10]),
        ["conv_3x3"] = new(() => new Conv2d(3, 8, 3), [3, 9, 9]),
        ["conv_stride2_pad0"] = new(() => new Conv2d(3, 5, 3, stride: 2, padding: 0), [3, 9, 9]),
        ["conv_pad2"] = new(() => new Conv2d(3, 5, 3, padding: 2), [3, 6, 7]),
        ["conv_dilation2"] = new(() => new Conv2d(3, 5, 3, padding: 2, dilation: 2), [3, 9, 9]),
        ["conv_groups2"] = new(() => new Conv2d(4, 6, 3, padding: 1, groups: 2), [4, 7, 7]),
        ["conv_depthwise"] = new(() => new Conv2d(4, 4, 3, padding: 1, groups: 4), [4, 8, 8]),
        ["conv_depthwise_multiplier2"] = new(() => new Conv2d(4, 8, 3, stride: 2, padding: 1, groups: 4), [4, 9, 9]),
        ["conv_1x1"] = new(() => new Conv2d(6, 3, 1), [6, 5, 5]),
        ["conv_1x1_stride2"] = new(() => new Conv2d(6, 3, 1, stride: 2, bias: false), [6, 7, 7]),
        ["conv_odd_input"] = new(() => new Conv2d(2, 4, 3, stride: 2, padding: 1), [2, 11, 7]),
        ["conv_rectangular"] = new(() => new Conv2d(2, 4, (3, 5), (2, 1), (1, 2), (1, 2)), [2, 9, 10]),
        ["conv_no_bias"] = new(() => new Conv2d(3, 4, 5, padding: 2, bias: false), [3, 8, 8]),
        ["batchnorm1d"] = new(() => new BatchNorm1d(6), [6]),
        ["batchnorm1d_ncl"] = new(() => new BatchNorm1d(6, eps: 1e-3), [6, 5]),
        ["batchnorm1d_no_affine"] = new(() => new BatchNorm1d(6, affine: false), [6]),
        ["batchnorm2d"] = new(() => new BatchNorm2d(4, momentum: 0.3), [4, 5, 5]),
        ["batchnorm2d_no_affine"] = new(() => new BatchNorm2d(4, affine: false), [4, 5, 3]),
        ["batchnorm2d_cumulative"] = new(() => new BatchNorm2d(4, momentum: null, eps: 1e-2), [4, 3, 3]),
        ["instancenorm2d"] = new(() => new InstanceNorm2d(4), [4, 5, 5]),
        ["instancenorm2d_affine"] = new(() => new InstanceNorm2d(4, eps: 1e-3, affine: true), [4, 6, 3]),
        ["instancenorm2d_running_stats"] = new(() => new InstanceNorm2d(4, affine: true, trackRunningStats: true), [4, 5, 5]),
        ["layernorm"] = new(() => new LayerNorm(8), [3, 8]),
        ["layernorm_chw"] = new(() => new LayerNorm([4, 5, 5], eps: 1e-3), [4, 5, 5]),
        ["layernorm_no_affine"] = new(() => new LayerNorm(8, elementwiseAffine: false), [8]),
        ["layernorm_no_bias"] = new(() => new LayerNorm(8, bias: false), [2, 8]),
        ["groupnorm"] = new(() => new GroupNorm(2, 6), [6, 5, 5]),
        ["groupnorm_rank2"] = new(() => new GroupNorm(3, 6, eps: 1e-3), [6]),
        ["groupnorm_rank3"] = new(() => new GroupNorm(2, 6), [6, 7]),
        ["groupnorm_no_affine"] = new(() => new GroupNorm(3, 6, affine: false), [6, 4, 4]),
        ["relu"] = new(() => new Relu(), [3, 4, 4]),
        ["sigmoid"] = new(() => new Sigmoid(), [5, 3], 6),
        ["tanh"] = new(() => new Tanh(), [5, 3], 3),
        ["leaky_relu"] = new(() => new LeakyRelu(0.2), [3, 4]),
        ["elu"] = new(() => new Elu(0.7), [3, 4], 3),
        ["gelu_erf"] = new(() => new Gelu(), [17], 3),
        ["gelu_tanh"] = new(() => new Gelu("tanh"), [17], 3),
        ["softplus"] = new(() => new Softplus(), [20], 15),
        ["softplus_beta_threshold"] = new(() => new Softplus(beta: 2, threshold: 5), [20], 6),
        ["softmax"] = new(() => new Softmax(1), [10], 4),
        ["softmax_last"] = new(() => new Softmax(-1), [3, 4], 4),
        ["log_softmax"] = new(() => new LogSoftmax(1), [10], 4),
        ["maxout"] = new(() => new Sequential(new Linear(5, 12), new Maxout(3)), [5]),
        ["maxout_rank3"] = new(() => new Maxout(4), [2, 12]),
        ["maxpool2d"] = new(() => new MaxPool2d(2), [3, 8, 8]),
        ["maxpool2d_3_stride2_pad1"] = new(() => new MaxPool2d(3, stride: 2, padding: 1), [3, 9, 9]),
        ["maxpool2d_rectangular"] = new(() => new MaxPool2d((3, 2), (1, 2), (1, 0)), [2, 7, 8]),
        ["avgpool2d"] = new(() => new AvgPool2d(2), [3, 8, 8]),
        ["avgpool2d_pad_counted"] = new(() => new AvgPool2d(3, stride: 2, padding: 1), [3, 9, 9]),
        ["avgpool2d_pad_not_counted"] = new(() => new AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false), [3, 9, 9]),
        ["adaptive_avgpool2d_1"] = new(() => new AdaptiveAvgPool2d(1), [4, 7, 5]),
        ["adaptive_avgpool2d_2"] = new(() => new AdaptiveAvgPool2d(2), [4, 6, 8]),
        ["flatten"] = new(() => new Flatten(), [2, 3, 4]),
        ["flatten_from_2"] = new(() => new Flatten(2), [2, 3, 4]),
        ["flatten_1_to_2"] = new(() => new Flatten(1, 2), [2, 3, 4]),
        ["flatten_with_batch"] = new(() => new Flatten(0), [2, 3]),
        ["dropout"] = new(() => new Sequential(new Linear(4, 4), new Dropout(0.3)), [4]),
        ["dropout_classic"] = new(() => new Sequential(new Linear(4, 4), new Dropout(0.3, inverted: false)), [4]),
        ["dropout2d"] = new(() => new Sequential(new Conv2d(2, 3, 1), new Dropout2d(0.4)), [2, 3, 3]),
        ["identity"] = new(() => new Identity(), [5]),
        ["basic_block"] = new(() => new BasicBlock(4, 4), [4, 6, 6]),
        ["basic_block_downsample"] = new(() => new BasicBlock(4, 8, stride: 2), [4, 7, 7]),
        ["conv_bn_relu_pool"] = new(() => new Sequential(new Conv2d(2, 4, 3, padding: 1, bias: false), new BatchNorm2d(4), new Relu(), new MaxPool2d(2)), [2, 8, 8]),
        ["linear_bn_relu_softmax"] = new(() => new Sequential(new Flatten(), new Linear(12, 6), new BatchNorm1d(6), new Relu(), new Linear(6, 3), new LogSoftmax(1)), [3, 2, 2]),
    };

    public static TheoryData<string, int> All()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in Cases.Keys)
            foreach (int batch in new[] { 1, 7 })
                data.Add(name, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Matches_onnx_runtime(string name, int batch)
    {
        var c = Cases[name];
        var model = Build(c, seed: name.Length * 31 + batch);
        var x = Tensor.Randn([batch, .. c.Sample], new Generator(7)) * c.InputScale;
        var expected = Eval(model, x);
        var bytes = OnnxExport.ToBytes(model, [1, .. c.Sample]);
        var (actual, shape) = Ort.Run(bytes, x);
        Assert.Equal(expected.Shape.ToArray(), shape);
        Ort.AssertClose(expected.ToArray(), actual, what: name);
    }

    [Theory]
    [InlineData("conv_bn_relu_pool")]
    [InlineData("basic_block")]
    [InlineData("basic_block_downsample")]
    public void Folded_batch_norm_matches_and_leaves_no_batch_norm_node(string name)
    {
        var c = Cases[name];
        var model = Build(c, seed: 5);
        var x = Tensor.Randn([3, .. c.Sample], new Generator(8));
        var expected = Eval(model, x);
        var (proto, counts, _) = OnnxExport.Build(model, [1, .. c.Sample], new OnnxExportOptions { FoldBatchNorm = true });
        Assert.False(counts.ContainsKey("BatchNormalization"));
        Assert.True(counts["Conv"] > 0);
        var (actual, _) = Ort.Run(Google.Protobuf.MessageExtensions.ToByteArray(proto), x);
        Ort.AssertClose(expected.ToArray(), actual, what: name + " folded");
    }

    /// <summary>Builds a case's module with random weights and statistics, so no value is a default.</summary>
    internal static Module Build(Case c, int seed)
    {
        var model = c.Build();
        Randomize(model, new Generator((ulong)seed));
        return model;
    }

    internal static void Randomize(Module model, Generator g)
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, t) in model.StateDict())
        {
            var shape = t.Shape.ToArray();
            state[key] = key.EndsWith("running_var", StringComparison.Ordinal) ? Tensor.Rand(shape, g) + 0.5f
                : key.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? t
                : key.EndsWith("running_mean", StringComparison.Ordinal) ? Tensor.Randn(shape, g) * 0.3f
                : Tensor.Randn(shape, g) * 0.5f;
        }
        model.LoadStateDict(state);
    }

    internal static Tensor Eval(Module model, Tensor x)
    {
        model.Eval();
        using var noGrad = Autograd.NoGrad();
        return model.Forward(x);
    }
}
