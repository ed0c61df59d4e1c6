using Nabla.Data;

namespace Nabla.Vision.Tests.CifarTests;

public class CifarTests
{
    /// <summary>A record: the label bytes, then pixel k holding (k + seed) mod 256.</summary>
    static byte[] Record(int seed, params byte[] labels)
    {
        var r = new byte[labels.Length + Cifar.ImageBytes];
        labels.CopyTo(r, 0);
        for (int k = 0; k < Cifar.ImageBytes; k++) r[labels.Length + k] = (byte)((k + seed) % 256);
        return r;
    }

    static string Write(params byte[][] records)
    {
        var path = Path.Combine(TestData.TempDir(), "batch.bin");
        File.WriteAllBytes(path, records.SelectMany(r => r).ToArray());
        return path;
    }

    [Fact]
    public void Load10_ReadsImagesInChwOrder_AndLabels()
    {
        var ds = Cifar.Load10(Write(Record(0, 3), Record(5, 9)));
        Assert.Equal(2, ds.Count);
        Assert.Equal([2, 3, 32, 32], ds.Inputs.Shape.ToArray());
        Assert.Equal([3f, 9f], ds.Targets.ToArray());
        var img = ds.Get(1).Input;
        // Byte k of the record's pixels is channel k / 1024, row (k % 1024) / 32, column k % 32.
        int k = 1024 + 2 * 32 + 7;
        Assert.Equal(((k + 5) % 256) / 255f, TestData.At(img, 1, 2, 7), 6);
    }

    [Fact]
    public void Load10_ConcatenatesFiles()
    {
        var ds = Cifar.Load10(Write(Record(0, 1)), Write(Record(0, 2), Record(0, 0)));
        Assert.Equal([1f, 2f, 0f], ds.Targets.ToArray());
    }

    [Fact]
    public void Load100_FineByDefault_CoarseOnRequest()
    {
        var path = Write(Record(0, 19, 99), Record(0, 4, 42));
        Assert.Equal([99f, 42f], Cifar.Load100(path).Targets.ToArray());
        Assert.Equal([19f, 4f], Cifar.Load100([path], coarse: true).Targets.ToArray());
    }

    [Fact]
    public void Load10_LabelOutOfRange_Throws()
    {
        var path = Write(Record(0, 1), Record(0, 12));
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load10(path));
        Assert.Equal($"CIFAR-10 file '{path}': label 12 in record 1 is out of range for 10 classes (expected 0 to 9)", ex.Message);
    }

    [Fact]
    public void Load100_CoarseLabelOutOfRange_ThrowsEvenWhenReadingFine()
    {
        var path = Write(Record(0, 20, 5));
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load100(path));
        Assert.Equal($"CIFAR-100 file '{path}': coarse label 20 in record 0 is out of range for 20 classes (expected 0 to 19)", ex.Message);
    }

    [Fact]
    public void Load100_FineLabelOutOfRange_Throws()
    {
        var path = Write(Record(0, 2, 100));
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load100(path));
        Assert.Equal($"CIFAR-100 file '{path}': fine label 100 in record 0 is out of range for 100 classes (expected 0 to 99)", ex.Message);
    }

    [Fact]
    public void WrongRecordLength_Throws()
    {
        var path = Write(Record(0, 1), [1, 2]);
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load10(path));
        Assert.Equal($"CIFAR-10 file '{path}': its length of 3075 bytes is not a whole number of 3073-byte records (1 label byte + 3072 pixel bytes); 1 whole records and 2 bytes left over", ex.Message);
    }

    [Fact]
    public void Cifar10FileReadAsCifar100_FailsOnLength()
    {
        var path = Write(Record(0, 1), Record(0, 2));
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load100(path));
        Assert.Contains("its length of 6146 bytes is not a whole number of 3074-byte records (2 label bytes + 3072 pixel bytes)", ex.Message);
    }

    [Fact]
    public void EmptyFile_Throws()
    {
        var path = Write();
        var ex = Assert.Throws<DataFormatException>(() => Cifar.Load10(path));
        Assert.Equal($"CIFAR-10 file '{path}': the file is empty", ex.Message);
    }

    [Fact]
    public void NoFiles_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Cifar.Load10());
        Assert.StartsWith("CIFAR-10: expected at least one file; got none", ex.Message);
    }
}
