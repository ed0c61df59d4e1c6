using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla augment</c>: a PNG grid of what an augmentation policy does to one image — a training
/// image of Fashion-MNIST by index, or an image file — to see a policy before training with it.
/// </summary>
internal static class AugmentCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--augment", OptionKind.Choice, "policy to preview, as for nabla train (default randaugment)", TrainConfig.AugmentWords.All),
        new("--erasing", OptionKind.Number, "probability of random erasing after the policy (default 0)"),
        new("--image", OptionKind.Path, "an image file to augment instead of a Fashion-MNIST image"),
        new("--index", OptionKind.Int, "which Fashion-MNIST training image (default 0)"),
        new("--count", OptionKind.Int, "variants to draw (default 16)"),
        new("--columns", OptionKind.Int, "grid columns (default 8)"),
        new("--seed", OptionKind.Int, "seed of the draws (default 0)"),
        new("--data", OptionKind.Path, "folder with Fashion-MNIST's IDX files (default as for nabla train)"),
        new("--out", OptionKind.Path, "the PNG to write (default augment.png)"),
        new("--force", OptionKind.Switch, "replace --out when it exists"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("augment", args, Options);
        if (parsed.Positionals.Count > 0)
            throw new CliException($"nabla augment takes no positional arguments; got '{parsed.Positionals[0]}' (use --image FILE)");
        string policy = parsed.Text("augment") ?? "randaugment";
        var augment = TrainConfig.AugmentWords.Parse(policy);
        double erasing = parsed.Number("erasing") ?? 0;
        if (erasing < 0 || erasing > 1) throw new CliException($"--erasing must be a probability in [0, 1]; got {erasing}");
        int count = parsed.Int("count") ?? 16, columns = parsed.Int("columns") ?? 8, seed = parsed.Int("seed") ?? 0;
        if (count < 1 || count > 1024) throw new CliException($"--count must be between 1 and 1024; got {count}");
        if (columns < 1) throw new CliException($"--columns must be at least 1; got {columns}");
        if (seed < 0) throw new CliException($"--seed must be non-negative; got {seed}");
        var transform = RunData.Policy(augment, erasing, normalize: null)
            ?? throw new CliException("--augment none with no --erasing: nothing to preview");
        if (parsed.Has("image") && parsed.Has("index")) throw new CliException("give either --image or --index, not both");

        Tensor image;
        string what;
        if (parsed.Text("image") is string file)
        {
            if (!File.Exists(file)) throw CliException.File($"image file not found: {file}");
            try
            {
                image = Image.Load(file, grayscale: true);
            }
            catch (Data.DataFormatException e)
            {
                throw CliException.File(CommandShared.OneLine(e.Message));
            }
            what = file;
        }
        else
        {
            var (train, _, source) = RunData.LoadFashionMnist(parsed.Text("data"));
            int index = parsed.Int("index") ?? 0;
            if (index < 0 || index >= train.Count) throw new CliException($"--index must be between 0 and {train.Count - 1}; got {index}");
            image = train.Get(index).Input;
            what = $"training image {index} of {source}";
        }
        string output = parsed.Text("out") ?? "augment.png";
        var folder = Path.GetDirectoryName(Path.GetFullPath(output))!;
        if (Directory.Exists(output)) throw CliException.File($"--out {output} is a folder; name the PNG file to write");
        if (!Directory.Exists(folder)) throw CliException.File($"--out: folder not found: {folder}");
        if (File.Exists(output) && !(parsed.Switch("force") ?? false))
            throw CliException.File($"--out {output} exists; choose another file, or add --force to replace it");
        try
        {
            AtomicFile.Write(output, tmp => AugmentationPreview.Save(image, transform, count, (ulong)seed, columns, tmp), ".png");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.File($"cannot write {output}: {CommandShared.OneLine(e.Message)}");
        }
        console.MarkupLineInterpolated($"Wrote {output}: {count} draws of {policy}{(erasing > 0 ? $" + erasing {erasing}" : "")} on {what}");
        return 0;
    }
}
