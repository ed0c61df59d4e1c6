using Nabla.Data;
using Nabla.Nn;
using Nabla.Vision;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>Running a saved model over raw [0, 1] images, each model with its own normalization.</summary>
internal static class Inference
{
    /// <summary>The model's inputs: the raw images normalized with the statistics it was trained with.</summary>
    public static Tensor Inputs(SavedModel m, Tensor raw) => m.Normalization.Apply(raw);

    /// <summary>
    /// The model's (N, K) output for every image of <paramref name="raw"/> ([0, 1] pixels), in
    /// evaluation mode and batches: <paramref name="predict"/> gets each batch of raw images and
    /// returns its rows (logits, or probabilities), so nothing larger than a batch is held as floats.
    /// </summary>
    public static Tensor OverBatches(IDataset raw, int batchSize, Func<Tensor, Tensor> predict)
    {
        var rows = new List<Tensor>();
        foreach (var batch in new DataLoader(raw, batchSize))
        {
            using var noGrad = Autograd.NoGrad();
            rows.Add(predict(batch.Inputs));
        }
        return Tensor.Cat([.. rows], 0);
    }

    /// <summary>The targets of a dataset, in order.</summary>
    public static Tensor Targets(IDataset data) =>
        data is TensorDataset t ? t.Targets : Tensor.Cat([.. new DataLoader(data, 4096).Select(b => b.Targets)], 0);

    /// <summary>
    /// The test images of a saved model, as raw [0, 1] pixels: for a Fashion-MNIST model the IDX test
    /// split (of <paramref name="dataDir"/> or the default places); for an image-folder model the images of
    /// <paramref name="dataDir"/> (its test/ when it has one), else the test files the run's split.json lists.
    /// </summary>
    public static (IDataset Test, string Source) TestImages(SavedModel saved, string runPath, string? dataDir, IAnsiConsole? console)
    {
        if (!saved.FromFolder)
        {
            var (test, source) = TestSet(dataDir ?? (saved.Config.Data is string d && Directory.Exists(d) ? d : null));
            return (test, source);
        }
        if (dataDir is not null)
        {
            if (!Directory.Exists(dataDir)) throw CliException.File($"--data: folder not found: {dataDir}");
            return (FolderData.LoadForEval(dataDir, saved.Shape, saved.Classes, console), $"image folder {dataDir}");
        }
        if (Directory.Exists(runPath) && FolderData.LoadSplit(runPath, "test", saved.Shape, saved.Classes, console) is { } split)
            return (split, $"the test split of {saved.Config.Data} ({FolderSplit.FileName})");
        throw CliException.File($"{runPath} was trained on an image folder and has no {FolderSplit.FileName} to find its test images; name a folder of labelled images with --data");
    }

    /// <summary>The saved model prepared for inference on its images (<see cref="Module.ForInference"/>).</summary>
    public static InferenceModel Prepared(SavedModel saved) =>
        saved.Model.ForInference(saved.Shape.Channels, saved.Shape.Size, saved.Shape.Size);

    /// <summary>Class logits (N, C) of the prepared model, in batches.</summary>
    public static Tensor Logits(InferenceModel model, Tensor inputs, int batchSize = 512)
    {
        int n = inputs.Shape[0];
        float[]? all = null;
        int c = 0;
        for (int start = 0; start < n; start += batchSize)
        {
            int count = Math.Min(batchSize, n - start);
            using var scope = TensorScope.Begin();
            var logits = model.Forward(inputs.Narrow(0, start, count));
            var values = logits.ToArray();
            c = logits.Shape[1];
            all ??= new float[n * c];
            values.CopyTo(all, start * c);
        }
        return Tensor.FromArray(all ?? [], n, c);
    }

    /// <summary>The test split for evaluation: <c>--data</c>, else the default places.</summary>
    public static (TensorDataset Test, string Source) TestSet(string? dataDir)
    {
        var (_, test, source) = RunData.LoadFashionMnist(dataDir);
        return (test, source);
    }
}
