using Nabla.Data;
using Nabla.Vision;
using Nabla.Vision.Transforms;

namespace Nabla.Vision.Tests;

/// <summary>The example of docs/data.md, run as written (the page shows this code verbatim).</summary>
public class DataDocsExampleTests
{
    [Fact]
    public void The_data_page_example_runs()
    {
        // docs/data.md example begins
        var (train, source) = FashionMnist.LoadDefault(train: true);   // the full set, or the embedded subset
        var (trainSplit, validation) = Dataset.StratifiedSplit(train, 0.9, new Generator(0));
        var stats = ChannelStats.Compute(trainSplit);                  // from the training split only

        var policy = new Compose(
            new RandomCrop(28, padding: 4), new HorizontalFlip(), new RandAugment(numOps: 2, magnitude: 9));
        var augmented = new TransformedDataset(trainSplit, policy, seed: 1);
        var loader = new DataLoader(augmented, batchSize: 128, shuffle: true, dropLast: true,
                                    generator: new Generator(2), workers: 2);

        foreach (var batch in loader)
        {
            var x = stats.Apply(batch.Inputs);                          // (128, 1, 28, 28), normalized
            // ... forward, loss, backward, step ...
            break;
        }
        var saved = stats.ToStateDict();                               // "normalize.mean", "normalize.std"
        // docs/data.md example ends

        Assert.False(string.IsNullOrEmpty(source));
        Assert.Equal(train.Count, trainSplit.Count + validation.Count);
        Assert.Equal(["normalize.mean", "normalize.std"], saved.Keys);
        var first = loader.First();
        Assert.Equal([128, 1, 28, 28], first.Inputs.Shape.ToArray());
        var page = File.ReadAllText(FindRepoFile("docs/data.md"));
        var code = File.ReadAllText(FindRepoFile("tests/Nabla.Vision.Tests/DataDocsExampleTests.cs"));
        string Between(string s, string a, string b) => s[(s.IndexOf(a, StringComparison.Ordinal) + a.Length)..s.IndexOf(b, StringComparison.Ordinal)];
        var snippet = string.Join('\n', Between(code, "// docs/data.md example begins\n", "        // docs/data.md example ends")
            .Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
        Assert.Contains(snippet.TrimEnd(), page, StringComparison.Ordinal);
    }

    static string FindRepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new FileNotFoundException(relative);
    }
}
