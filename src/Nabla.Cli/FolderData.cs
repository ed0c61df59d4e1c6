using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// An image folder as a run's data: one sub-folder per class (PNG, JPEG, BMP or WebP files, any
/// sizes, grey or colour), optionally under <c>train/</c>, <c>val/</c> and <c>test/</c>.
/// </summary>
/// <remarks>
/// <para>
/// Without <c>test/</c>, a stratified <c>--test-split</c> of the training images (seeded by
/// <c>--seed</c>) is held out for testing; without <c>val/</c>, <c>--val-split</c> of the rest for
/// validation. The files of each split are saved in the run as <c>split.json</c>, which
/// <c>nabla eval</c> reads back, so the test images are the same ones whatever happens to the folder.
/// </para>
/// <para>
/// Every image is decoded once, in parallel, resized (shorter side) and centre-cropped to the
/// working resolution, and kept in memory as bytes (<see cref="DecodedImages"/>). An image that
/// cannot be decoded is skipped, counted, and listed in the run's summary.json with its reason.
/// </para>
/// </remarks>
internal static class FolderData
{
    static readonly string[] SplitNames = ["train", "val", "test"];

    /// <summary>Whether <paramref name="dir"/> is an image folder rather than a folder of IDX files.</summary>
    public static bool IsImageFolder(string dir) =>
        Directory.Exists(dir) && !Directory.EnumerateFiles(dir).Any(f => Path.GetFileName(f).Contains("-ubyte", StringComparison.Ordinal));

    /// <summary>The class folders of <paramref name="dir"/> (or of its train/, val/ and test/), every problem a one-line error.</summary>
    internal static (ImageFolder Train, ImageFolder? Val, ImageFolder? Test) Scan(string dir)
    {
        bool Has(string name) => Directory.Exists(Path.Combine(dir, name));
        if (!Has("train") && (Has("val") || Has("test")))
            throw CliException.File($"--data {dir} has {(Has("val") ? "val/" : "test/")} but no train/: put the training images in train/CLASS/ (or use no split folders at all)");
        var train = Open(Has("train") ? Path.Combine(dir, "train") : dir);
        if (train.Classes.Count < 2)
            throw CliException.File($"--data {train.Root}: found one class folder ('{train.Classes[0]}'); a classifier needs at least two (one sub-folder of images per class)");
        ImageFolder? Split(string name)
        {
            if (!Has("train") || !Has(name)) return null;
            var folder = Open(Path.Combine(dir, name));
            foreach (var cls in folder.Classes)
                if (!train.Classes.Contains(cls))
                    throw CliException.File($"--data {dir}: {name}/{cls} is not a class of train/ ({string.Join(", ", train.Classes)})");
            return folder;
        }
        return (train, Split("val"), Split("test"));
    }

    static ImageFolder Open(string dir)
    {
        try
        {
            var folder = new ImageFolder(dir);
            return folder;
        }
        catch (FileNotFoundException e)
        {
            throw CliException.File($"--data: {CommandShared.OneLine(e.Message).Replace("ImageFolder: ", "", StringComparison.Ordinal)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.File($"--data {dir}: cannot be read ({CommandShared.OneLine(e.Message)})");
        }
    }

    /// <summary>A folder's files with their class indices in <paramref name="classes"/> (matched by name).</summary>
    static List<(string Path, int Class)> Files(ImageFolder folder, IReadOnlyList<string> classes)
    {
        var files = new List<(string, int)>(folder.Count);
        for (int i = 0; i < folder.Count; i++)
        {
            var (path, cls) = folder.SampleAt(i);
            files.Add((path, IndexOf(classes, folder.Classes[cls])));
        }
        return files;
    }

    static int IndexOf(IReadOnlyList<string> classes, string name)
    {
        for (int i = 0; i < classes.Count; i++) if (classes[i] == name) return i;
        throw new CliException($"'{name}' is not one of the model's classes ({string.Join(", ", classes)})");
    }

    /// <summary>
    /// The working resolution: <c>--image-size</c>, else 224 for the pretrained model, else the median
    /// shorter side of (up to 256 of) the images, at most 64 and at least 8.
    /// </summary>
    static int ImageSize(TrainConfig c, List<(string Path, int Class)> files)
    {
        if (c.ImageSize is int size) return size;
        if (c.Model == ModelKind.ResNet18ImageNet) return 224;
        int step = Math.Max(1, files.Count / 256);
        var sides = new List<int>();
        for (int i = 0; i < files.Count; i += step)
            if (DecodedImages.ReadSize(files[i].Path) is var (w, h)) sides.Add(Math.Min(w, h));
        if (sides.Count == 0) return 64;
        sides.Sort();
        return Math.Clamp(sides[sides.Count / 2], 8, 64);
    }

    /// <summary>Refuses a working resolution whose bytes would not fit in memory, naming one that would.</summary>
    internal static void CheckMemory(int images, int size)
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long budget = available / 2;
        long need = DecodedImages.EstimateBytes(images, size);
        if (need <= budget) return;
        int fits = (int)Math.Floor(Math.Sqrt(budget / (3.0 * images)));
        throw new CliException($"--image-size {size}: the {images:N0} images would take {Gib(need)} in memory (3 x {size} x {size} bytes each), " +
                               $"more than half of the {Gib(available)} this process can use; use --image-size {Math.Max(8, fits)} or fewer images");
    }

    static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB";

    /// <summary>Decodes <paramref name="files"/> with a progress bar on a terminal.</summary>
    internal static DecodedImages Decode(IReadOnlyList<(string Path, int Class)> files, int size, string what, IAnsiConsole? console, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        DecodedImages decoded;
        if (console is not null && console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi && files.Count > 0)
        {
            decoded = null!;
            console.Progress().AutoClear(true).Start(ctx =>
            {
                var task = ctx.AddTask($"decoding {what}", maxValue: files.Count);
                object gate = new();
                decoded = DecodedImages.Decode(files, size, Threading.NumThreads, progress: n =>
                {
                    lock (gate) task.Value = Math.Max(task.Value, n);
                }, cancel: cancel);
            });
        }
        else
        {
            decoded = DecodedImages.Decode(files, size, Threading.NumThreads, cancel: cancel);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        console?.MarkupLineInterpolated(
            $"decoded {decoded.Count:N0} {what} images at {size} x {size} in {seconds:F1} s ({files.Count / Math.Max(seconds, 1e-9):N0} images/s){(decoded.Skipped.Count > 0 ? $"; [yellow]skipped {decoded.Skipped.Count}[/] that could not be decoded (listed in summary.json)" : "")}");
        foreach (var skipped in decoded.Skipped.Take(3)) console?.MarkupLineInterpolated($"  [grey]{skipped.Reason}[/]");
        return decoded;
    }

    public static RunData Load(TrainConfig c, string dir, IAnsiConsole? console, CancellationToken cancel)
    {
        var (trainFolder, valFolder, testFolder) = Scan(dir);
        var classes = trainFolder.Classes;
        var trainFiles = Files(trainFolder, classes);
        var valFiles = valFolder is null ? null : Files(valFolder, classes);
        var testFiles = testFolder is null ? null : Files(testFolder, classes);
        int size = ImageSize(c, trainFiles);
        CheckMemory(trainFiles.Count + (valFiles?.Count ?? 0) + (testFiles?.Count ?? 0), size);

        var clock = Stopwatch.StartNew();
        var pool = Decode(trainFiles, size, testFolder is null ? "" : "training", console, cancel);
        var val = valFiles is null ? null : Decode(valFiles, size, "validation", console, cancel);
        var test = testFiles is null ? null : Decode(testFiles, size, "test", console, cancel);
        double decodeSeconds = clock.Elapsed.TotalSeconds;
        int channels = new[] { pool, val, test }.Max(d => d?.Channels ?? 1);
        if (c.Model == ModelKind.ResNet18ImageNet) channels = 3; // it takes colour; grey images are repeated into three channels
        pool = pool.WithChannels(channels);
        val = val?.WithChannels(channels);
        test = test?.WithChannels(channels);
        foreach (var (set, name) in new[] { (pool, "train"), (val, "val"), (test, "test") })
            if (set is not null && set.Count == 0)
                throw CliException.File($"--data {dir}: none of the {name} images could be decoded ({set.Skipped[0].Reason})");
        var missing = Enumerable.Range(0, classes.Count).Where(k => !Enumerable.Range(0, pool.Count).Any(i => pool.ClassAt(i) == k)).ToList();
        if (missing.Count > 0)
            throw CliException.File($"--data {dir}: no image of class '{classes[missing[0]]}' could be decoded; each class needs images to train on");

        var splitGenerator = new Generator(Seeds.Of(c.Seed, Seeds.Split));
        IDataset trainPool = pool, testSet;
        if (test is null)
        {
            var (held, rest) = Dataset.StratifiedSplit(pool, c.TestSplit, splitGenerator);
            if (held.Count == 0 || rest.Count == 0)
                throw new CliException($"--test-split {c.TestSplit} leaves {held.Count} test and {rest.Count} training images of {pool.Count}");
            (testSet, trainPool) = (held, rest);
        }
        else
        {
            testSet = test;
        }
        string source = $"image folder {dir} ({classes.Count} classes, {size} x {size}, {(channels == 1 ? "grey" : "colour")})";
        var (trainSet, validationSet) = RunData.SplitTraining(c, trainPool, splitGenerator, source, val);
        var norm = InputNormalization.Fit(c.Normalize, trainSet);
        var normalize = norm.AsTransform();

        IDataset Normalized(IDataset d) => normalize is null ? d : new TransformedDataset(d, normalize);
        TransformedDataset? augmented = null;
        IDataset train;
        if (RunData.Policy(c.Augment, c.Erasing, normalize, size, c.ColorJitter) is { } policy)
            train = augmented = new TransformedDataset(trainSet, policy, Seeds.Of(c.Seed, Seeds.Augment));
        else
            train = Normalized(trainSet);

        var skipped = new[] { pool, val, test }.Where(d => d is not null).SelectMany(d => d!.Skipped).ToList();
        var split = new FolderSplit(dir, size, channels, classes, Files(trainSet), validationSet is null ? [] : Files(validationSet), Files(testSet), skipped, decodeSeconds);
        return new RunData
        {
            Train = train, Validation = validationSet is null ? null : Normalized(validationSet), Test = Normalized(testSet), Normalization = norm,
            Shape = new DataShape(channels, size, classes.Count), Classes = classes, Source = source, Augmented = augmented, Split = split,
        };
    }

    /// <summary>The (file, class) of each sample of a subset of decoded images.</summary>
    static (string Path, int Class)[] Files(IDataset subset)
    {
        var (images, indices) = Resolve(subset);
        return [.. indices.Select(i => (images.FileAt(i), images.ClassAt(i)))];
    }

    static (DecodedImages Images, int[] Indices) Resolve(IDataset d)
    {
        switch (d)
        {
            case DecodedImages images:
                return (images, [.. Enumerable.Range(0, images.Count)]);
            case Subset s:
                var (inner, innerIdx) = Resolve(s.Dataset);
                return (inner, [.. s.Indices.Select(i => innerIdx[i])]);
            default:
                throw new InvalidOperationException($"not a subset of decoded images: {d.GetType().Name}");
        }
    }

    /// <summary>
    /// The images of one split of a run, as <c>split.json</c> lists them, decoded at the run's size
    /// with its channels; null when <paramref name="runDir"/> holds no split.json.
    /// </summary>
    public static DecodedImages? LoadSplit(string runDir, string name, DataShape shape, IReadOnlyList<string> classes, IAnsiConsole? console)
    {
        string path = Path.Combine(runDir, FolderSplit.FileName);
        if (!File.Exists(path)) return null;
        var split = FolderSplit.Read(path);
        if (!split.Classes.SequenceEqual(classes))
            throw CliException.File($"{path} lists other classes than the model's");
        var files = name == "val" ? split.Validation : split.Test;
        if (files.Length == 0) return null;
        if (files.Any(f => f.Class < 0 || f.Class >= classes.Count))
            throw CliException.File($"{path}: corrupt split file (a class index outside 0 to {classes.Count - 1})");
        var missing = files.FirstOrDefault(f => !File.Exists(f.Path));
        if (missing.Path is not null)
            throw CliException.File($"{path} lists {missing.Path}, which no longer exists: evaluate on another folder with --data");
        return Decode(files, shape.Size, name == "val" ? "validation" : "test", console, default).WithChannels(shape.Channels);
    }

    /// <summary>
    /// The images of <paramref name="dir"/> for evaluating a model trained on an image folder: its
    /// <c>test/</c> when it has one, else every image in it, classes matched to the model's by name.
    /// </summary>
    public static DecodedImages LoadForEval(string dir, DataShape shape, IReadOnlyList<string> classes, IAnsiConsole? console)
    {
        var folder = Directory.Exists(Path.Combine(dir, "test")) ? Open(Path.Combine(dir, "test")) : Open(dir);
        foreach (var cls in folder.Classes)
            if (!classes.Contains(cls))
                throw CliException.File($"--data {folder.Root}: '{cls}' is not one of the model's classes ({string.Join(", ", classes)})");
        var images = Decode(Files(folder, classes), shape.Size, "test", console, default).WithChannels(shape.Channels);
        if (images.Count == 0) throw CliException.File($"--data {folder.Root}: none of the images could be decoded");
        return images;
    }
}

/// <summary>The files of an image-folder run's splits, as its <c>split.json</c> keeps them.</summary>
internal sealed record FolderSplit(string Root, int Size, int Channels, IReadOnlyList<string> Classes,
    (string Path, int Class)[] Train, (string Path, int Class)[] Validation, (string Path, int Class)[] Test,
    IReadOnlyList<SkippedImage> Skipped, double DecodeSeconds)
{
    public const string FileName = "split.json";

    public JsonObject ToJson()
    {
        static JsonArray List((string Path, int Class)[] files) => [.. files.Select(f => (JsonNode)new JsonArray(f.Path, f.Class))];
        return new JsonObject
        {
            ["root"] = Root,
            ["image_size"] = Size,
            ["channels"] = Channels,
            ["classes"] = new JsonArray([.. Classes.Select(c => (JsonNode)c)]),
            ["train"] = List(Train),
            ["val"] = List(Validation),
            ["test"] = List(Test),
        };
    }

    /// <summary>The skipped files for summary.json: each file and why.</summary>
    public JsonArray SkippedJson() => [.. Skipped.Select(s => (JsonNode)new JsonObject { ["file"] = s.Path, ["reason"] = s.Reason })];

    public static FolderSplit Read(string path)
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw Corrupt(path, "not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw Corrupt(path, CommandShared.OneLine(e.Message));
        }
        static T Value<T>(JsonNode? n, string path, string what) =>
            n is JsonValue v && v.TryGetValue(out T? t) ? t : throw Corrupt(path, $"'{what}' is missing or not a {typeof(T).Name}");
        (string, int)[] List(string key) =>
            o[key] is JsonArray a
                ? [.. a.Select(e => e is JsonArray { Count: 2 } pair ? (Value<string>(pair[0], path, key), Value<int>(pair[1], path, key)) : throw Corrupt(path, $"'{key}' holds an entry that is not [file, class]"))]
                : throw Corrupt(path, $"'{key}' is not a list");
        var classes = o["classes"] is JsonArray names ? names.Select(n => Value<string>(n, path, "classes")).ToArray() : throw Corrupt(path, "'classes' is not a list");
        return new FolderSplit(Value<string>(o["root"], path, "root"), Value<int>(o["image_size"], path, "image_size"), Value<int>(o["channels"], path, "channels"),
            classes, List("train"), List("val"), List("test"), [], 0);
    }

    static CliException Corrupt(string path, string why) => CliException.File($"{path}: corrupt split file ({why})");
}
