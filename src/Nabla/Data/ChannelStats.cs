using System.Numerics.Tensors;

namespace Nabla.Data;

/// <summary>
/// Per-channel mean and standard deviation for normalizing inputs, as VGG and torchvision's
/// <c>Normalize</c>: <c>x' = (x - mean[c]) / std[c]</c> for each channel c. Compute them once from the
/// training split, save them with the model's weights, and apply the same values at evaluation and
/// prediction.
/// </summary>
/// <remarks>
/// The channel is dimension 1 of a batch (N, C, ...), so the same class standardizes image
/// channels (N, C, H, W) and tabular features (N, F). Statistics computed from validation or test
/// data would leak them into training; so compute from the training split only.
/// </remarks>
public sealed class ChannelStats
{
    /// <summary>The default state-dict prefix: keys <c>normalize.mean</c> and <c>normalize.std</c>.</summary>
    public const string DefaultPrefix = "normalize";

    /// <summary>Creates statistics from known values (e.g. ImageNet's); both of shape (C), every std finite and positive.</summary>
    public ChannelStats(Tensor mean, Tensor std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Rank != 1 || std.Rank != 1 || mean.Numel != std.Numel)
            throw new ShapeException("ChannelStats", "mean and std of the same shape (C)", $"mean {mean.ShapeString} and std {std.ShapeString}");
        var s = std.Data;
        for (int c = 0; c < s.Length; c++)
            if (!(s[c] > 0 && float.IsFinite(s[c])))
                throw new ArgumentException($"ChannelStats: expected a finite positive std for every channel; got {s[c]} for channel {c}, which would divide by zero or spread NaN", nameof(std));
        Mean = mean.Detach().Clone();
        Std = std.Detach().Clone();
    }

    /// <summary>The mean of each channel, shape (C).</summary>
    public Tensor Mean { get; }

    /// <summary>The standard deviation of each channel, shape (C).</summary>
    public Tensor Std { get; }

    /// <summary>The number of channels C.</summary>
    public int Channels => Mean.Numel;

    /// <summary>
    /// The statistics of a batch of inputs (N, C, ...): for each channel, the mean and the population
    /// standard deviation (dividing by the count) over every sample and position.
    /// </summary>
    /// <remarks>
    /// Sums are in double, and each sample's channel is reduced in two passes and merged with Chan's
    /// formula, so a large mean beside a small spread loses no precision. A constant channel has
    /// std 0; it gets std 1 instead (as scikit-learn's StandardScaler), which only centres it.
    /// </remarks>
    public static ChannelStats Compute(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank < 2 || inputs.Shape[0] == 0)
            throw new ShapeException("ChannelStats.Compute", "a non-empty batch of shape (N, C, ...)", inputs.ShapeString);
        var acc = new Accumulator(inputs.Shape[1]);
        int n = inputs.Shape[0], row = inputs.Numel / n;
        var data = inputs.Data;
        for (int i = 0; i < n; i++) acc.Add(data.Slice(i * row, row));
        return acc.Result();
    }

    /// <summary>
    /// The statistics of every input of <paramref name="dataset"/> (each of shape (C, ...)), usually
    /// the training split; see <see cref="Compute(Tensor)"/>.
    /// </summary>
    public static ChannelStats Compute(IDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int n = dataset.Count;
        if (n == 0) throw new ArgumentException("ChannelStats.Compute: expected a non-empty dataset; got 0 samples", nameof(dataset));
        if (Dataset.ResolveTensorDataset(dataset) is var (root, map))
        {
            if (map is null) return Compute(root.Inputs);
            var x = root.Inputs;
            if (x.Rank < 2) throw new ShapeException("ChannelStats.Compute", "inputs of shape (C, ...)", $"a sample of shape []");
            var rows = new Accumulator(x.Shape[1]);
            int row = x.Numel / x.Shape[0];
            foreach (int i in map) rows.Add(x.Data.Slice(i * row, row));
            return rows.Result();
        }
        Accumulator? acc = null;
        int[] first = [];
        for (int i = 0; i < n; i++)
        {
            var input = dataset.Get(i).Input;
            if (acc is null)
            {
                if (input.Rank < 1) throw new ShapeException("ChannelStats.Compute", "inputs of shape (C, ...)", $"a sample of shape {input.ShapeString}");
                first = input.Dims;
                acc = new Accumulator(first[0]);
            }
            else if (!input.Shape.SequenceEqual(first))
                throw new ShapeException("ChannelStats.Compute", $"every input of the first one's shape {ShapeException.Str(first)}", $"{input.ShapeString} at index {i}");
            acc.Add(input.Data);
        }
        return acc!.Result();
    }

    /// <summary>
    /// Normalizes a batch (N, C, ...): <c>(x - mean[c]) / std[c]</c>, into a new tensor. This is
    /// pre-processing: the result is not recorded by autograd.
    /// </summary>
    public Tensor Apply(Tensor inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank < 2 || inputs.Shape[1] != Channels)
            throw new ShapeException("ChannelStats.Apply", $"input of shape (N, {Channels}, ...)", inputs.ShapeString);
        var result = new Tensor((int[])inputs.Dims.Clone(), clear: false); // pooled inside a TensorScope, like any op result
        int n = inputs.Shape[0], plane = n == 0 ? 0 : inputs.Numel / n / Channels;
        var src = inputs.Data;
        var dst = result.Span;
        var mean = Mean.Data;
        var std = Std.Data;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < Channels; c++)
            {
                int at = (i * Channels + c) * plane;
                var d = dst.Slice(at, plane);
                TensorPrimitives.Subtract(src.Slice(at, plane), mean[c], d);
                TensorPrimitives.Divide(d, std[c], d);
            }
        return result;
    }

    /// <summary>The statistics as tensors under <c>{prefix}.mean</c> and <c>{prefix}.std</c>, to save beside a model's state dict.</summary>
    public OrderedDictionary<string, Tensor> ToStateDict(string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return new(StringComparer.Ordinal) { [prefix + ".mean"] = Mean.Clone(), [prefix + ".std"] = Std.Clone() };
    }

    /// <summary>Reads statistics saved by <see cref="ToStateDict"/> (other keys are ignored, so a whole checkpoint may be passed).</summary>
    public static ChannelStats FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(prefix);
        string meanKey = prefix + ".mean", stdKey = prefix + ".std";
        var missing = new List<string>();
        if (!stateDict.TryGetValue(meanKey, out var mean)) missing.Add($"\"{meanKey}\"");
        if (!stateDict.TryGetValue(stdKey, out var std)) missing.Add($"\"{stdKey}\"");
        if (missing.Count > 0)
            throw new ArgumentException($"ChannelStats.FromStateDict: missing key(s): {string.Join(", ", missing)}", nameof(stateDict));
        return new ChannelStats(mean!, std!);
    }

    /// <summary>Per-channel count, mean and sum of squared deviations, merged sample by sample (Chan et al.).</summary>
    sealed class Accumulator(int channels)
    {
        readonly double[] _mean = new double[channels], _m2 = new double[channels];
        long _count; // values per channel so far

        public void Add(ReadOnlySpan<float> sample)
        {
            int plane = sample.Length / _mean.Length;
            if (plane == 0) return; // no values: nothing to merge
            long total = _count + plane;
            for (int c = 0; c < _mean.Length; c++)
            {
                var x = sample.Slice(c * plane, plane);
                double sum = 0;
                foreach (float v in x) sum += v;
                double m = sum / plane, m2 = 0;
                foreach (float v in x) m2 += (v - m) * (v - m);
                double delta = m - _mean[c];
                _mean[c] += delta * plane / total;
                _m2[c] += m2 + delta * delta * _count * plane / total;
            }
            _count = total;
        }

        public ChannelStats Result()
        {
            var mean = Tensor.Owned([_mean.Length], clear: false);
            var std = Tensor.Owned([_mean.Length], clear: false);
            for (int c = 0; c < _mean.Length; c++)
            {
                mean.Span[c] = (float)_mean[c];
                float s = (float)Math.Sqrt(_m2[c] / _count);
                if (!float.IsFinite(mean.Span[c]) || !float.IsFinite(s))
                    throw new ArgumentException($"ChannelStats.Compute: channel {c} holds non-finite values (NaN or infinity); its mean is {mean.Span[c]}");
                std.Span[c] = s > 0 ? s : 1f;
            }
            return new ChannelStats(mean, std);
        }
    }
}
