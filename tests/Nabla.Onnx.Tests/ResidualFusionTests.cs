using Google.Protobuf;
using Nabla.Nn;
using Onnx;

namespace Nabla.Onnx.Tests;

/// <summary>
/// An imported Conv → Add → Relu prepared for inference runs as one node (the add and ReLU as the convolution
/// writes), and equals the graph as loaded: with the block's input as the residual, with a residual that
/// broadcasts (the Add as loaded then), and with pads of 0 before and 1 after (read as padding by the direct
/// kernels), at batch 1 and 3.
/// </summary>
public class ResidualFusionTests
{
    static TensorProto Initializer(string name, long[] dims, Generator g)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(Tensor.Randn([.. dims.Select(d => (int)d)], g).ToArray());
        return t;
    }

    /// <summary>y = Relu(Conv(x, W) + other), other being x itself or an initializer of the given shape.</summary>
    static byte[] Model(int channels, int stride, long[] pads, long[]? otherDims)
    {
        var g = new Generator(51);
        var conv = new NodeProto { OpType = "Conv", Name = "conv", Input = { "x", "w", "b" }, Output = { "c" } };
        conv.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 3, 3 } });
        conv.Attribute.Add(new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { stride, stride } });
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { pads } });
        var add = new NodeProto { OpType = "Add", Name = "add", Input = { "c", otherDims is null ? "x" : "r" }, Output = { "s" } };
        var relu = new NodeProto { OpType = "Relu", Name = "relu", Input = { "s" }, Output = { "y" } };
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in new long[] { channels, 12, 12 }) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        var graph = new GraphProto
        {
            Name = "g", Node = { conv, add, relu },
            Input = { new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } } },
            Output = { new ValueInfoProto { Name = "y" } },
            Initializer = { Initializer("w", [channels, channels, 3, 3], g), Initializer("b", [channels], g) },
        };
        if (otherDims is not null) graph.Initializer.Add(Initializer("r", otherDims, g));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    [Theory]
    [InlineData(1, 1, null)]            // the block's input as the residual
    [InlineData(3, 1, null)]
    [InlineData(1, 1, "broadcast")]      // a residual of shape (1, C, 1, 1): the Add as loaded
    [InlineData(1, 2, "output")]         // stride 2, pads 0 before and 1 after, a residual of the output's shape
    [InlineData(3, 2, "output")]
    public void A_fused_conv_add_relu_equals_the_graph_as_loaded(int batch, int stride, string? residual)
    {
        const int c = 32;
        long[] pads = stride == 1 ? [1, 1, 1, 1] : [0, 0, 1, 1];
        long[]? other = residual switch { "broadcast" => [1, c, 1, 1], "output" => [batch, c, 6, 6], _ => null };
        var module = OnnxModule.Load(Model(c, stride, pads, other));
        var x = Tensor.Randn([batch, c, 12, 12], new Generator(52));
        Tensor expected;
        using (Autograd.NoGrad()) expected = module.Forward(x);
        var prepared = module.ForInference(c, 12, 12);
        Assert.Contains("1 with the Add + Relu after them", Assert.Single(prepared.Plan));
        Ort.AssertClose(expected.ToArray(), prepared.Forward(x).ToArray(), 1e-5, 1e-5, what: $"stride {stride}, residual {residual ?? "x"}");
    }
}
