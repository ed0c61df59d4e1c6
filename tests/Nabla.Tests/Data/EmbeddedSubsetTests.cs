using Nabla.Data;

namespace Nabla.Tests.DataTests;

/// <summary>The Fashion-MNIST subset kept in data/fashion-mnist-subset, read when the full set is not installed.</summary>
[Collection("Globals")]
public class EmbeddedSubsetTests
{
    [Theory]
    [InlineData(true, 1000)]
    [InlineData(false, 200)]
    public void The_subset_is_stratified_and_well_formed(bool train, int perClass)
    {
        var dir = FashionMnist.FindEmbedded();
        Assert.NotNull(dir);
        var data = FashionMnist.Load(dir, train);
        Assert.Equal(10 * perClass, data.Count);
        Assert.Equal([10 * perClass, 1, 28, 28], data.Inputs.Shape.ToArray());
        var counts = new int[10];
        foreach (var y in data.Targets.ToArray()) counts[(int)y]++;
        Assert.All(counts, c => Assert.Equal(perClass, c));
        var pixels = data.Inputs.ToArray();
        Assert.Equal(0f, pixels.Min());
        Assert.Equal(1f, pixels.Max());
        // Real images, not blanks: a garment covers a good part of its 784 pixels.
        double mean = pixels.Average(v => (double)v);
        Assert.InRange(mean, 0.2, 0.45);
    }

    [Fact]
    public void LoadDefault_reads_the_full_set_where_it_is_found_and_the_subset_otherwise()
    {
        var saved = Environment.GetEnvironmentVariable("NABLA_DATA_DIR");
        var empty = Directory.CreateTempSubdirectory("nabla-empty-").FullName;
        try
        {
            Environment.SetEnvironmentVariable("NABLA_DATA_DIR", empty);
            var (data, source) = FashionMnist.LoadDefault(train: false);
            Assert.Equal(2000, data.Count);
            Assert.Contains("embedded Fashion-MNIST subset", source, StringComparison.Ordinal);

            // NABLA_DATA_DIR may name the folder holding the files itself.
            var dir = FashionMnist.FindEmbedded()!;
            Environment.SetEnvironmentVariable("NABLA_DATA_DIR", dir);
            (data, source) = FashionMnist.LoadDefault(train: false);
            Assert.Equal($"Fashion-MNIST from {dir}", source);
            Assert.Equal(2000, data.Count);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NABLA_DATA_DIR", saved);
            Directory.Delete(empty, true);
        }
    }
}
