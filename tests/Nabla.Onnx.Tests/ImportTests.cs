using Google.Protobuf;
using Nabla.Nn;
using Onnx;

namespace Nabla.Onnx.Tests;

/// <summary>Export then import: every preset comes back with the same evaluation outputs and the same weights.</summary>
public class RoundTripTests
{
    /// <summary>Every preset, with and without batch norm; unfolded, since folding changes the weights by design.</summary>
    public static TheoryData<string, bool> Unfolded()
    {
        var data = new TheoryData<string, bool>();
        foreach (var row in PresetExportTests.Presets())
            if (row[2] is false) data.Add((string)row[0], (bool)row[1]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Unfolded))]
    public void Export_then_import_gives_the_same_outputs_and_state_dict(string preset, bool batchNorm)
    {
        var model = PresetExportTests.Build(preset, batchNorm);
        var imported = OnnxModule.Load(OnnxExport.ToBytes(model, [1, 1, 28, 28]));

        var x = Tensor.Rand([5, 1, 28, 28], new Generator(11));
        var expected = LayerExportTests.Eval(model, x);
        Tensor actual;
        using (Autograd.NoGrad()) actual = imported.Forward(x);
        Ort.AssertClose(expected.ToArray(), actual.ToArray(), rtol: 1e-5, atol: 1e-6, what: preset);

        // The same keys, shapes and values; num_batches_tracked (a training counter) has no ONNX form.
        var original = model.StateDict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary();
        var back = imported.StateDict();
        Assert.Equal(original.Keys.Order(StringComparer.Ordinal), back.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in original) Assert.Equal(value.ToArray(), back[key].ToArray());
        // And the weights load back into a fresh preset, which then computes the same function.
        var fresh = PresetExportTests.Build(preset, batchNorm);
        fresh.LoadStateDict(back.ToDictionary(), strict: false);
        Ort.AssertClose(expected.ToArray(), LayerExportTests.Eval(fresh, x).ToArray(), rtol: 0, atol: 0, what: preset + " reloaded");
    }

    [Fact]
    public void Every_layer_configuration_round_trips()
    {
        foreach (var (name, c) in LayerExportTests.Cases)
        {
            var model = LayerExportTests.Build(c, seed: 2);
            var imported = OnnxModule.Load(OnnxExport.ToBytes(model, [1, .. c.Sample]));
            var x = Tensor.Randn([3, .. c.Sample], new Generator(5)) * c.InputScale;
            Tensor actual;
            using (Autograd.NoGrad()) actual = imported.Forward(x);
            Ort.AssertClose(LayerExportTests.Eval(model, x).ToArray(), actual.ToArray(), rtol: 1e-4, atol: 1e-5, what: name);
            // Every weight and statistic comes back as what it was, under its key. Layers without affine
            // parameters may gain the constant scale and shift ONNX's normalization nodes take.
            var back = imported.StateDict();
            foreach (var (key, value) in model.StateDict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            {
                Assert.True(back.ContainsKey(key), $"{name}: {key} did not come back");
                Assert.Equal(value.ToArray(), back[key].ToArray());
            }
            var trainable = imported.NamedParameters().Select(p => p.Name).ToHashSet();
            foreach (var (key, _) in model.NamedParameters()) Assert.Contains(key, trainable);
        }
    }

    [Fact]
    public void An_imported_model_trains_and_its_batch_norm_statistics_move()
    {
        var model = PresetExportTests.Build("cnn", batchNorm: true);
        var imported = OnnxModule.Load(OnnxExport.ToBytes(model, [1, 1, 28, 28]));
        imported.Train();
        var mean = imported.StateDict()["1.running_mean"].ToArray();
        var optimizer = new Optim.Sgd(imported.Parameters(), lr: 0.01);
        var x = Tensor.Rand([16, 1, 28, 28], new Generator(1));
        var y = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 10))], 16);
        var loss = new Losses.CrossEntropyLoss();
        float first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            var l = loss.Forward(imported.Forward(x), y);
            l.Backward();
            optimizer.Step();
            if (step == 0) first = l.Item();
            last = l.Item();
        }
        Assert.True(last < first, $"loss {first} -> {last}");
        Assert.NotEqual(mean, imported.StateDict()["1.running_mean"].ToArray());
        Assert.All(imported.Parameters(), p => Assert.NotNull(p.Grad));
    }
}

/// <summary>Hostile and unsupported files: each is one clear error at load time, never a crash or a partial module.</summary>
public sealed class HostileFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static byte[] Valid() => OnnxExport.ToBytes(new Sequential(new Linear(4, 3), new Relu()), [1, 4]);

    static ModelProto Parse(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);

    static OnnxImportException Refused(byte[] bytes)
    {
        var e = Assert.Throws<OnnxImportException>(() => OnnxModule.Load(bytes));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    OnnxImportException RefusedFile(ModelProto model)
    {
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return Assert.Throws<OnnxImportException>(() => OnnxModule.Load(path));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.99)]
    public void Truncated_files_are_refused(double fraction)
    {
        var bytes = Valid();
        var e = Refused(bytes[..(int)(bytes.Length * fraction)]);
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Garbage_bytes_are_refused(int seed)
    {
        var bytes = new byte[1000];
        new Random(seed).NextBytes(bytes);
        var e = Refused(bytes);
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void An_image_is_not_a_model()
    {
        var e = Refused(File.ReadAllBytes(ResNet18Tests.ChelseaPath()));
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void Dims_whose_product_overflows_are_refused()
    {
        var m = Parse(Valid());
        var w = m.Graph.Initializer.First(t => t.Name == "0.weight");
        w.Dims.Clear();
        w.Dims.Add(1L << 40);
        w.Dims.Add(1L << 40);
        var e = Refused(m.ToByteArray());
        Assert.Contains("initializer '0.weight': dims [1099511627776, 1099511627776] hold more than 2147483647 elements", e.Message);
    }

    [Fact]
    public void Dims_larger_than_the_data_are_refused()
    {
        var m = Parse(Valid());
        var w = m.Graph.Initializer.First(t => t.Name == "0.weight");
        w.Dims[0] = 3000;
        var e = Refused(m.ToByteArray());
        Assert.Contains("initializer '0.weight': raw data holds 48 bytes; its shape [3000, 4] of FLOAT needs 48000", e.Message);
    }

    [Fact]
    public void Raw_data_that_does_not_match_the_shape_is_refused()
    {
        var m = Parse(Valid());
        var b = m.Graph.Initializer.First(t => t.Name == "0.bias");
        b.RawData = ByteString.CopyFrom(new byte[7]);
        var e = Refused(m.ToByteArray());
        Assert.Contains("initializer '0.bias': raw data holds 7 bytes; its shape [3] of FLOAT needs 12", e.Message);
    }

    [Fact]
    public void Negative_dims_are_refused()
    {
        var m = Parse(Valid());
        m.Graph.Initializer.First(t => t.Name == "0.bias").Dims[0] = -3;
        Assert.Contains("dimension 0 is -3", Refused(m.ToByteArray()).Message);
    }

    [Fact]
    public void A_node_reading_an_undefined_tensor_is_refused()
    {
        var m = Parse(Valid());
        m.Graph.Node[1].Input[0] = "nowhere";
        var e = Refused(m.ToByteArray());
        Assert.Contains("Relu node '/1/Relu' reads 'nowhere', which no node, graph input or initializer defines", e.Message);
    }

    [Fact]
    public void A_cycle_is_refused()
    {
        var m = Parse(Valid());
        // Gemm now reads the Relu's output, which reads the Gemm's.
        m.Graph.Node[0].Input[0] = m.Graph.Node[1].Output[0];
        var e = Refused(m.ToByteArray());
        Assert.Contains("the graph has a cycle through Gemm node '/0/Gemm', Relu node '/1/Relu'", e.Message);
    }

    [Fact]
    public void A_value_defined_twice_is_refused()
    {
        var m = Parse(Valid());
        m.Graph.Node[1].Output[0] = m.Graph.Node[0].Output[0];
        Assert.Contains("is defined twice", Refused(m.ToByteArray()).Message);
    }

    [Fact]
    public void An_unsupported_op_is_refused_with_node_opset_and_supported_set()
    {
        var m = Parse(Valid());
        m.Graph.Node[1].OpType = "HardSwish";
        var e = Refused(m.ToByteArray());
        Assert.StartsWith("HardSwish node '/1/Relu' (opset 17): op HardSwish is not supported; supported ops: Add, AveragePool, BatchNormalization, ", e.Message);
    }

    [Fact]
    public void An_unsupported_attribute_value_is_refused()
    {
        var m = Parse(Valid());
        m.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "transA", Type = AttributeProto.Types.AttributeType.Int, I = 7 });
        Assert.Contains("Gemm node '/0/Gemm' (opset 17): transA = 7 is not supported (supported: 0, 1)", Refused(m.ToByteArray()).Message);
        var m2 = Parse(Valid());
        m2.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "alpha", Type = AttributeProto.Types.AttributeType.Float, F = 1 });
        Assert.Contains("Relu node '/1/Relu' (opset 17): attribute 'alpha' is not supported (supported: none)", Refused(m2.ToByteArray()).Message);
    }

    [Fact]
    public void An_opset_above_17_is_refused()
    {
        var m = Parse(Valid());
        m.OpsetImport[0].Version = 18;
        Assert.Contains("opset 18 is not supported; Nabla imports opsets up to 17", Refused(m.ToByteArray()).Message);
    }

    [Fact]
    public void A_foreign_domain_is_refused()
    {
        var m = Parse(Valid());
        m.Graph.Node[1].Domain = "com.microsoft";
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        Assert.Contains("domain 'com.microsoft' is not supported", Refused(m.ToByteArray()).Message);
    }

    static ModelProto WithExternalBias(string location, long offset = 0, long? length = null)
    {
        var m = Parse(Valid());
        var b = m.Graph.Initializer.First(t => t.Name == "0.bias");
        b.RawData = ByteString.Empty;
        b.DataLocation = TensorProto.Types.DataLocation.External;
        b.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        b.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length is { } l) b.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return m;
    }

    [Theory]
    [InlineData("../weights.bin")]
    [InlineData("sub/../../weights.bin")]
    [InlineData("/etc/passwd")]
    public void External_data_outside_the_models_folder_is_refused(string location)
    {
        var e = RefusedFile(WithExternalBias(location));
        Assert.Contains($"external data location '{location}' is outside the model's folder", e.Message);
    }

    [Fact]
    public void External_data_in_bytes_without_a_folder_is_refused()
    {
        var e = Refused(WithExternalBias("weights.bin").ToByteArray());
        Assert.Contains("refers to external data, which is read only for models loaded from a file", e.Message);
    }

    [Fact]
    public void External_data_inside_the_folder_is_read_and_checked()
    {
        float[] bias = [0.5f, -1f, 2f];
        var bytes = new byte[8 + 12];
        System.Buffer.BlockCopy(bias, 0, bytes, 8, 12);
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), bytes);
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllBytes(path, WithExternalBias("weights.bin", offset: 8, length: 12).ToByteArray());
        var model = OnnxModule.Load(path);
        Assert.Equal(bias, model.StateDict()["0.bias"].ToArray());

        File.WriteAllBytes(path, WithExternalBias("weights.bin", offset: 16, length: 12).ToByteArray());
        Assert.Contains("external data offset 16 and length 12 fall outside 'weights.bin' (20 bytes)", Assert.Throws<OnnxImportException>(() => OnnxModule.Load(path)).Message);
        File.WriteAllBytes(path, WithExternalBias("missing.bin").ToByteArray());
        Assert.Contains("external data file 'missing.bin' not found beside the model", Assert.Throws<OnnxImportException>(() => OnnxModule.Load(path)).Message);
    }

    [Fact]
    public void A_missing_file_is_file_not_found()
    {
        var e = Assert.Throws<FileNotFoundException>(() => OnnxModule.Load(Path.Combine(_dir, "absent.onnx")));
        Assert.Contains("ONNX model not found", e.Message);
    }

    [Fact]
    public void A_wrong_input_shape_names_the_input_at_run_time()
    {
        var model = OnnxModule.Load(Valid());
        var e = Assert.ThrowsAny<ArgumentException>(() => model.Forward(Tensor.Zeros(2, 5)));
        Assert.Contains("input 'input' of shape [N, 4]", e.Message);
    }
}

/// <summary>An imported module's weights go through safetensors like any module's.</summary>
public sealed class ImportedCheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Fine_tuned_weights_save_and_load_into_a_fresh_import()
    {
        var bytes = OnnxExport.ToBytes(PresetExportTests.Build("resnet", batchNorm: true), [1, 1, 28, 28]);
        var tuned = OnnxModule.Load(bytes);
        tuned.Train();
        var optimizer = new Optim.Sgd(tuned.Parameters(), lr: 0.01);
        var x = Tensor.Rand([8, 1, 28, 28], new Generator(3));
        var loss = new Losses.CrossEntropyLoss().Forward(tuned.Forward(x), Tensor.FromArray([0f, 1, 2, 3, 4, 5, 6, 7], 8));
        loss.Backward();
        optimizer.Step();
        tuned.Eval();

        string path = Path.Combine(_dir, "tuned.safetensors");
        Serialization.SafeTensors.Save(path, tuned.StateDict());
        var fresh = OnnxModule.Load(bytes);
        fresh.LoadStateDict(Serialization.SafeTensors.Load(path));
        using var noGrad = Autograd.NoGrad();
        Assert.Equal(tuned.Forward(x).ToArray(), fresh.Forward(x).ToArray());
        Assert.NotEqual(OnnxModule.Load(bytes).Forward(x).ToArray(), fresh.Forward(x).ToArray());
    }
}
