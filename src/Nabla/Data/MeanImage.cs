using System.Numerics.Tensors;

namespace Nabla.Data;

/// <summary>
/// The per-pixel mean image of a training set, subtracted from every input as AlexNet did ("subtracting
/// the mean activity over the training set from each pixel"): <c>x' = x - mean[c, y, x]</c>. Compute it
/// once from the training split, save it with the model's weights, and subtract the same image at
/// evaluation and prediction.
/// </summary>
/// <remarks>
/// Unlike <see cref="ChannelStats"/>, which keeps one number per channel, the mean image keeps one per
/// position and channel, shape (C, H, W) (or any sample shape), so every input must have that shape:
/// resize or crop first. Centring the inputs makes the first layer's gradients less one-signed, which
/// speeds up training; per-channel means (VGG onwards) do nearly as well and fit any image size.
/// Computed from the training split only, so no evaluation data leaks into training.
/// </remarks>
public sealed class MeanImage
{
    /// <summary>The default state-dict prefix: the key is <c>mean_image.mean</c>.</summary>
    public const string DefaultPrefix = "mean_image";

    /// <summary>Creates the mean image from a known tensor (any non-empty sample shape, e.g. (C, H, W)), every value finite.</summary>
    public MeanImage(Tensor mean)
    {
        ArgumentNullException.ThrowIfNull(mean);
        if (mean.Rank < 1 || mean.Numel == 0)
            throw new ShapeException("MeanImage", "a non-empty mean of a sample's shape, e.g. (C, H, W)", mean.ShapeString);
        var m = mean.Data;
        for (int i = 0; i < m.Length; i++)
            if (!float.IsFinite(m[i]))
                throw new ArgumentException($"MeanImage: expected finite values; got {m[i]} at flat index {i}", nameof(mean));
        Mean = mean.Detach().Clone();
    }

    /// <summary>The mean of each position over the training samples, of the samples' shape.</summary>
    public Tensor Mean { get; }

    /// <summary>
    /// The mean image of a batch of inputs (N, ...): for each position, the mean over the N samples
    /// (summed in double), of shape (...).
    /// </summary>
    public static MeanImage Compute(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank < 2 || inputs.Shape[0] == 0 || inputs.Numel == 0)
            throw new ShapeException("MeanImage.Compute", "a non-empty batch of shape (N, C, H, W) (or (N, ...))", inputs.ShapeString);
        int n = inputs.Shape[0], row = inputs.Numel / n;
        var sum = new double[row];
        var data = inputs.Data;
        for (int i = 0; i < n; i++) Add(sum, data.Slice(i * row, row));
        return Result(sum, n, inputs.Dims[1..]);
    }

    /// <summary>
    /// The mean image of every input of <paramref name="dataset"/> (usually the training split); every
    /// input must have the first one's shape. See <see cref="Compute(Tensor)"/>.
    /// </summary>
    public static MeanImage Compute(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int n = dataset.Count;
        if (n == 0) throw new ArgumentException("MeanImage.Compute: expected a non-empty dataset; got 0 samples", nameof(dataset));
        if (Dataset.ResolveTensorDataset(dataset) is var (root, map))
        {
            if (map is null) return Compute(root.Inputs);
            var x = root.Inputs;
            if (x.Rank < 2) throw new ShapeException("MeanImage.Compute", "inputs of shape (C, H, W) (or any non-scalar shape)", "a sample of shape []");
            int row = x.Numel / x.Shape[0];
            var rows = new double[row];
            foreach (int i in map) Add(rows, x.Data.Slice(i * row, row));
            return Result(rows, map.Length, x.Dims[1..]);
        }
        double[]? sum = null;
        int[] first = [];
        for (int i = 0; i < n; i++)
        {
            var input = dataset.Get(i).Input;
            if (sum is null)
            {
                if (input.Rank < 1 || input.Numel == 0)
                    throw new ShapeException("MeanImage.Compute", "non-empty inputs of shape (C, H, W) (or any non-scalar shape)", $"a sample of shape {input.ShapeString}");
                first = input.Dims;
                sum = new double[input.Numel];
            }
            else if (!input.Shape.SequenceEqual(first))
                throw new ShapeException("MeanImage.Compute", $"every input of the first one's shape {ShapeException.Str(first)}", $"{input.ShapeString} at index {i}",
                    "the mean image needs inputs of one size: resize or crop them first, or use ChannelStats");
            Add(sum, input.Data);
        }
        return Result(sum!, n, first);
    }

    /// <summary>
    /// Subtracts the mean image from one sample of its shape or from each sample of a batch (N, ...), into a
    /// new tensor. This is pre-processing: the result is not recorded by autograd.
    /// </summary>
    public Tensor Apply(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var shape = Mean.Dims;
        bool single = inputs.Shape.SequenceEqual(shape);
        bool batch = inputs.Rank == shape.Length + 1 && inputs.Shape[1..].SequenceEqual(shape);
        if (!single && !batch)
            throw new ShapeException("MeanImage.Apply", $"input of shape {ShapeException.Str(shape)} or (N, {ShapeException.Str(shape)[1..^1]})", inputs.ShapeString);
        var result = new Tensor((int[])inputs.Dims.Clone(), clear: false);
        int size = Mean.Numel, n = inputs.Numel / size;
        var src = inputs.Data;
        var dst = result.Span;
        var mean = Mean.Data;
        for (int i = 0; i < n; i++)
            TensorPrimitives.Subtract(src.Slice(i * size, size), mean, dst.Slice(i * size, size));
        return result;
    }

    /// <summary>The mean image as a tensor under <c>{prefix}.mean</c>, to save beside a model's state dict.</summary>
    public OrderedDictionary<string, Tensor> ToStateDict(string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return new(StringComparer.Ordinal) { [prefix + ".mean"] = Mean.Clone() };
    }

    /// <summary>Reads a mean image saved by <see cref="ToStateDict"/> (other keys are ignored, so a whole checkpoint may be passed).</summary>
    public static MeanImage FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(prefix);
        string key = prefix + ".mean";
        if (!stateDict.TryGetValue(key, out var mean))
            throw new ArgumentException($"MeanImage.FromStateDict: missing key(s): \"{key}\"", nameof(stateDict));
        return new MeanImage(mean);
    }

    static void Add(double[] sum, ReadOnlySpan<float> sample)
    {
        for (int j = 0; j < sum.Length; j++) sum[j] += sample[j];
    }

    static MeanImage Result(double[] sum, int count, int[] dims)
    {
        var mean = Tensor.Owned((int[])dims.Clone(), clear: false);
        var m = mean.Span;
        for (int j = 0; j < sum.Length; j++)
        {
            m[j] = (float)(sum[j] / count);
            if (!float.IsFinite(m[j]))
                throw new ArgumentException($"MeanImage.Compute: the inputs hold non-finite values (NaN or infinity) at flat position {j} of a sample");
        }
        return new MeanImage(mean);
    }
}
