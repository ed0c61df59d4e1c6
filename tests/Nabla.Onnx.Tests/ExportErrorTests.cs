using Nabla.Nn;

namespace Nabla.Onnx.Tests;

/// <summary>What cannot be exported is refused with one message naming the module's path and type, and nothing is written.</summary>
public sealed class ExportErrorTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-onnx-errors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    sealed class Doubler : Module
    {
        protected override Tensor ForwardCore(Tensor input) => input * 2f;
    }

    sealed class WithList : Module
    {
        public WithList() => Register("blocks", new ModuleList(new Linear(4, 4)));

        protected override Tensor ForwardCore(Tensor input) => ((ModuleList)Children().First())[0].Forward(input);
    }

    OnnxExportException Refused(Module model, int[] shape)
    {
        string path = Path.Combine(_dir, "model.onnx");
        var e = Assert.Throws<OnnxExportException>(() => OnnxExport.Save(model, shape, path));
        Assert.Empty(Directory.GetFileSystemEntries(_dir)); // not the file, not a temporary one
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void A_custom_module_is_named_by_path_and_type()
    {
        var e = Refused(new Sequential(new Linear(4, 4), new Relu(), new Doubler()), [1, 4]);
        Assert.StartsWith("ONNX export: '2' (Doubler) cannot be exported: it has no ONNX form. Exportable layers: Sequential, ", e.Message);
    }

    [Fact]
    public void A_nested_module_is_named_by_its_dotted_path()
    {
        var e = Refused(new Sequential(new Sequential(new Linear(4, 4), new Doubler())), [1, 4]);
        Assert.StartsWith("ONNX export: '0.1' (Doubler) cannot be exported", e.Message);
    }

    [Fact]
    public void The_root_module_is_named_model()
    {
        var e = Refused(new WithList(), [1, 4]);
        Assert.StartsWith("ONNX export: '(model)' (WithList) cannot be exported", e.Message);
    }

    [Fact]
    public void Batch_norm_without_running_statistics_is_refused_with_the_reason()
    {
        var e = Refused(new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2, trackRunningStats: false)), [1, 1, 5, 5]);
        Assert.StartsWith("ONNX export: '1' (BatchNorm2d) cannot be exported: it has no running statistics", e.Message);
    }

    [Fact]
    public void Unbatched_convolution_input_is_refused()
    {
        var e = Refused(new Conv2d(1, 2, 3), [1, 5, 5]);
        Assert.Contains("'(model)' (Conv2d) cannot be exported: the exported model gives it input of shape [1, 5, 5] where it needs a batched input (N, C, H, W)", e.Message);
    }

    [Fact]
    public void Adaptive_pooling_with_unequal_windows_is_refused()
    {
        var e = Refused(new AdaptiveAvgPool2d(3), [1, 2, 7, 5]);
        Assert.Contains("'(model)' (AdaptiveAvgPool2d) cannot be exported: its windows on a 7x5 input to 3x3 outputs differ in size", e.Message);
    }

    [Fact]
    public void An_input_shape_the_model_rejects_names_the_layer()
    {
        var e = Refused(new Sequential(new Flatten(), new Linear(10, 2)), [1, 3, 3]);
        Assert.StartsWith("ONNX export: '1' (Linear) does not accept its input of shape [1, 9]: ", e.Message);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 0, 4 })]
    [InlineData(new[] { 1, -4 })]
    public void A_bad_input_shape_is_an_argument_error(int[] shape)
    {
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.Save(new Linear(4, 2), shape, Path.Combine(_dir, "m.onnx")));
        Assert.Contains("expected an input shape of positive sizes", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void A_normalization_of_the_wrong_size_is_an_argument_error()
    {
        var options = new OnnxExportOptions { InputNormalization = ([0.5f, 0.5f], [0.2f, 0.2f]) };
        var e = Assert.Throws<ArgumentException>(() => OnnxExport.Save(new Conv2d(3, 2, 1), [1, 3, 4, 4], Path.Combine(_dir, "m.onnx"), options));
        Assert.Contains("one mean and one std per input channel; got 2 and 2 for an input of shape [1, 3, 4, 4]", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void A_failed_export_leaves_an_existing_file_as_it_was()
    {
        string path = Path.Combine(_dir, "model.onnx");
        var first = OnnxExport.Save(new Linear(4, 2), [1, 4], path);
        var before = File.ReadAllBytes(path);
        Assert.Equal(before.Length, first.FileBytes);
        Assert.Throws<OnnxExportException>(() => OnnxExport.Save(new Sequential(new Doubler()), [1, 4], path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void A_missing_folder_is_an_io_error_and_writes_nothing()
    {
        string path = Path.Combine(_dir, "absent", "model.onnx");
        Assert.Throws<DirectoryNotFoundException>(() => OnnxExport.Save(new Linear(4, 2), [1, 4], path));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}
