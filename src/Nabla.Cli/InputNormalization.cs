using Nabla.Data;
using Nabla.Vision.Transforms;

namespace Nabla.Cli;

/// <summary>
/// What a run does to [0, 1] pixels before the model sees them, fitted on its training images only
/// and saved with the model, so eval and predict apply exactly the same:
/// <list type="bullet">
/// <item><c>per-channel</c>: (x − mean_c) / std_c, each channel's mean and standard deviation (VGG's
/// per-channel mean, standardized);</item>
/// <item><c>mean-image</c>: (x − mean image) / std_c, the mean of every pixel position and channel
/// subtracted (AlexNet's), then divided by each channel's standard deviation, so the two differ only
/// in what they centre with;</item>
/// <item><c>none</c>: the pixels as they are.</item>
/// </list>
/// </summary>
internal sealed record InputNormalization(NormalizeKind Kind, float[] Mean, float[] Std)
{
    public static InputNormalization None { get; } = new(NormalizeKind.None, [], []);

    /// <summary>The per-channel statistics of <paramref name="stats"/>.</summary>
    public static InputNormalization PerChannel(ChannelStats stats) => new(NormalizeKind.PerChannel, stats.Mean.ToArray(), stats.Std.ToArray());

    /// <summary>Fits <paramref name="kind"/> on the (C, H, W) images of <paramref name="train"/>.</summary>
    public static InputNormalization Fit(NormalizeKind kind, IDataset train) => kind switch
    {
        NormalizeKind.None => None,
        NormalizeKind.PerChannel => PerChannel(ChannelStats.Compute(train)),
        _ => new(NormalizeKind.MeanImage, MeanImage(train), ChannelStats.Compute(train).Std.ToArray()),
    };

    static float[] MeanImage(IDataset train)
    {
        double[]? sum = null;
        for (int i = 0; i < train.Count; i++)
        {
            var x = train.Get(i).Input.Data;
            sum ??= new double[x.Length];
            for (int j = 0; j < x.Length; j++) sum[j] += x[j];
        }
        return sum is null ? [] : [.. sum.Select(v => (float)(v / train.Count))];
    }

    /// <summary>The statistics as <see cref="ChannelStats"/> (per-channel only).</summary>
    public ChannelStats Channels => new(Tensor.FromArray(Mean, Mean.Length), Tensor.FromArray(Std, Std.Length));

    /// <summary>Normalizes (N, C, H, W) images.</summary>
    public Tensor Apply(Tensor images) => Kind switch
    {
        NormalizeKind.None => images,
        NormalizeKind.PerChannel => Channels.Apply(images),
        _ => ApplyMeanImage(images),
    };

    Tensor ApplyMeanImage(Tensor images)
    {
        var x = images.ToArray();
        int per = Mean.Length, channels = Std.Length;
        if (per == 0 || x.Length % per != 0)
            throw new CliException($"the mean image holds {per} values, which does not fit images of shape {images.ShapeString}");
        int plane = per / channels;
        for (int start = 0; start < x.Length; start += per)
            for (int j = 0; j < per; j++)
                x[start + j] = (x[start + j] - Mean[j]) / Std[j / plane];
        return Tensor.FromArray(x, [.. images.Shape]);
    }

    /// <summary>The same normalization as a per-sample transform of a (C, H, W) image; null for none.</summary>
    public ITransform? AsTransform() => Kind switch
    {
        NormalizeKind.None => null,
        NormalizeKind.PerChannel => new Normalize(Mean, Std),
        _ => new SampleTransform(this),
    };

    sealed class SampleTransform(InputNormalization norm) : ITransform
    {
        public Tensor Apply(Tensor image, Generator generator) => norm.Apply(image.Unsqueeze(0)).Squeeze(0);
    }
}
