using Nabla.Losses;
using Nabla.Nn;

namespace Nabla.Tests.NnTests;

/// <summary>
/// Every layer and loss, given a wrong input, names itself with its settings, what it expected and
/// what came (checked at the layer, not deep in a kernel); every constructor refuses nonsense
/// settings with PyTorch's message where PyTorch has one. One row per message.
/// </summary>
public class LayerErrorTests
{
    // ---- layers given a wrong input ------------------------------------------------------------

    static readonly Dictionary<string, (Func<Module> Layer, int[] Input, string Message)> ForwardTable = new()
    {
        ["Linear features"] = (() => new Linear(20, 10), [8, 100], "Linear(20, 10) expects input of shape (..., 20); got [8, 100]"),
        ["Linear scalar"] = (() => new Linear(4, 3), [], "Linear(4, 3) expects input of shape (..., 4); got []"),
        ["Conv2d channels"] = (() => new Conv2d(3, 16, 3), [8, 1, 28, 28], "Conv2d(3, 16) expects input of shape (N, 3, H, W); got [8, 1, 28, 28]"),
        ["Conv2d rank"] = (() => new Conv2d(3, 16, 3), [3, 28, 28], "Conv2d(3, 16) expects input of shape (N, 3, H, W); got [3, 28, 28]"),
        ["Conv2d too small"] = (() => new Conv2d(3, 4, 3, padding: 1, dilation: 3), [1, 3, 4, 9],
            "Conv2d(3, 4) expects input of shape (N, 3, H, W) with H >= 5 and W >= 5; got [1, 3, 4, 9]" +
            "\nhint: the 7x7 kernel (dilation included) must fit in the input padded by (1, 1)"),
        ["MaxPool2d rank"] = (() => new MaxPool2d(2), [4, 16], "MaxPool2d(kernel_size=(2, 2)) expects input of shape (N, C, H, W) or (C, H, W); got [4, 16]"),
        ["MaxPool2d too small"] = (() => new MaxPool2d(5, padding: 1), [1, 2, 2, 5],
            "MaxPool2d(kernel_size=(5, 5)) expects input of shape (N, C, H, W) or (C, H, W) with H >= 3 and W >= 3; got [1, 2, 2, 5]"),
        ["AvgPool2d rank"] = (() => new AvgPool2d(2), [2, 3, 4, 4, 4], "AvgPool2d(kernel_size=(2, 2)) expects input of shape (N, C, H, W) or (C, H, W); got [2, 3, 4, 4, 4]"),
        ["AvgPool2d too small"] = (() => new AvgPool2d(3), [2, 3, 2], "AvgPool2d(kernel_size=(3, 3)) expects input of shape (N, C, H, W) or (C, H, W) with H >= 3 and W >= 3; got [2, 3, 2]"),
        ["AdaptiveAvgPool2d rank"] = (() => new AdaptiveAvgPool2d(1), [8, 16], "AdaptiveAvgPool2d(output_size=(1, 1)) expects input of shape (N, C, H, W) or (C, H, W); got [8, 16]"),
        ["AdaptiveAvgPool2d empty"] = (() => new AdaptiveAvgPool2d((2, 3)), [2, 3, 0, 4],
            "AdaptiveAvgPool2d(output_size=(2, 3)) expects input of shape (N, C, H, W) or (C, H, W) with H >= 1 and W >= 1; got [2, 3, 0, 4]"),
        ["BatchNorm1d channels"] = (() => new BatchNorm1d(5), [4, 6], "BatchNorm1d(5) expects input of shape (N, 5) or (N, 5, L); got [4, 6]"),
        ["BatchNorm1d one value per channel"] = (() => new BatchNorm1d(5), [1, 5],
            "BatchNorm1d(5) expects more than 1 value per channel when training; got input size [1, 5]" +
            "\nhint: a batch of one sample has no batch statistics; drop the last partial batch or call Eval()"),
        ["BatchNorm2d channels"] = (() => new BatchNorm2d(32), [8, 3, 28, 28], "BatchNorm2d(32) expects input of shape (N, 32, H, W); got [8, 3, 28, 28]"),
        ["LayerNorm"] = (() => new LayerNorm(8), [2, 5], "LayerNorm((8,)) expects input of shape (*, 8); got [2, 5]"),
        ["LayerNorm 2-d shape"] = (() => new LayerNorm([3, 4]), [4], "LayerNorm((3, 4)) expects input of shape (*, 3, 4); got [4]"),
        ["GroupNorm channels"] = (() => new GroupNorm(2, 6), [2, 4, 3], "GroupNorm(2, 6) expects input of shape (N, 6, *); got [2, 4, 3]"),
        ["GroupNorm rank"] = (() => new GroupNorm(2, 6), [6], "GroupNorm(2, 6) expects input of shape (N, 6, *); got [6]"),
        ["InstanceNorm2d rank"] = (() => new InstanceNorm2d(3), [2, 12], "InstanceNorm2d(3) expects input of shape (N, 3, H, W) or (3, H, W); got [2, 12]"),
        ["InstanceNorm2d channels"] = (() => new InstanceNorm2d(3, affine: true), [2, 4, 2, 2],
            "InstanceNorm2d(3) expects input of shape (N, 3, H, W) or (3, H, W); got [2, 4, 2, 2]"),
        ["InstanceNorm2d one position"] = (() => new InstanceNorm2d(3), [2, 3, 1, 1],
            "InstanceNorm2d(3) expects more than 1 spatial element when training; got input size [2, 3, 1, 1]" +
            "\nhint: instance statistics are taken over the positions of one channel of one sample"),
        ["Dropout2d rank"] = (() => new Dropout2d(0.2), [4, 8], "Dropout2d(p=0.2) expects input of shape (N, C, H, W) or (C, H, W); got [4, 8]"),
        ["Maxout"] = (() => new Maxout(3), [8, 10], "Maxout(pieces=3) expects input of shape (N, units*3); got [8, 10]" +
            "\nhint: 10 features do not split into groups of 3; the layer before should output a multiple of 3"),
        ["Softmax dim"] = (() => new Softmax(2), [4, 5], "Softmax(dim=2) expects input with at least 3 dimensions; got [4, 5]"),
        ["LogSoftmax dim"] = (() => new LogSoftmax(-3), [4, 5], "LogSoftmax(dim=-3) expects input with at least 3 dimensions; got [4, 5]"),
        ["Flatten rank"] = (() => new Flatten(), [5], "Flatten(start_dim=1, end_dim=-1) expects input with at least 2 dimensions; got [5]"),
        ["Flatten order"] = (() => new Flatten(-1, 1), [2, 3, 4],
            "Flatten(start_dim=-1, end_dim=1) expects input in which start_dim does not come after end_dim; got [2, 3, 4]"),
        ["BasicBlock channels"] = (() => new BasicBlock(16, 16), [1, 3, 8, 8], "BasicBlock(16, 16) expects input of shape (N, 16, H, W); got [1, 3, 8, 8]"),
    };

    public static TheoryData<string> ForwardCases() => [.. ForwardTable.Keys];

    [Theory]
    [MemberData(nameof(ForwardCases))]
    public void A_wrong_input_names_the_layer_what_it_expected_and_what_came(string name)
    {
        var (layer, input, message) = ForwardTable[name];
        var e = Assert.Throws<ShapeException>(() => layer().Forward(Tensor.Zeros(input)));
        Assert.Equal(message, e.Message);
        Assert.Null(e.ModulePath);
    }

    [Fact]
    public void Every_layer_with_input_constraints_has_a_row()
    {
        // A new layer class with a shape check must add its row above.
        string[] constrained =
        [
            nameof(Linear), nameof(Conv2d), nameof(MaxPool2d), nameof(AvgPool2d), nameof(AdaptiveAvgPool2d), nameof(BatchNorm1d),
            nameof(BatchNorm2d), nameof(LayerNorm), nameof(GroupNorm), nameof(InstanceNorm2d), nameof(Dropout2d), nameof(Maxout),
            nameof(Softmax), nameof(LogSoftmax), nameof(Flatten), nameof(BasicBlock),
        ];
        var covered = ForwardTable.Values.Select(r => r.Layer().GetType().Name).ToHashSet();
        Assert.All(constrained, c => Assert.Contains(c, covered));
        var moduleTypes = typeof(Module).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Module)) && !t.IsAbstract && t.IsPublic).Select(t => t.Name).ToHashSet();
        string[] anyShape = [nameof(Sigmoid), nameof(Tanh), nameof(Relu), nameof(LeakyRelu), nameof(Elu), nameof(Gelu), nameof(Softplus),
            nameof(Dropout), nameof(Identity), nameof(Sequential), nameof(ModuleList)];
        Assert.Equal(moduleTypes.Order(), constrained.Concat(anyShape).Order());
    }

    public static TheoryData<string> AnyShapeLayers() =>
        ["Sigmoid", "Tanh", "Relu", "LeakyRelu", "Elu", "Gelu", "Softplus", "Dropout", "Identity", "Sequential"];

    [Theory]
    [MemberData(nameof(AnyShapeLayers))]
    public void Element_wise_layers_take_any_shape(string name)
    {
        Module layer = name switch
        {
            "Sigmoid" => new Sigmoid(), "Tanh" => new Tanh(), "Relu" => new Relu(), "LeakyRelu" => new LeakyRelu(),
            "Elu" => new Elu(), "Gelu" => new Gelu(), "Softplus" => new Softplus(), "Dropout" => new Dropout(generator: new Generator(1)),
            "Identity" => new Identity(), _ => new Sequential(),
        };
        foreach (int[] shape in new[] { Array.Empty<int>(), [3], [2, 0, 4], [1, 2, 1, 2, 3] })
            Assert.Equal(shape, layer.Forward(Tensor.Zeros(shape)).Shape.ToArray());
    }

    [Fact]
    public void ModuleList_has_no_forward()
    {
        var e = Assert.Throws<NotSupportedException>(() => new ModuleList(new Linear(2, 2)).Forward(Tensor.Zeros(1, 2)));
        Assert.Equal("ModuleList has no Forward: call its modules in the owner's forward, or use Sequential", e.Message);
    }

    // ---- the module path --------------------------------------------------------------------

    sealed class Classifier : Module
    {
        readonly Sequential _features, _head;

        public Classifier()
        {
            _features = Register("features", new Sequential(new Conv2d(1, 4, 3, padding: 1), new Relu(), new MaxPool2d(2), new Flatten()));
            _head = Register("head", new Sequential(new Linear(4 * 4 * 4, 10)));
        }

        protected override Tensor ForwardCore(Tensor input) => _head.Forward(_features.Forward(input));
    }

    [Fact]
    public void The_module_path_prefixes_the_message_in_nested_models()
    {
        var mlp = new Sequential(new Linear(4, 8), new Relu(), new Linear(8, 2));
        var e = Assert.Throws<ShapeException>(() => mlp.Forward(Tensor.Zeros(3, 5)));
        Assert.Equal("0: Linear(4, 8) expects input of shape (..., 4); got [3, 5]", e.Message);
        Assert.Equal("0", e.ModulePath);

        var nested = new Sequential(new Linear(4, 8), new Sequential(new Relu(), new Linear(6, 2)));
        e = Assert.Throws<ShapeException>(() => nested.Forward(Tensor.Zeros(3, 4)));
        Assert.Equal("1.1: Linear(6, 2) expects input of shape (..., 6); got [3, 8]", e.Message);

        // a 28x28 image where the model was built for 8x8: the error points at the layer that sees the difference
        var net = new Classifier();
        e = Assert.Throws<ShapeException>(() => net.Forward(Tensor.Zeros(2, 1, 28, 28)));
        Assert.Equal("head.0: Linear(64, 10) expects input of shape (..., 64); got [2, 784]", e.Message);
        e = Assert.Throws<ShapeException>(() => net.Forward(Tensor.Zeros(2, 3, 8, 8)));
        Assert.Equal("features.0: Conv2d(1, 4) expects input of shape (N, 1, H, W); got [2, 3, 8, 8]", e.Message);
        Shape([2, 10], net.Forward(Tensor.Zeros(2, 1, 8, 8)));
    }

    static void Shape(int[] expected, Tensor t) => Assert.Equal(expected, t.Shape.ToArray());

    // ---- losses given a wrong input or target -------------------------------------------------

    static readonly Tensor Logits = Tensor.Zeros(4, 5);

    static readonly Dictionary<string, (Func<Loss> Loss, Tensor Input, Tensor Target, string Message)> LossTable = new()
    {
        ["L1Loss"] = (() => new L1Loss(), Tensor.Zeros(4), Tensor.Zeros(4, 1), "L1Loss() expects a target of the input's shape [4]; got [4, 1]"),
        ["MseLoss"] = (() => new MseLoss(), Tensor.Zeros(2, 3), Tensor.Zeros(3, 2), "MseLoss() expects a target of the input's shape [2, 3]; got [3, 2]"),
        ["SmoothL1Loss"] = (() => new SmoothL1Loss(), Tensor.Zeros(2, 3), Tensor.Zeros(2), "SmoothL1Loss() expects a target of the input's shape [2, 3]; got [2]"),
        ["HuberLoss"] = (() => new HuberLoss(), Tensor.Zeros(3), Tensor.Zeros(), "HuberLoss() expects a target of the input's shape [3]; got []"),
        ["BceLoss shape"] = (() => new BceLoss(), Tensor.Zeros(8, 1), Tensor.Zeros(8), "BceLoss() expects a target of the input's shape [8, 1]; got [8]"),
        ["BceLoss probabilities"] = (() => new BceLoss(), Tensor.FromArray([0.5f, 1.5f]), Tensor.Zeros(2),
            "BceLoss() expects input probabilities in [0, 1]; got 1.5 at input[1]" +
            "\nhint: apply Sigmoid first, or pass the raw scores to BinaryCrossEntropyWithLogits (more stable)"),
        ["BceWithLogitsLoss shape"] = (() => new BceWithLogitsLoss(), Tensor.Zeros(8, 1), Tensor.Zeros(8),
            "BceWithLogitsLoss() expects a target of the input's shape [8, 1]; got [8]"),
        ["BceWithLogitsLoss pos_weight"] = (() => new BceWithLogitsLoss(posWeight: Tensor.Ones(4)), Logits, Logits,
            "BceWithLogitsLoss() expects a posWeight of shape [5] (one weight per entry of the input's last dimension) or [1]; got [4]"),
        ["CrossEntropyLoss input rank"] = (() => new CrossEntropyLoss(), Tensor.Scalar(1f), Tensor.Scalar(0f),
            "CrossEntropyLoss() expects input of shape (N, C), (N, C, d1, ...) or (C); got []"),
        ["CrossEntropyLoss target shape"] = (() => new CrossEntropyLoss(), Logits, Tensor.Zeros(3),
            "CrossEntropyLoss() expects a target of class indices of shape [4]; got [3] for input [4, 5]"),
        ["CrossEntropyLoss probabilities shape"] = (() => new CrossEntropyLoss(), Logits, Tensor.Zeros(4, 3),
            "CrossEntropyLoss() expects a target of class probabilities of the input's shape [4, 5]; got [4, 3]" +
            "\nhint: a target of class indices has shape [4]"),
        ["CrossEntropyLoss probabilities finite"] = (() => new CrossEntropyLoss(), Logits,
            Tensor.FromArray([0f, 0f, 1f, 0f, 0f, 0f, float.PositiveInfinity, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 1f], 4, 5),
            "CrossEntropyLoss() expects finite class probabilities; got Infinity at target[1, 1]"),
        ["CrossEntropyLoss class index"] = (() => new CrossEntropyLoss(), Logits, Tensor.FromArray([0f, 5f, 1f, 1f]),
            "CrossEntropyLoss() expects class indices in [0, 5); got 5 at target[1]"),
        ["CrossEntropyLoss weight"] = (() => new CrossEntropyLoss(weight: Tensor.Ones(4)), Logits, Tensor.Zeros(4),
            "CrossEntropyLoss() expects a class weight of shape [5]; got [4]"),
        ["NllLoss target shape"] = (() => new NllLoss(), Tensor.Zeros(2, 3, 6), Tensor.Zeros(2, 5),
            "NllLoss() expects a target of class indices of shape [2, 6]; got [2, 5] for input [2, 3, 6]"),
        ["NllLoss class index"] = (() => new NllLoss(), Logits, Tensor.FromArray([0f, 1f, 2f, -1f]),
            "NllLoss() expects class indices in [0, 5); got -1 at target[3]"),
        ["MultiMarginLoss input rank"] = (() => new MultiMarginLoss(), Tensor.Zeros(2, 3, 4), Tensor.Zeros(2, 4),
            "MultiMarginLoss() expects input of shape (N, C) or (C); got [2, 3, 4]"),
        ["MultiMarginLoss integer target"] = (() => new MultiMarginLoss(), Logits, Tensor.FromArray([0f, 1f, 1.5f, 2f]),
            "MultiMarginLoss() expects integer class indices; got 1.5 at target[2]"),
        ["MulticlassHingeLoss target shape"] = (() => new MulticlassHingeLoss(), Logits, Tensor.Zeros(4, 1),
            "MulticlassHingeLoss() expects a target of class indices of shape [4]; got [4, 1] for input [4, 5]"),
    };

    public static TheoryData<string> LossCases() => [.. LossTable.Keys];

    [Theory]
    [MemberData(nameof(LossCases))]
    public void A_wrong_input_or_target_names_the_loss(string name)
    {
        var (loss, input, target, message) = LossTable[name];
        Assert.Equal(message, Assert.Throws<ShapeException>(() => loss().Forward(input, target)).Message);
    }

    [Fact]
    public void Every_loss_has_a_row()
    {
        var lossTypes = typeof(Loss).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Loss)) && !t.IsAbstract).Select(t => t.Name);
        var covered = LossTable.Values.Select(r => r.Loss().GetType().Name).ToHashSet();
        Assert.All(lossTypes, t => Assert.Contains(t, covered));
    }

    // ---- constructors -----------------------------------------------------------------------

    static readonly Dictionary<string, (Func<object> Make, string Param, string Message)> CtorTable = new()
    {
        ["Linear negative"] = (() => new Linear(-1, 3), "",
            "Linear: expected non-negative feature counts; got in_features = -1, out_features = 3"),
        ["Conv2d channels"] = (() => new Conv2d(0, 4, 3), "", "Conv2d: expected positive channel counts; got in_channels = 0, out_channels = 4"),
        ["Conv2d groups"] = (() => new Conv2d(4, 4, 3, groups: 0), "groups", "groups must be a positive integer"),
        ["Conv2d in_channels by groups"] = (() => new Conv2d(3, 6, 3, groups: 2), "inChannels", "in_channels must be divisible by groups"),
        ["Conv2d out_channels by groups"] = (() => new Conv2d(4, 6, 3, groups: 4), "outChannels", "out_channels must be divisible by groups"),
        ["Conv2d kernel"] = (() => new Conv2d(4, 4, 0), "kernelSize", "Conv2d: expected kernel_size >= 1; got (0, 0)"),
        ["Conv2d stride"] = (() => new Conv2d(4, 4, 3, stride: 0), "stride", "Conv2d: expected stride >= 1; got (0, 0)"),
        ["Conv2d padding"] = (() => new Conv2d(4, 4, 3, padding: -1), "padding", "Conv2d: expected padding >= 0; got (-1, -1)"),
        ["Conv2d dilation"] = (() => new Conv2d(4, 4, 3, dilation: 0), "dilation", "Conv2d: expected dilation >= 1; got (0, 0)"),
        ["MaxPool2d kernel"] = (() => new MaxPool2d(0), "kernelSize", "MaxPool2d: expected kernel_size >= 1; got (0, 0)"),
        ["MaxPool2d padding"] = (() => new MaxPool2d(2, padding: 2), "padding",
            "pad should be at most half of effective kernel size, but got pad=(2, 2), kernel_size=(2, 2)"),
        ["AvgPool2d stride"] = (() => new AvgPool2d(2, stride: 0), "stride", "AvgPool2d: expected stride >= 1; got (0, 0)"),
        ["AvgPool2d padding"] = (() => new AvgPool2d(3, padding: -1), "padding",
            "pad should be at most half of effective kernel size, but got pad=(-1, -1), kernel_size=(3, 3)"),
        ["AdaptiveAvgPool2d size"] = (() => new AdaptiveAvgPool2d(0), "outputSize", "AdaptiveAvgPool2d: expected an output size of at least (1, 1); got (0, 0)"),
        ["BatchNorm2d features"] = (() => new BatchNorm2d(0), "numFeatures", "BatchNorm2d: expected num_features >= 1; got 0"),
        ["BatchNorm1d eps"] = (() => new BatchNorm1d(4, eps: -1), "eps", "BatchNorm1d: expected a finite eps >= 0; got -1.0"),
        ["BatchNorm2d eps"] = (() => new BatchNorm2d(4, eps: double.NaN), "eps", "BatchNorm2d: expected a finite eps >= 0; got nan"),
        ["BatchNorm2d momentum"] = (() => new BatchNorm2d(4, momentum: 1.5), "momentum", "BatchNorm2d: expected momentum in [0, 1]; got 1.5"),
        ["LayerNorm shape"] = (() => new LayerNorm([4, 0]), "normalizedShape", "LayerNorm: expected a non-empty normalized_shape of positive sizes; got [4, 0]"),
        ["LayerNorm eps"] = (() => new LayerNorm(4, eps: double.PositiveInfinity), "eps", "LayerNorm: expected a finite eps >= 0; got inf"),
        ["GroupNorm groups"] = (() => new GroupNorm(0, 6), "numGroups", "GroupNorm: expected num_groups >= 1; got 0"),
        ["GroupNorm channels"] = (() => new GroupNorm(2, -4), "numChannels", "GroupNorm: expected num_channels >= 1; got -4"),
        ["GroupNorm divisible"] = (() => new GroupNorm(4, 6), "numChannels", "num_channels must be divisible by num_groups"),
        ["GroupNorm eps"] = (() => new GroupNorm(2, 4, eps: -1e-5), "eps", "GroupNorm: expected a finite eps >= 0; got -1e-05"),
        ["InstanceNorm2d features"] = (() => new InstanceNorm2d(0), "numFeatures", "InstanceNorm2d: expected num_features >= 1; got 0"),
        ["InstanceNorm2d eps"] = (() => new InstanceNorm2d(3, eps: -0.5), "eps", "InstanceNorm2d: expected a finite eps >= 0; got -0.5"),
        ["InstanceNorm2d momentum"] = (() => new InstanceNorm2d(3, momentum: double.NaN), "momentum", "InstanceNorm2d: expected momentum in [0, 1]; got nan"),
        ["Dropout p"] = (() => new Dropout(1.5), "p", "dropout probability has to be between 0 and 1, but got 1.5"),
        ["Dropout2d p"] = (() => new Dropout2d(-0.1), "p", "dropout probability has to be between 0 and 1, but got -0.1"),
        ["LeakyRelu slope"] = (() => new LeakyRelu(double.NaN), "negativeSlope", "LeakyRelu: expected a finite negativeSlope; got NaN"),
        ["Elu alpha"] = (() => new Elu(double.PositiveInfinity), "alpha", "Elu: expected a finite alpha; got Infinity"),
        ["Gelu approximate"] = (() => new Gelu("erf"), "approximate", "Gelu: expected approximate = \"none\" or \"tanh\"; got \"erf\""),
        ["Softplus beta"] = (() => new Softplus(beta: 0), "beta", "Softplus: expected a non-zero beta; got 0"),
        ["Softplus threshold"] = (() => new Softplus(threshold: double.NaN), "threshold", "Softplus: expected a threshold that is a number; got NaN"),
        ["Maxout pieces"] = (() => new Maxout(0), "pieces", "Maxout: expected pieces >= 1; got 0"),
        ["Flatten order"] = (() => new Flatten(2, 1), "startDim", "Flatten: start_dim cannot come after end_dim; got start_dim=2, end_dim=1"),
        ["BasicBlock channels"] = (() => new BasicBlock(0, 4), "", "BasicBlock: expected positive channel counts; got in_channels = 0, out_channels = 4"),
        ["BasicBlock stride"] = (() => new BasicBlock(4, 4, 0), "stride", "BasicBlock: expected stride >= 1; got 0"),
        ["Loss reduction"] = (() => new HuberLoss((Reduction)3), "reduction", "HuberLoss: expected reduction Mean, Sum or None; got 3"),
        ["SmoothL1Loss beta"] = (() => new SmoothL1Loss(beta: -0.5), "beta", "SmoothL1Loss: expected beta >= 0; got -0.5"),
        ["HuberLoss delta"] = (() => new HuberLoss(delta: 0), "delta", "HuberLoss: expected delta > 0; got 0"),
        ["CrossEntropyLoss smoothing"] = (() => new CrossEntropyLoss(labelSmoothing: 1.5), "labelSmoothing", "cross_entropy: expected labelSmoothing in [0, 1]; got 1.5"),
        ["MultiMarginLoss p"] = (() => new MultiMarginLoss(p: 3), "p", "multi_margin_loss: expected p = 1 or 2; got 3"),
        ["MultiMarginLoss margin"] = (() => new MultiMarginLoss(margin: double.NaN), "margin", "MultiMarginLoss: expected a finite margin; got NaN"),
        ["MulticlassHingeLoss margin"] = (() => new MulticlassHingeLoss(margin: double.NegativeInfinity), "margin",
            "MulticlassHingeLoss: expected a finite margin; got -Infinity"),
    };

    public static TheoryData<string> CtorCases() => [.. CtorTable.Keys];

    [Theory]
    [MemberData(nameof(CtorCases))]
    public void Nonsense_settings_are_refused_when_the_layer_is_built(string name)
    {
        var (make, param, message) = CtorTable[name];
        var e = Assert.ThrowsAny<ArgumentException>(make);
        Assert.IsNotType<ShapeException>(e);
        // ArgumentException appends " (Parameter 'name')" and ArgumentOutOfRangeException the value after the message.
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(param.Length == 0 ? null : param, e.ParamName);
        if (param.Length == 0) Assert.Equal(message, e.Message);
    }
}
