using Nabla.Data;
using Nabla.Vision;
using static Nabla.Cli.Tests.CliHarness;

namespace Nabla.Cli.Tests;

/// <summary><c>nabla data export-images</c>: Fashion-MNIST as an image folder tree that ImageFolder reads back exactly.</summary>
public sealed class DataCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("nabla-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public void The_tree_holds_the_idx_pixels_exactly_one_folder_per_class()
    {
        var r = Run("data", "export-images", "--out", P("tree"), "--data", SubsetDir, "--per-class", "3", "--threads", "2");
        Assert.True(r.Code == 0, r.Error);
        Assert.Contains("Wrote 60 PNG images", r.Out);
        var (train, test, _) = RunData.LoadFashionMnist(SubsetDir);
        foreach (var (split, set) in new[] { ("train", train), ("test", test) })
        {
            var folder = new ImageFolder(P($"tree/{split}"), grayscale: true);
            Assert.Equal(FashionMnist.Classes.Select(DataCommand.FolderName).Order(StringComparer.Ordinal), folder.Classes);
            Assert.Equal(30, folder.Count);
            for (int i = 0; i < folder.Count; i++)
            {
                var (path, cls) = folder.SampleAt(i);
                int index = int.Parse(Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture);
                var original = set.Get(index);
                Assert.Equal(DataCommand.FolderName(FashionMnist.Classes[(int)original.Target.Item()]), folder.Classes[cls]);
                // The same bytes: both decoders give byte / 255 (in float, computed their own way).
                static int[] Bytes(Tensor t) => [.. t.ToArray().Select(v => (int)MathF.Round(v * 255))];
                Assert.Equal(Bytes(original.Input), Bytes(folder.Get(i).Input));
            }
        }
    }

    [Fact]
    public void The_per_class_draw_follows_the_seed()
    {
        string Files(string tree) => string.Join(",", Directory.GetFiles(P(tree), "*.png", SearchOption.AllDirectories).Select(Path.GetFileName).Order());
        Assert.Equal(0, Run("data", "export-images", "--out", P("a"), "--data", SubsetDir, "--per-class", "2", "--split", "train").Code);
        Assert.Equal(0, Run("data", "export-images", "--out", P("b"), "--data", SubsetDir, "--per-class", "2", "--split", "train").Code);
        Assert.Equal(0, Run("data", "export-images", "--out", P("c"), "--data", SubsetDir, "--per-class", "2", "--split", "train", "--seed", "5").Code);
        Assert.Equal(Files("a"), Files("b"));
        Assert.NotEqual(Files("a"), Files("c"));
        Assert.False(Directory.Exists(P("a/test")));
    }

    [Theory]
    [InlineData("nonempty", 1, "already exists and is not empty")]
    [InlineData("file", 1, "is a file, not a folder")]
    [InlineData("per-class", 2, "--per-class must be at least 1; got 0")]
    [InlineData("no-out", 2, "needs --out TREE")]
    [InlineData("positional", 2, "takes no positional arguments")]
    [InlineData("subcommand", 2, "nabla data expects export-images; got 'import'")]
    public void Mistakes_are_one_line_and_write_nothing(string kind, int code, string message)
    {
        Directory.CreateDirectory(P("nonempty"));
        File.WriteAllText(P("nonempty/keep.txt"), "keep");
        File.WriteAllText(P("file"), "keep");
        string[] args = kind switch
        {
            "nonempty" => ["data", "export-images", "--out", P("nonempty"), "--data", SubsetDir],
            "file" => ["data", "export-images", "--out", P("file"), "--data", SubsetDir],
            "per-class" => ["data", "export-images", "--out", P("new"), "--per-class", "0"],
            "no-out" => ["data", "export-images"],
            "positional" => ["data", "export-images", "extra", "--out", P("new")],
            _ => ["data", "import"],
        };
        var r = Run(args);
        Assert.Equal(code, r.Code);
        Assert.Contains(message, r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(P("new")));
        Assert.Equal(["keep.txt"], Directory.GetFiles(P("nonempty")).Select(Path.GetFileName));
    }
}
