using System.Diagnostics;
using System.Globalization;
using Nabla.Data;
using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla data export-images --out TREE</c>: writes Fashion-MNIST (the full set where it is
/// installed, the embedded subset otherwise, or any IDX set given with <c>--data</c>) as an image
/// folder tree, <c>TREE/train/CLASS/NNNNN.png</c> and <c>TREE/test/CLASS/NNNNN.png</c>: the layout
/// of a user's own labelled photos, and what <c>ImageFolder</c> reads. Pixels are the IDX bytes
/// exactly; file names are the images' indices in the IDX files.
/// </summary>
internal static class DataCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--out", OptionKind.Path, "the folder to create (it must not exist, or be empty)"),
        new("--data", OptionKind.Path, "folder with the IDX files (default as for nabla train)"),
        new("--split", OptionKind.Choice, "which split to write (default both)", ["both", "train", "test"]),
        new("--per-class", OptionKind.Int, "write only this many images of each class per split, drawn at random with --seed (default all)"),
        new("--seed", OptionKind.Int, "seed of the --per-class draw (default 0)"),
        new("--threads", OptionKind.Int, "threads encoding PNGs (default NABLA_NUM_THREADS or the processor count)"),
    ];

    /// <summary>A class name as a folder name: path separators become '-' ("T-shirt/top" is "T-shirt-top").</summary>
    public static string FolderName(string className) => className.Replace('/', '-').Replace('\\', '-');

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("data export-images", args, Options);
        if (parsed.Positionals.Count > 0)
            throw new CliException($"nabla data export-images takes no positional arguments; got '{parsed.Positionals[0]}'");
        string root = parsed.Text("out") ?? throw new CliException("nabla data export-images needs --out TREE, the folder to write");
        int? perClass = parsed.Int("per_class");
        if (perClass is < 1) throw new CliException($"--per-class must be at least 1; got {perClass}");
        int seed = parsed.Int("seed") ?? 0;
        if (seed < 0) throw new CliException($"--seed must be non-negative; got {seed}");
        CommandShared.SetThreads(parsed);
        string split = parsed.Text("split") ?? "both";
        if (File.Exists(root)) throw CliException.File($"--out {root} is a file, not a folder");
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw CliException.File($"--out {root} already exists and is not empty; name a new folder");

        var (train, test, source) = RunData.LoadFashionMnist(parsed.Text("data"));
        var clock = Stopwatch.StartNew();
        int written = 0;
        foreach (var (name, set) in new[] { ("train", train), ("test", test) })
        {
            if (split != "both" && split != name) continue;
            var chosen = Choose(set, perClass, (ulong)seed);
            foreach (var c in FashionMnist.Classes) Directory.CreateDirectory(Path.Combine(root, name, FolderName(c)));
            Parallel.ForEach(chosen, new ParallelOptions { MaxDegreeOfParallelism = Threading.NumThreads }, index =>
            {
                var sample = set.Get(index);
                int label = (int)sample.Target.Item();
                string file = Path.Combine(root, name, FolderName(FashionMnist.Classes[label]), index.ToString("D5", CultureInfo.InvariantCulture) + ".png");
                Image.Save(sample.Input, file);
            });
            written += chosen.Count;
            console.WriteLine($"  {name}: {chosen.Count:N0} images in {FashionMnist.Classes.Count} class folders");
        }
        console.MarkupLineInterpolated($"Wrote {written:N0} PNG images of {source} to [bold]{root}[/] in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>Every index, or <paramref name="perClass"/> of each class drawn at random (in index order within a class).</summary>
    static List<int> Choose(TensorDataset set, int? perClass, ulong seed)
    {
        var labels = set.Targets.ToArray();
        if (perClass is not int n) return [.. Enumerable.Range(0, labels.Length)];
        // Fisher-Yates with the seeded generator, then the first n of each class in that order.
        var order = Enumerable.Range(0, labels.Length).ToArray();
        var g = new Generator(seed);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)g.NextInt64(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return [.. order.GroupBy(i => (int)labels[i]).SelectMany(c => c.Take(n)).Order()];
    }
}
