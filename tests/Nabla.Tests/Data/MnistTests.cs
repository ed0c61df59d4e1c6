using Nabla.Data;
using static Nabla.Tests.DataTests.IdxTests;

namespace Nabla.Tests.DataTests;

[Collection("Globals")]
public sealed class MnistTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-mnist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static byte[] Pixels(int n) => Enumerable.Range(0, n * 784).Select(i => (byte)(i % 256)).ToArray();

    void WriteSplit(string prefix, int n, byte[] labels, bool gzip, uint side = 28)
    {
        WriteFile(_dir, $"{prefix}-images-idx3-ubyte", IdxBytes(0x08, [(uint)n, side, 28], Pixels(n)[..(int)(n * side * 28)]), gzip);
        WriteFile(_dir, $"{prefix}-labels-idx1-ubyte", IdxBytes(0x08, [(uint)labels.Length], labels), gzip);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void Loads_images_scaled_to_unit_range_with_a_channel_dimension(bool train, bool gzip)
    {
        WriteSplit(train ? "train" : "t10k", 3, [9, 0, 4], gzip);
        var ds = FashionMnist.Load(_dir, train);
        Assert.Equal(3, ds.Count);
        TestUtil.Shape([3, 1, 28, 28], ds.Inputs);
        Assert.Equal([9f, 0f, 4f], ds.Targets.ToArray());
        Assert.Equal(0f, ds.Inputs.Data[0]);
        Assert.Equal(1f / 255, ds.Inputs.Data[1]);
        Assert.Equal(1f, ds.Inputs.Data[255]);
        Assert.Equal(784 * 3 - 1 - 256 * 9 + 0f, ds.Inputs.Data[784 * 3 - 1] * 255, 3); // (2351 mod 256) = 47
        Assert.Equal(ds.Inputs.ToArray(), Mnist.Load(_dir, train).Inputs.ToArray());
    }

    [Fact]
    public void Missing_files_say_how_to_install_them()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir));
        Assert.StartsWith($"FashionMnist: found neither 'train-images-idx3-ubyte' nor 'train-images-idx3-ubyte.gz' in '{_dir}'", e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void The_default_folder_comes_from_NABLA_DATA_DIR_or_the_Debian_package()
    {
        var old = Environment.GetEnvironmentVariable("NABLA_DATA_DIR");
        try
        {
            // The folder itself, or its fashion-mnist subfolder when the files are there rather than in it.
            Environment.SetEnvironmentVariable("NABLA_DATA_DIR", _dir);
            Assert.Equal(_dir, FashionMnist.ResolveDirectory());
            Directory.CreateDirectory(Path.Combine(_dir, "fashion-mnist"));
            Assert.Equal(Path.Combine(_dir, "fashion-mnist"), FashionMnist.ResolveDirectory());
            Environment.SetEnvironmentVariable("NABLA_DATA_DIR", null);
            Assert.Equal("/usr/share/datasets/fashion-mnist", FashionMnist.ResolveDirectory());
        }
        finally { Environment.SetEnvironmentVariable("NABLA_DATA_DIR", old); }
    }

    [Fact]
    public void Rejects_images_that_are_not_28_by_28()
    {
        WriteSplit("train", 2, [1, 2], gzip: true, side: 27);
        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(_dir));
        Assert.EndsWith("train-images-idx3-ubyte.gz': expected FashionMnist images: unsigned bytes of dimensions (N, 28, 28); the file holds type 0x08 with dimensions [2, 27, 28]", e.Message);
    }

    [Fact]
    public void Rejects_a_label_count_unlike_the_image_count()
    {
        WriteSplit("train", 2, [1, 2, 3], gzip: false);
        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(_dir));
        Assert.Contains("train-labels-idx1-ubyte': holds 3 labels, but '", e.Message);
        Assert.EndsWith("train-images-idx3-ubyte' holds 2 images", e.Message);
    }

    [Fact]
    public void Rejects_a_label_out_of_range()
    {
        WriteSplit("t10k", 2, [3, 10], gzip: true);
        var e = Assert.Throws<DataFormatException>(() => FashionMnist.Load(_dir, train: false));
        Assert.EndsWith("t10k-labels-idx1-ubyte.gz': label 10 at index 1 is out of range for 10 classes (expected 0 to 9)", e.Message);
    }
}
