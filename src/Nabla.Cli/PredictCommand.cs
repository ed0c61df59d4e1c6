using System.Globalization;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Training;
using Nabla.Vision;
using Nabla.Vision.Transforms;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla predict RUN FILES...</c>: the top-k classes, with probabilities, of image files (PNG,
/// JPEG, BMP, WebP). Each image is turned into what the model was trained on. A model trained on an
/// image folder gets the run's own preparation: shorter side resized to its working size, centre
/// crop, its channels (grey or colour), its normalization. A Fashion-MNIST model gets grey, 28 x 28, a
/// light object on a dark background (photographs of a garment on a light background are inverted;
/// <c>--invert</c> decides), normalized with the training set's statistics.
/// </summary>
internal static class PredictCommand
{
    public static readonly OptionSpec[] Options =
    [
        new("--top-k", OptionKind.Int, "classes to show per image (default 3)"),
        new("--invert", OptionKind.Choice, "Fashion-MNIST models: invert the grey levels: auto (when the border is lighter than the middle), yes, no", ["auto", "yes", "no"]),
        new("--mc-dropout", OptionKind.Int, "average this many stochastic passes with dropout on (Monte Carlo dropout), and show the entropy and mutual information"),
        new("--threads", OptionKind.Int, "compute threads (default NABLA_NUM_THREADS or the processor count)"),
    ];

    public static int Run(IReadOnlyList<string> args, IAnsiConsole console)
    {
        var parsed = ArgParser.Parse("predict", args, Options);
        if (parsed.Positionals.Count < 2)
            throw new CliException("nabla predict expects a run folder (or model file) and at least one image file (usage: nabla predict RUN FILE...)");
        CommandShared.SetThreads(parsed);
        var saved = SavedModel.Load(parsed.Positionals[0]);
        int? mcSamples = CommandShared.McDropoutPasses(parsed, saved, parsed.Positionals[0]);
        int classes = saved.Classes.Count;
        int k = parsed.Int("top_k") ?? 3;
        if (k < 1 || k > classes) throw new CliException($"--top-k must be between 1 and the {classes} classes; got {k}");
        string invert = parsed.Text("invert") ?? "auto";
        if (saved.FromFolder && parsed.Has("invert"))
            throw new CliException("--invert is for Fashion-MNIST models; this model was trained on an image folder and takes photos as they are");

        var files = parsed.Positionals.Skip(1).ToList();
        var images = new List<Tensor>();
        var inverted = new List<bool>();
        foreach (var file in files)
        {
            if (Directory.Exists(file)) throw CliException.File($"{file} is a folder, not an image file");
            if (!File.Exists(file)) throw CliException.File($"image file not found: {file}");
            if (saved.FromFolder)
            {
                // The run's own preparation, the same code that decoded its training images.
                var decoded = DecodedImages.Decode([(file, 0)], saved.Shape.Size);
                if (decoded.Skipped.Count > 0) throw CliException.File(CommandShared.OneLine(decoded.Skipped[0].Reason));
                images.Add(decoded.WithChannels(saved.Shape.Channels).Image(0));
                inverted.Add(false);
                continue;
            }
            Tensor image;
            try
            {
                image = Image.Load(file, grayscale: true);
            }
            catch (DataFormatException e)
            {
                throw CliException.File(CommandShared.OneLine(e.Message));
            }
            var (prepared, flipped) = Prepare(image, invert);
            images.Add(prepared);
            inverted.Add(flipped);
        }
        var batch = saved.Normalization.Apply(Tensor.Stack([.. images], 0));
        float[] probs;
        McDropoutResult? mc = null;
        if (mcSamples is int t)
        {
            mc = McDropout.Predict(saved.Model, batch, t);
            probs = mc.MeanProbabilities.ToArray();
        }
        else
        {
            probs = Functional.Softmax(Inference.Prepared(saved).Forward(batch), 1).ToArray();
        }
        CommandShared.RequireFinite(Tensor.FromArray(probs, probs.Length), parsed.Positionals[0]);
        var entropy = Calibration.Entropy(Tensor.FromArray(probs, files.Count, classes));

        var table = new Table().Border(TableBorder.Rounded).AddColumn("file");
        for (int j = 1; j <= k; j++) table.AddColumn(k == 1 ? "class" : $"#{j}");
        table.AddColumn(new TableColumn("entropy").RightAligned());
        if (mc is not null) table.AddColumn(new TableColumn("mutual information").RightAligned());
        for (int i = 0; i < files.Count; i++)
        {
            var order = Enumerable.Range(0, classes).OrderByDescending(c => probs[i * classes + c]).ThenBy(c => c).Take(k);
            var cells = new List<string> { Markup.Escape(files[i]) + (inverted[i] ? " [grey](inverted)[/]" : "") };
            cells.AddRange(order.Select(c => Markup.Escape($"{saved.Classes[c]} {(100 * probs[i * classes + c]).ToString("F1", CultureInfo.InvariantCulture)}%")));
            cells.Add(entropy[i].ToString("F3", CultureInfo.InvariantCulture));
            if (mc is not null) cells.Add(mc.MutualInformation[i].ToString("F3", CultureInfo.InvariantCulture));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
        console.MarkupLineInterpolated($"entropy in nats (0: certain; ln {classes} = {Math.Log(classes):F3}: no idea){(mc is null ? "" : $"; mutual information: the part of it due to the model's own uncertainty, over {mc.Samples} dropout passes")}");
        return 0;
    }

    /// <summary>A (1, H, W) grey image in [0, 1] resized to 28 x 28 and, when asked or when its border is lighter than its centre, inverted.</summary>
    internal static (Tensor Image, bool Inverted) Prepare(Tensor grey, string invert)
    {
        var resized = new Resize(28, 28).Apply(grey, new Generator(0));
        var px = resized.ToArray();
        bool flip = invert switch
        {
            "yes" => true,
            "no" => false,
            _ => BorderMean(px) > CentreMean(px),
        };
        if (flip) for (int i = 0; i < px.Length; i++) px[i] = 1 - px[i];
        return (Tensor.FromArray(px, 1, 28, 28), flip);
    }

    static double BorderMean(float[] px)
    {
        double sum = 0;
        int n = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
                if (y < 2 || y >= 26 || x < 2 || x >= 26) { sum += px[y * 28 + x]; n++; }
        return sum / n;
    }

    static double CentreMean(float[] px)
    {
        double sum = 0;
        for (int y = 7; y < 21; y++)
            for (int x = 7; x < 21; x++) sum += px[y * 28 + x];
        return sum / (14 * 14);
    }
}
