using Nabla.Nn;

namespace Nabla.Cli.Lab;

/// <summary>The networks the experiments train: MLPs with a chosen activation, normalization and dropout, and a small CNN.</summary>
internal static class LabNets
{
    /// <summary>The activations of the <c>activations</c> experiment (and the MLP's choice).</summary>
    public static readonly string[] Activations = ["sigmoid", "tanh", "relu", "leaky-relu", "maxout"];

    /// <summary>
    /// Flatten, then for each hidden width: Linear, [BatchNorm1d], activation, [Dropout]; then the
    /// Linear classifier. Maxout takes the maximum of 2 linear pieces per unit. With
    /// <paramref name="weightInit"/> every weight is drawn from it and every bias is zero; otherwise
    /// PyTorch's default initialization.
    /// </summary>
    public static Sequential Mlp(int[] hidden, string activation, Generator g, bool batchNorm = false, double dropout = 0,
        Init? weightInit = null, int inputs = 784, int classes = 10)
    {
        var layers = new List<Module> { new Flatten() };
        int width = inputs;
        foreach (int h in hidden)
        {
            int pieces = activation == "maxout" ? 2 : 1;
            layers.Add(new Linear(width, h * pieces, bias: !batchNorm, init: weightInit, generator: g));
            if (batchNorm) layers.Add(new BatchNorm1d(h * pieces));
            layers.Add(Activation(activation));
            if (dropout > 0) layers.Add(new Dropout(dropout, generator: g));
            width = h;
        }
        layers.Add(new Linear(width, classes, init: weightInit, generator: g));
        var model = new Sequential([.. layers]);
        if (weightInit is not null)
            foreach (var m in model.Modules())
                if (m is Linear { Bias: { } b }) Init.Zeros().Fill(b);
        return model;
    }

    public static Module Activation(string name) => name switch
    {
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        "relu" => new Relu(),
        "leaky-relu" => new LeakyRelu(0.1),
        "maxout" => new Maxout(2),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown activation"),
    };

    /// <summary>
    /// A small CNN for 28 x 28 images: two blocks of 3x3 convolution, [BatchNorm2d], ReLU and 2x2 max
    /// pooling (<paramref name="channels"/>, then twice as many), then global average pooling is
    /// avoided (the classifier sees 7 x 7 positions): Flatten, [Dropout], Linear(…, 10).
    /// </summary>
    public static Sequential Cnn(int channels, Generator g, bool batchNorm = true, double dropout = 0)
    {
        var layers = new List<Module>();
        int cin = 1;
        foreach (int c in new[] { channels, 2 * channels })
        {
            layers.Add(new Conv2d(cin, c, 3, padding: 1, bias: !batchNorm, generator: g));
            if (batchNorm) layers.Add(new BatchNorm2d(c));
            layers.Add(new Relu());
            layers.Add(new MaxPool2d(2));
            cin = c;
        }
        layers.Add(new Flatten());
        if (dropout > 0) layers.Add(new Dropout(dropout, generator: g));
        layers.Add(new Linear(2 * channels * 7 * 7, 10, generator: g));
        var model = new Sequential([.. layers]);
        Presets.Initialize(model, InitKind.Kaiming, g);
        return model;
    }
}
