using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Vision.Transforms;

namespace Nabla.Cli;

/// <summary>
/// <c>--model resnet18-imagenet</c>: ML.NET's ImageNet-pretrained ResNet-18 (see
/// <see cref="Pretrained.ResNet18ImageNet"/>) with a new linear head for the run's classes:
/// <c>Sequential(ImageNetInput, backbone, AdaptiveAvgPool2d(1), Flatten, head)</c>, the head being
/// <c>Sequential(BatchNorm1d(512, affine: false), [Dropout,] Linear(512 → K))</c>.
/// </summary>
/// <remarks>
/// The backbone is the pretrained graph cut before its fixed 7x7 average pooling, and global average
/// pooling takes its place, so any working resolution from 32 pixels up gives the 512 features (224 is
/// the resolution it was trained at). <see cref="ImageNetInput"/> turns the run's [0, 1] pixels into
/// what the network was trained on, so the user never has to know it.
/// </remarks>
internal static class PretrainedModel
{
    /// <summary>The backbone's last value before the pooling: (N, 512, S/32, S/32).</summary>
    public const string FeatureValue = "ReLU393_Output_0";

    public const int Features = 512;

    /// <summary>The index of the head in the model.</summary>
    public const int HeadIndex = 4;

    public static Sequential Build(int classes, int size, TrainConfig c, Generator generator)
    {
        OnnxModule backbone;
        try
        {
            backbone = Pretrained.ResNet18ImageNet().WithOutput(FeatureValue);
            backbone.AnyImageSize = true; // fully convolutional once cut before the 7x7 pooling
            backbone.BatchNormMomentum = 0.1; // PyTorch's: the running statistics follow the new images (see OnnxModule.BatchNormMomentum)
        }
        catch (FileNotFoundException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        // MAE's linear-probe head: batch norm without affine before the classifier, so features of any
        // scale (these are sums of 0-255 pixels) reach the linear layer standardized.
        var head = new List<Module> { new BatchNorm1d(Features, affine: false) };
        if (c.Dropout > 0) head.Add(new Dropout(c.Dropout, generator: generator));
        var linear = new Linear(Features, classes, generator: generator);
        head.Add(linear);
        var headModule = new Sequential([.. head]);
        Presets.Initialize(headModule, c.Init, generator);
        return new Sequential(new ImageNetInput(size), backbone, new AdaptiveAvgPool2d(1), new Flatten(), headModule);
    }

    /// <summary>The model's layers up to the features (the frozen part of a linear probe).</summary>
    public static Sequential FeatureExtractor(Sequential model) => new([.. Enumerable.Range(0, HeadIndex).Select(i => model[i])]);

    /// <summary>The new head.</summary>
    public static Module Head(Sequential model) => model[HeadIndex];

    /// <summary>The pretrained backbone.</summary>
    public static Module Backbone(Sequential model) => model[1];
}

/// <summary>
/// The pretrained ResNet-18's own preprocessing, from [0, 1] pixels: a grey image's level repeated
/// into three channels, scaled to 0-255, the channels reordered to B, G, R and ML.NET's ImageNet mean
/// image subtracted (resized to the working resolution when it is not 224), as the package's
/// <c>ResNetPreprocess.onnx</c> does. It has no weights.
/// </summary>
internal sealed class ImageNetInput : Module
{
    readonly float[] _meanBgr; // (3, size, size)

    public ImageNetInput(int size)
    {
        Size = size;
        Tensor mean;
        try
        {
            // The package's preprocessing of black pixels is minus its mean image (in B, G, R order).
            using var noGrad = Autograd.NoGrad();
            mean = (-Pretrained.ResNet18Preprocessing().Forward(Tensor.Zeros(1, 3, 224, 224))).Reshape(3, 224, 224);
        }
        catch (FileNotFoundException e)
        {
            throw CliException.File(CommandShared.OneLine(e.Message));
        }
        if (size != 224) mean = new Resize(size, size).Apply(mean, new Generator(0));
        _meanBgr = mean.ToArray();
    }

    public int Size { get; }

    protected override Tensor ForwardCore(Tensor input)
    {
        if (input.Rank != 4 || input.Shape[1] is not (1 or 3) || input.Shape[2] != Size || input.Shape[3] != Size)
            throw new ShapeException("ImageNetInput", $"images of shape (N, 1 or 3, {Size}, {Size})", input.ShapeString);
        int n = input.Shape[0], c = input.Shape[1], plane = Size * Size;
        var x = input.ToArray();
        var y = new float[n * 3 * plane];
        for (int i = 0; i < n; i++)
            for (int bgr = 0; bgr < 3; bgr++)
            {
                int rgb = c == 1 ? 0 : 2 - bgr;
                int src = (i * c + rgb) * plane, dst = (i * 3 + bgr) * plane, m = bgr * plane;
                for (int j = 0; j < plane; j++) y[dst + j] = x[src + j] * 255f - _meanBgr[m + j];
            }
        return Tensor.FromArray(y, n, 3, Size, Size);
    }

    protected override string ExtraRepr() => $"size={Size}, BGR, 0-255, ImageNet mean image";
}
