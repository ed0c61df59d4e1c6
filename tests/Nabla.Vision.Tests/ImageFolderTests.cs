using Nabla.Data;

namespace Nabla.Vision.Tests.ImageFolderTests;

public class ImageFolderTests
{
    static string MakeTree()
    {
        var root = TestData.TempDir();
        foreach (var cls in new[] { "dog", "cat", "Zebra" }) Directory.CreateDirectory(Path.Combine(root, cls));
        // Images filled with a value identifying them: class c, file k -> (10 c + k) / 255.
        void Put(string cls, string name, int value) =>
            Image.Save(Tensor.Full([3, 4, 5], value / 255f), Path.Combine(root, cls, name));
        Put("Zebra", "b.png", 1);
        Put("Zebra", "a.PNG", 0);
        Put("cat", "x.png", 10);
        Directory.CreateDirectory(Path.Combine(root, "cat", "sub"));
        Put("cat", Path.Combine("sub", "y.png"), 11);
        Put("dog", "z.png", 20);
        File.WriteAllText(Path.Combine(root, "dog", "notes.txt"), "not an image");
        return root;
    }

    [Fact]
    public void ClassesAreSortedOrdinally_AndFilesInWalkOrder()
    {
        var ds = new ImageFolder(MakeTree());
        Assert.Equal(["Zebra", "cat", "dog"], ds.Classes);
        Assert.Equal(5, ds.Count);
        var expected = new[] { (0, 0), (0, 1), (1, 10), (1, 11), (2, 20) };
        for (int i = 0; i < ds.Count; i++)
        {
            var s = ds.Get(i);
            Assert.Equal(expected[i].Item1, s.Target.Item());
            Assert.Equal(0, s.Target.Rank);
            Assert.Equal([3, 4, 5], s.Input.Shape.ToArray());
            Assert.Equal(expected[i].Item2 / 255f, s.Input.Data[7], 6);
        }
        Assert.EndsWith(Path.Combine("cat", "sub", "y.png"), ds.SampleAt(3).Path);
    }

    [Fact]
    public void Grayscale_GivesOneChannel()
    {
        var ds = new ImageFolder(MakeTree(), grayscale: true);
        Assert.Equal([1, 4, 5], ds.Get(4).Input.Shape.ToArray());
        Assert.Equal(20 / 255f, ds.Get(4).Input.Data[0], 5);
    }

    [Fact]
    public void CorruptFile_ThrowsOnGet_NamingTheFile()
    {
        var root = MakeTree();
        var bad = Path.Combine(root, "dog", "zz.jpg");
        File.WriteAllBytes(bad, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        var ds = new ImageFolder(root);
        var ex = Assert.Throws<DataFormatException>(() => ds.Get(5));
        Assert.Equal(bad, ex.FileName);
    }

    [Fact]
    public void ImageOverLimit_ThrowsOnGet()
    {
        var root = MakeTree();
        var ds = new ImageFolder(root, limits: new ImageLimits(MaxSide: 4));
        var ex = Assert.Throws<DataFormatException>(() => ds.Get(0));
        Assert.Contains("the header declares 5 x 4 pixels, over the limit of 4 pixels a side", ex.Message);
    }

    [Fact]
    public void EmptyClassFolder_Throws()
    {
        var root = MakeTree();
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolder(root));
        Assert.Equal($"ImageFolder: found no valid file for the classes empty in '{root}'. Supported extensions are: .png, .jpg, .jpeg, .bmp, .webp", ex.Message);
    }

    [Fact]
    public void NoClassFolder_Throws()
    {
        var root = TestData.TempDir();
        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolder(root));
        Assert.Equal($"ImageFolder: couldn't find any class folder in '{root}'", ex.Message);
    }

    [Fact]
    public void MissingRoot_Throws()
    {
        var root = Path.Combine(TestData.TempDir(), "nope");
        var ex = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(root));
        Assert.Equal($"ImageFolder: the root folder '{root}' does not exist", ex.Message);
    }

    [Fact]
    public void IndexOutOfRange_Throws()
    {
        var ds = new ImageFolder(MakeTree());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(5));
        Assert.StartsWith("index 5 is out of bounds for dimension 0 with size 5", ex.Message);
    }

    [Fact]
    public void WorksWithDataLoader_AfterResize()
    {
        var ds = new TransformedDataset(new ImageFolder(MakeTree()), new Transforms.Resize(2, 2));
        var loader = new DataLoader(ds, batchSize: 5);
        var batch = loader.First();
        Assert.Equal([5, 3, 2, 2], batch.Inputs.Shape.ToArray());
        Assert.Equal([0f, 0, 1, 1, 2], batch.Targets.ToArray());
    }
}
