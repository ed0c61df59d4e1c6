// Digest of training runs through every loss, optimizer and fused path: the same digest before and after a refactor means bitwise-identical results.
using System.Security.Cryptography;
using Nabla;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

var digests = new List<string>();
Threading.NumThreads = 2;
foreach (var lossName in new[] { "ce", "ce_smooth", "ce_weight", "ce_prob", "nll", "mse", "l1", "huber", "smoothl1", "bce", "bcelogits", "margin", "hinge" })
foreach (var optName in new[] { "sgd", "sgd_nesterov", "adam", "adamw", "amsgrad", "rmsprop" })
{
    var g = new Generator(42);
    Sequential model = new Sequential(
        new Conv2d(1, 8, 3, padding: 1, generator: g), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
        new Conv2d(8, 8, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(8), new Relu(),
        new BasicBlock(8, 16, 2, g), new Flatten(), new Linear(16 * 4 * 4, 32, generator: g), new Relu(),
        new Linear(32, 5, generator: g));
    var mlp = new Sequential(new Flatten(), new Linear(256, 64, bias: false, generator: g), new BatchNorm1d(64), new Relu(),
        new Linear(64, 5, generator: g));
    var wide = new Sequential(new Conv2d(1, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new Relu(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, padding: 1, generator: g), new Relu(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 5, generator: g));
    model = new Sequential(new Parallel3(model, mlp, wide));
    Optimizer opt = optName switch
    {
        "sgd" => new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9, weightDecay: 1e-4),
        "sgd_nesterov" => new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(model.Parameters(), lr: 1e-3, weightDecay: 1e-3),
        "adamw" => new AdamW(model.Parameters(), lr: 1e-3),
        "amsgrad" => new Adam(model.Parameters(), lr: 1e-3, amsgrad: true),
        _ => new RmsProp(model.Parameters(), lr: 1e-3, momentum: 0.5, centered: true),
    };
    var x = Tensor.Randn([6, 1, 16, 16], g);
    var labels = Tensor.FromArray([0f, 1, 2, 3, 4, 1], 6);
    var probs = Tensor.Rand([6, 5], g);
    var real = Tensor.Randn([6, 5], g);
    var bin = Tensor.Rand([6, 5], g);
    for (int step = 0; step < 4; step++)
    {
        opt.ZeroGrad();
        var y = model.Forward(x);
        Tensor loss = lossName switch
        {
            "ce" => new CrossEntropyLoss().Forward(y, labels),
            "ce_smooth" => new CrossEntropyLoss(labelSmoothing: 0.1).Forward(y, labels),
            "ce_weight" => new CrossEntropyLoss(weight: Tensor.FromArray([1f, 2, 0.5f, 1, 3], 5)).Forward(y, labels),
            "ce_prob" => new CrossEntropyLoss().Forward(y, probs),
            "nll" => new NllLoss().Forward(Nabla.Nn.Functional.LogSoftmax(y, 1), labels),
            "mse" => new MseLoss().Forward(y, real),
            "l1" => new L1Loss().Forward(y, real),
            "huber" => new HuberLoss(delta: 0.5).Forward(y, real),
            "smoothl1" => new SmoothL1Loss().Forward(y, real),
            "bce" => new BceLoss().Forward(Tensor.Sigmoid(y), bin),
            "bcelogits" => new BceWithLogitsLoss().Forward(y, bin),
            "margin" => new MultiMarginLoss().Forward(y, labels),
            _ => new MulticlassHingeLoss().Forward(y, labels),
        };
        loss.Backward();
        opt.Step();
    }
    model.Eval();
    var outEval = model.Forward(x).ToArray();
    var bytes = model.StateDict().Values.SelectMany(t => t.ToArray()).Concat(outEval).SelectMany(BitConverter.GetBytes).ToArray();
    digests.Add($"{lossName}/{optName} {Convert.ToHexString(SHA256.HashData(bytes))[..16]}");
}
foreach (var d in digests) Console.WriteLine(d);

/// <summary>The sum of three branches' outputs.</summary>
sealed class Parallel3 : Module
{
    readonly Module _a, _b, _c;
    public Parallel3(Module a, Module b, Module c) { _a = Register("a", a); _b = Register("b", b); _c = Register("c", c); }
    protected override Tensor ForwardCore(Tensor input) => _a.Forward(input) + _b.Forward(input) + _c.Forward(input.Pad([8, 8, 8, 8]));
}
