using Google.Protobuf;
using Nabla.Nn;
using Onnx;

namespace Nabla.Onnx.Tests;

/// <summary>
/// Import semantics the backend tests of ONNX 1.12 do not reach, each checked against ONNX Runtime
/// 1.32 on a one-node model built here: ceil_mode windows that would start in the padding, pads
/// given alone, unread optional outputs.
/// </summary>
public sealed class ImportEdgeCaseTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-edge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static ValueInfoProto Info(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    /// <summary>A model of one node reading "x" (and the given initializers) and writing "y".</summary>
    static byte[] OneNode(string op, int opset, long[] inputShape, AttributeProto[] attributes, params (string Name, float[] Data, long[] Dims)[] weights)
    {
        var node = new NodeProto { OpType = op, Name = "n", Input = { "x" }, Output = { "y" } };
        node.Attribute.AddRange(attributes);
        var graph = new GraphProto { Name = "g", Node = { node }, Input = { Info("x", inputShape) }, Output = { new ValueInfoProto { Name = "y" } } };
        foreach (var (name, data, dims) in weights)
        {
            node.Input.Add(name);
            var t = new TensorProto { Name = name, DataType = 1 };
            t.Dims.AddRange(dims);
            t.FloatData.AddRange(data);
            graph.Initializer.Add(t);
        }
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model.ToByteArray();
    }

    static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    static void SameAsOrt(byte[] model, Tensor x, string what)
    {
        using var session = Ort.Session(model);
        var (expected, shape) = Ort.Run(session, x, "x");
        Tensor actual;
        using (Autograd.NoGrad()) actual = OnnxModule.Load(model).Forward(x);
        Assert.Equal(shape, actual.Shape.ToArray());
        Ort.AssertClose(expected, actual.ToArray(), what: what);
    }

    public static TheoryData<string, long, long, long, long, long> CeilCases() => new()
    {
        // op, input size, kernel, stride, pad, count_include_pad
        { "MaxPool", 2, 1, 2, 0, 0 },      // ONNX's test_maxpool_2d_ceil_output_size_reduce_by_one
        { "MaxPool", 5, 2, 2, 1, 0 },      // PyTorch's MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5x5
        { "MaxPool", 7, 3, 2, 1, 0 },
        { "AveragePool", 5, 2, 2, 1, 0 },
        { "AveragePool", 5, 2, 2, 1, 1 },
        { "AveragePool", 6, 3, 2, 1, 0 },
        { "AveragePool", 6, 3, 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(CeilCases))]
    public void Ceil_mode_never_starts_a_window_in_the_padding(string op, long size, long kernel, long stride, long pad, long countPad)
    {
        var attrs = new List<AttributeProto>
        {
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad), Int("ceil_mode", 1),
        };
        if (op == "AveragePool") attrs.Add(Int("count_include_pad", countPad));
        var model = OneNode(op, 17, [-1, 2, size, size], [.. attrs]);
        SameAsOrt(model, Tensor.Randn([2, 2, (int)size, (int)size], new Generator(1)), $"{op} {size} k{kernel} s{stride} p{pad} cip{countPad}");
    }

    [Fact]
    public void Conv_with_only_pads_given_takes_the_kernel_from_the_weight()
    {
        var w = Tensor.Randn([3, 2, 3, 3], new Generator(2));
        var model = OneNode("Conv", 17, [-1, 2, 6, 6], [Ints("pads", 1, 0, 2, 1)], ("w", w.ToArray(), [3, 2, 3, 3]));
        SameAsOrt(model, Tensor.Randn([2, 2, 6, 6], new Generator(3)), "Conv with asymmetric pads only");
    }

    [Fact]
    public void An_unread_dropout_mask_or_maxpool_index_output_is_accepted()
    {
        var m = ModelProto.Parser.ParseFrom(OneNode("Dropout", 12, [-1, 4], []));
        m.Graph.Node[0].Output.Add("mask_nobody_reads");
        var x = Tensor.Randn([3, 4], new Generator(4));
        using (Autograd.NoGrad()) Assert.Equal(x.ToArray(), OnnxModule.Load(m.ToByteArray()).Forward(x).ToArray());

        m.Graph.Output.Add(new ValueInfoProto { Name = "mask_nobody_reads" });
        var e = Assert.Throws<OnnxImportException>(() => OnnxModule.Load(m.ToByteArray()));
        Assert.Contains("Dropout node 'n' (opset 12): the mask output is not supported", e.Message);
    }

    [Fact]
    public void A_missing_required_input_is_refused_at_load()
    {
        var e = Assert.Throws<OnnxImportException>(() => OnnxModule.Load(OneNode("Conv", 17, [-1, 2, 6, 6], [])));
        Assert.Equal("Conv node 'n' (opset 17): input 1 is missing; Conv needs 2 inputs", e.Message);
        var m = ModelProto.Parser.ParseFrom(OneNode("Gemm", 13, [-1, 4], []));
        m.Graph.Node[0].Input.Add("");
        Assert.Contains("Gemm node 'n' (opset 17): input 1 is missing", Assert.Throws<OnnxImportException>(() =>
        {
            m.OpsetImport[0].Version = 17;
            OnnxModule.Load(m.ToByteArray());
        }).Message);
        var u = ModelProto.Parser.ParseFrom(OneNode("Unsqueeze", 13, [-1, 4], []));
        Assert.Contains("Unsqueeze node 'n' (opset 13): input 1 is missing; Unsqueeze needs 2 inputs", Assert.Throws<OnnxImportException>(() => OnnxModule.Load(u.ToByteArray())).Message);
    }

    [Fact]
    public void Opset_7_max_pooling_loads()
    {
        var model = OneNode("MaxPool", 7, [-1, 1, 4, 4], [Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)]);
        SameAsOrt(model, Tensor.Randn([1, 1, 4, 4], new Generator(5)), "MaxPool at opset 7");
    }

    [Fact]
    public void Weights_of_linear_on_3d_inputs_and_of_layer_norm_are_trainable_after_import()
    {
        var model = new Sequential(new Linear(8, 4), new LayerNorm(4));
        var imported = OnnxModule.Load(OnnxExport.ToBytes(model, [1, 3, 8]));
        Assert.Equal(model.NamedParameters().Select(p => p.Name).Order(), imported.NamedParameters().Select(p => p.Name).Order());
        var groups = new Sequential(new Conv2d(2, 4, 1), new GroupNorm(2, 4));
        var importedGroups = OnnxModule.Load(OnnxExport.ToBytes(groups, [1, 2, 5, 5]));
        Assert.Equal(groups.NamedParameters().Select(p => p.Name).Order(), importedGroups.NamedParameters().Select(p => p.Name).Where(n => !n.Contains("group_", StringComparison.Ordinal)).Order());
    }

    [Fact]
    public void External_data_through_a_symbolic_link_is_refused()
    {
        string outside = Path.Combine(_dir, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllBytes(Path.Combine(outside, "secret.bin"), new byte[12]);
        string modelDir = Path.Combine(_dir, "model");
        Directory.CreateDirectory(modelDir);
        File.CreateSymbolicLink(Path.Combine(modelDir, "w.bin"), Path.Combine(outside, "secret.bin"));
        var m = ModelProto.Parser.ParseFrom(OnnxExport.ToBytes(new Linear(4, 3), [1, 4]));
        var b = m.Graph.Initializer.First(t => t.Name == "bias");
        b.RawData = ByteString.Empty;
        b.DataLocation = TensorProto.Types.DataLocation.External;
        b.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });
        string path = Path.Combine(modelDir, "model.onnx");
        File.WriteAllBytes(path, m.ToByteArray());
        var e = Assert.Throws<OnnxImportException>(() => OnnxModule.Load(path));
        Assert.Contains("external data location 'w.bin' goes through a symbolic link", e.Message);
    }
}
