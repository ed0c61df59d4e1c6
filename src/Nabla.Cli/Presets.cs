using Nabla.Nn;

namespace Nabla.Cli;

/// <summary>
/// The model presets of <c>nabla train --model</c>, built for the data's image shape and classes
/// (Fashion-MNIST's 1 x 28 x 28 and 10 classes, or an image folder's) from a configuration (width,
/// batch norm, dropout, initialization) with a seeded generator; <c>resnet18-imagenet</c> is
/// <see cref="PretrainedModel"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>cnn</c>: Conv(1→32, 3x3, pad 1) [BN] ReLU MaxPool(2), Conv(32→64) [BN] ReLU MaxPool(2),
/// Flatten, Dropout, Linear(3136→256) ReLU, Dropout, Linear(256→10): the benchmarks' cnn_train model with a
/// hidden layer, which gains about 0.8 points of test accuracy on Fashion-MNIST in 10 epochs (824,554 parameters).</item>
/// <item><c>vgg</c>: two 3x3 convolutions per block (Simonyan and Zisserman's pattern): Conv(1→32) [BN] ReLU,
/// Conv(32→32) [BN] ReLU MaxPool(2), Conv(32→64) [BN] ReLU, Conv(64→64) [BN] ReLU MaxPool(2), then the cnn's classifier:
/// deeper, about five times the cnn's convolution work.</item>
/// <item><c>mlp</c>: Flatten, Linear(784→512) [BN] ReLU Dropout, Linear(512→256) [BN] ReLU Dropout, Linear(256→10).</item>
/// <item><c>resnet</c>: ResNet-8 — Conv(1→16, no bias) BN ReLU, three basic residual blocks 16→16,
/// 16→32 (stride 2), 32→64 (stride 2), global average pooling, Dropout, Linear(64→10).</item>
/// </list>
/// <c>--width k</c> multiplies every channel and hidden-unit count by k. The first layer takes the
/// data's channels (1 or 3); the classifier its classes. For images of 32 pixels and more, the cnn and
/// vgg presets average-pool their last feature map (S/4 a side) with a k x k window, k = ⌈S/28⌉, to
/// at most 7 x 7, so the classifier keeps at most 3136 inputs at any size (torchvision's VGG pools to
/// 7 x 7 adaptively; even windows keep the model exportable to ONNX); the mlp takes C·S·S inputs.
/// </remarks>
internal static class Presets
{
    /// <summary>The shape and classes of Fashion-MNIST, which IDX runs train on.</summary>
    public static readonly DataShape FashionMnist = new(1, 28, 10);

    public static Sequential Build(TrainConfig c, DataShape shape, Generator generator)
    {
        if (c.Model == ModelKind.ResNet18ImageNet) return PretrainedModel.Build(shape.Classes, shape.Size, c, generator);
        int w = c.Width, channels = shape.Channels, classes = shape.Classes;
        int pooled = shape.Size / 4; // after two MaxPool2d(2)
        int shrink = (pooled + 6) / 7; // an average pooling that brings larger maps down to 7 x 7 or less
        int side = pooled / shrink, features = 64 * w * side * side;
        var layers = new List<Module>();
        switch (c.Model)
        {
            case ModelKind.Cnn:
                ConvBlock(layers, channels, 32 * w, c.BatchNorm, generator);
                ConvBlock(layers, 32 * w, 64 * w, c.BatchNorm, generator);
                if (shrink > 1) layers.Add(new AvgPool2d(shrink));
                ConvClassifier(layers, features, 256 * w, classes, c.Dropout, generator);
                break;
            case ModelKind.Vgg:
                ConvLayer(layers, channels, 32 * w, c.BatchNorm, generator);
                ConvBlock(layers, 32 * w, 32 * w, c.BatchNorm, generator);
                ConvLayer(layers, 32 * w, 64 * w, c.BatchNorm, generator);
                ConvBlock(layers, 64 * w, 64 * w, c.BatchNorm, generator);
                if (shrink > 1) layers.Add(new AvgPool2d(shrink));
                ConvClassifier(layers, features, 256 * w, classes, c.Dropout, generator);
                break;
            case ModelKind.Mlp:
                layers.Add(new Flatten());
                int inputs = channels * shape.Size * shape.Size;
                foreach (int units in new[] { 512 * w, 256 * w })
                {
                    layers.Add(new Linear(inputs, units, bias: !c.BatchNorm, generator: generator));
                    if (c.BatchNorm) layers.Add(new BatchNorm1d(units));
                    layers.Add(new Relu());
                    if (c.Dropout > 0) layers.Add(new Dropout(c.Dropout, generator: generator));
                    inputs = units;
                }
                layers.Add(new Linear(inputs, classes, generator: generator));
                break;
            case ModelKind.Resnet:
                layers.Add(new Conv2d(channels, 16 * w, 3, padding: 1, bias: false, generator: generator));
                layers.Add(new BatchNorm2d(16 * w));
                layers.Add(new Relu());
                layers.Add(new BasicBlock(16 * w, 16 * w, 1, generator));
                layers.Add(new BasicBlock(16 * w, 32 * w, 2, generator));
                layers.Add(new BasicBlock(32 * w, 64 * w, 2, generator));
                layers.Add(new AdaptiveAvgPool2d(1));
                layers.Add(new Flatten());
                if (c.Dropout > 0) layers.Add(new Dropout(c.Dropout, generator: generator));
                layers.Add(new Linear(64 * w, classes, generator: generator));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.Model, "unknown model preset");
        }
        var model = new Sequential([.. layers]);
        Initialize(model, c.Init, generator);
        return model;
    }

    /// <summary>
    /// The number of parameters <see cref="Build"/> would make, and the largest tensor's element count,
    /// computed without allocating anything (the pretrained model: its 15.9 M and the head's).
    /// </summary>
    public static (long Parameters, long Largest) Size(TrainConfig c, DataShape shape)
    {
        long w = c.Width, k = shape.Classes, channels = shape.Channels;
        long total = 0, largest = 0;
        void Tensor(long n) { total += n; largest = Math.Max(largest, n); }
        void Conv(long cin, long cout, int kernel, bool bias) { Tensor(cout * cin * kernel * kernel); if (bias) Tensor(cout); }
        void Norm(long n) { Tensor(n); Tensor(n); }
        void Linear(long cin, long cout, bool bias = true) { Tensor(cout * cin); if (bias) Tensor(cout); }
        void ConvLayer(long cin, long cout) { Conv(cin, cout, 3, !c.BatchNorm); if (c.BatchNorm) Norm(cout); }
        long pooled = shape.Size / 4, shrink = (pooled + 6) / 7, side = pooled / shrink;
        switch (c.Model)
        {
            case ModelKind.Cnn:
                ConvLayer(channels, 32 * w);
                ConvLayer(32 * w, 64 * w);
                Linear(64 * w * side * side, 256 * w);
                Linear(256 * w, k);
                break;
            case ModelKind.Vgg:
                ConvLayer(channels, 32 * w);
                ConvLayer(32 * w, 32 * w);
                ConvLayer(32 * w, 64 * w);
                ConvLayer(64 * w, 64 * w);
                Linear(64 * w * side * side, 256 * w);
                Linear(256 * w, k);
                break;
            case ModelKind.Mlp:
                long inputs = channels * shape.Size * shape.Size;
                foreach (long units in new[] { 512 * w, 256 * w })
                {
                    Linear(inputs, units, bias: !c.BatchNorm);
                    if (c.BatchNorm) Norm(units);
                    inputs = units;
                }
                Linear(inputs, k);
                break;
            case ModelKind.Resnet:
                Conv(channels, 16 * w, 3, bias: false);
                Norm(16 * w);
                foreach (var (cin, cout) in new[] { (16 * w, 16 * w), (16 * w, 32 * w), (32 * w, 64 * w) })
                {
                    Conv(cin, cout, 3, bias: false);
                    Norm(cout);
                    Conv(cout, cout, 3, bias: false);
                    Norm(cout);
                    if (cin != cout) { Conv(cin, cout, 1, bias: false); Norm(cout); }
                }
                Linear(64 * w, k);
                break;
            default:
                Tensor(15_897_152);
                Linear(PretrainedModel.Features, k);
                break;
        }
        return (total, largest);
    }

    /// <summary>
    /// Refuses a configuration whose model could not be built or trained here: a tensor over 2^31 − 1
    /// elements, or weights, gradients and optimizer state (about 16 bytes a parameter) beyond half the
    /// memory this process may use, with one line that says how big it would be.
    /// </summary>
    public static void CheckSize(TrainConfig c, DataShape shape)
    {
        var (parameters, largest) = Size(c, shape);
        string what = $"--model {TrainConfig.ModelWords.Of(c.Model)} --width {c.Width} on {shape.Channels} x {shape.Size} x {shape.Size} images makes {Count(parameters)} parameters";
        if (largest > int.MaxValue)
            throw new CliException($"{what}, one layer alone {Count(largest)} weights, more than a tensor holds (2^31 - 1); use a smaller --width");
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, need = 16 * parameters;
        if (need > available / 2)
            throw new CliException($"{what} ({need / (double)(1L << 30):F1} GiB with their gradients and optimizer state), more than half of the " +
                                   $"{available / (double)(1L << 30):F1} GiB this process can use; use a smaller --width");
    }

    static string Count(long n) => n >= 1_000_000_000 ? $"{n / 1e9:F1} billion" : n >= 1_000_000 ? $"{n / 1e6:F1} million" : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    // Flatten, Dropout, Linear ReLU, Dropout, Linear: the classifier of the convolutional presets.
    static void ConvClassifier(List<Module> layers, int features, int hidden, int classes, double dropout, Generator g)
    {
        layers.Add(new Flatten());
        if (dropout > 0) layers.Add(new Dropout(dropout, generator: g));
        layers.Add(new Linear(features, hidden, generator: g));
        layers.Add(new Relu());
        if (dropout > 0) layers.Add(new Dropout(dropout, generator: g));
        layers.Add(new Linear(hidden, classes, generator: g));
    }

    // Conv [BN] ReLU.
    static void ConvLayer(List<Module> layers, int inChannels, int outChannels, bool batchNorm, Generator g)
    {
        layers.Add(new Conv2d(inChannels, outChannels, 3, padding: 1, bias: !batchNorm, generator: g));
        if (batchNorm) layers.Add(new BatchNorm2d(outChannels));
        layers.Add(new Relu());
    }

    // Conv [BN] ReLU MaxPool(2): with batch norm the three run as one fused kernel in Sequential.
    static void ConvBlock(List<Module> layers, int inChannels, int outChannels, bool batchNorm, Generator g)
    {
        layers.Add(new Conv2d(inChannels, outChannels, 3, padding: 1, bias: !batchNorm, generator: g));
        if (batchNorm) layers.Add(new BatchNorm2d(outChannels));
        layers.Add(new Relu());
        layers.Add(new MaxPool2d(2));
    }

    /// <summary>
    /// Re-initializes every convolution and linear weight: <c>kaiming</c> draws from N(0, 2 / fan_in),
    /// keeping the variance of ReLU activations constant through depth (He et al. 2015); <c>xavier</c>
    /// draws from U(±√(6 / (fan_in + fan_out))), which keeps it for linear or tanh units (Glorot and
    /// Bengio 2010); both zero the biases. <c>default</c> keeps PyTorch's initialization.
    /// </summary>
    public static void Initialize(Module model, InitKind init, Generator generator)
    {
        if (init == InitKind.Default) return;
        var weightInit = init switch
        {
            InitKind.Kaiming => Init.KaimingNormal(nonlinearity: Nonlinearity.Relu),
            InitKind.Xavier => Init.XavierUniform(),
            _ => throw new ArgumentOutOfRangeException(nameof(init), init, "unknown initialization"),
        };
        foreach (var m in model.Modules())
        {
            var (weight, bias) = m switch
            {
                Conv2d conv => (conv.Weight, conv.Bias),
                Linear lin => (lin.Weight, lin.Bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            weightInit.Fill(weight, generator);
            if (bias is not null) Init.Zeros().Fill(bias, generator);
        }
    }
}

/// <summary>What a model is built for: images of <paramref name="Channels"/> x <paramref name="Size"/> x <paramref name="Size"/>, and <paramref name="Classes"/> classes.</summary>
internal sealed record DataShape(int Channels, int Size, int Classes);
