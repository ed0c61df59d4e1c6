// <doc:usings>
using Nabla;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
// </doc:usings>
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Nabla.Tests.NnTests;

/// <summary>
/// The code of docs/nn.md, run. Each C# block of the page sits here between <c>// &lt;doc:name&gt;</c>
/// and <c>// &lt;/doc:name&gt;</c>, and <see cref="The_page_shows_exactly_this_code"/> checks that the
/// page's blocks are these regions, character for character, so the guide cannot rot.
/// </summary>
public class DocsExampleTests
{
    // <doc:model>
    sealed class SmallNet : Module
    {
        readonly Sequential _features;
        readonly Dropout _dropout;
        readonly Linear _classifier;

        public SmallNet(Generator generator)
        {
            _features = Register("features", new Sequential(
                new Conv2d(1, 8, 3, padding: 1, bias: false, generator: generator,
                    init: Init.KaimingNormal(mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu)),
                new BatchNorm2d(8),      // batch norm's shift makes the convolution's bias redundant
                new Relu(),
                new MaxPool2d(2),        // (N, 8, 8, 8) -> (N, 8, 4, 4)
                new Flatten()));         // (N, 8, 4, 4) -> (N, 128)
            _dropout = Register("dropout", new Dropout(0.2, generator: generator));
            _classifier = Register("classifier", new Linear(8 * 4 * 4, 3, generator: generator));
        }

        protected override Tensor ForwardCore(Tensor input) =>
            _classifier.Forward(_dropout.Forward(_features.Forward(input)));
    }
    // </doc:model>

    [Fact]
    public void The_training_example_runs_and_learns()
    {
        // <doc:training>
        // 96 noisy 8x8 images; class k has a bright 3x3 patch whose corner is at (2k, 2k)
        var gen = new Generator(42);
        int n = 96;
        var pixels = new float[n * 64];
        var labels = new float[n];
        for (int i = 0; i < n; i++)
        {
            int k = i % 3;
            labels[i] = k;
            for (int j = 0; j < 64; j++) pixels[i * 64 + j] = 0.3f * (float)gen.NextNormal();
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++) pixels[i * 64 + (2 * k + r) * 8 + 2 * k + c] += 1f;
        }
        var x = Tensor.FromArray(pixels, n, 1, 8, 8);
        var y = Tensor.FromArray(labels);

        var model = new SmallNet(new Generator(0));
        var opt = new AdamW(ParamGroup.SplitByRank(model, weightDecay: 0.05), lr: 1e-2);
        const int epochs = 10, batchSize = 32;
        var schedule = new OneCycleLr(opt, maxLr: 1e-2, totalSteps: epochs * (n / batchSize));
        var lossFn = new CrossEntropyLoss(labelSmoothing: 0.05);

        model.Train();
        float lastLoss = float.NaN;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var order = Tensor.Randperm(n, gen);                    // a new shuffle every epoch
            for (int start = 0; start < n; start += batchSize)
            {
                using var scope = TensorScope.Begin();              // this step's tensors go back to a pool
                var batch = order[start..(start + batchSize)];
                var loss = lossFn.Forward(model.Forward(x.IndexSelect(0, batch)), y.IndexSelect(0, batch));
                opt.ZeroGrad();
                loss.Backward();
                GradClip.ClipGradNorm(model.Parameters(), maxNorm: 1.0);
                opt.Step();
                schedule.Step();                                    // OneCycleLr moves every batch
                lastLoss = loss.Item();                             // a float survives the scope
            }
        }

        model.Eval();                                               // dropout off, running statistics on
        float accuracy;
        using (Autograd.NoGrad())
            accuracy = model.Forward(x).Argmax(1).Eq(y).Mean().Item();

        // save and restore: PyTorch's keys (features.0.weight, features.1.running_mean, ...)
        using var file = new MemoryStream();                        // or SafeTensors.Save(path, ...)
        SafeTensors.Save(file, model.StateDict());
        file.Position = 0;
        var restored = new SmallNet(new Generator(1));
        restored.LoadStateDict(SafeTensors.Load(file));
        restored.Eval();
        // </doc:training>

        Assert.True(accuracy >= 0.95f, $"accuracy {accuracy}");
        Assert.True(lastLoss < 0.5f, $"last loss {lastLoss}");
        Assert.True(opt.ParamGroups[0].Lr < 1e-3, $"lr {opt.ParamGroups[0].Lr}"); // annealed far below maxLr
        Assert.Contains("features.1.running_mean", model.StateDict().Keys);
        using (Autograd.NoGrad())
            Assert.Equal(model.Forward(x).ToArray(), restored.Forward(x).ToArray());
    }

    [Fact]
    public void The_state_dict_example_lists_pytorch_keys()
    {
        // <doc:state-dict>
        var net = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new Relu(), new Linear(8, 2));
        var keys = string.Join(", ", net.StateDict().Keys);
        // 0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked, 3.weight, 3.bias

        var copy = new Sequential(new Linear(4, 8), new BatchNorm1d(8), new Relu(), new Linear(8, 2));
        copy.LoadStateDict(net.StateDict());   // strict: every key present, none extra, every shape equal
        // </doc:state-dict>

        Assert.Equal("0.weight, 0.bias, 1.weight, 1.bias, 1.running_mean, 1.running_var, 1.num_batches_tracked, 3.weight, 3.bias", keys);
        Assert.Equal(net.StateDict()["3.weight"].ToArray(), copy.StateDict()["3.weight"].ToArray());
    }

    [Fact]
    public void The_init_example_gives_kaimings_variance()
    {
        var model = new Sequential(new Conv2d(3, 16, 3), new Relu(), new Conv2d(16, 32, 3));
        // <doc:init>
        var fc = new Linear(512, 256, init: Init.KaimingNormal(nonlinearity: Nonlinearity.Relu));
        Init.Zeros().Fill(fc.Bias!);

        // or re-initialize a built model, layer by layer
        model.Apply(m =>
        {
            if (m is Conv2d conv)
                Init.KaimingNormal(mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu).Fill(conv.Weight);
        });
        // </doc:init>

        var w = fc.Weight.Data.ToArray();
        double variance = w.Sum(v => (double)v * v) / w.Length;
        Assert.Equal(2.0 / 512, variance, 2.0 / 512 * 0.05); // 131072 draws: the estimate's relative error is about 0.4%
        Assert.All(fc.Bias!.Data.ToArray(), b => Assert.Equal(0f, b));
        var k = ((Conv2d)model[2]).Weight.Data.ToArray();
        Assert.Equal(2.0 / (32 * 9), k.Sum(v => (double)v * v) / k.Length, 2.0 / (32 * 9) * 0.15);
    }

    [Fact]
    public void The_loss_example_gives_the_lecture_table()
    {
        // <doc:losses>
        // three samples, scores for classes 0, 1, 2; the true class is 0 each time
        var scores = Tensor.FromArray([5f, -3f, 2f,
                                       5f, 10f, 10f,
                                       5f, -20f, -20f], 3, 3);
        var target = Tensor.FromArray([0f, 0f, 0f]);
        var hinge = Loss.MulticlassHingeLoss(scores, target, Reduction.None);  // [0, 12, 0]
        var ce = Loss.CrossEntropy(scores, target, Reduction.None);            // [0.049, 5.70, 2.8e-11]
        // </doc:losses>

        Assert.Equal([0f, 12f, 0f], hinge.ToArray());
        var c = ce.ToArray();
        Assert.Equal(0.049, c[0], 0.0005);
        Assert.Equal(5.70, c[1], 0.005);
        Assert.Equal(2.8e-11, c[2], 0.05e-11);
    }

    [Fact]
    public void The_param_group_and_schedule_examples_run()
    {
        var model = new Sequential(new Linear(4, 8), new LayerNorm(8), new Linear(8, 2));
        // <doc:groups>
        // weight matrices and kernels decay; biases and normalization parameters do not
        var adamw = new AdamW(ParamGroup.SplitByRank(model, weightDecay: 0.05), lr: 3e-4);

        // the same by hand: options a group leaves out come from the optimizer
        var named = model.NamedParameters().ToList();
        var decay = named.Where(p => p.Parameter.Shape.Length >= 2).Select(p => p.Parameter);
        var noDecay = named.Where(p => p.Parameter.Shape.Length < 2).Select(p => p.Parameter);
        var sgd = new Sgd([new ParamGroup(decay, weightDecay: 5e-4), new ParamGroup(noDecay, weightDecay: 0)],
            lr: 0.1, momentum: 0.9, nesterov: true);
        // </doc:groups>

        var lrs = new List<double>();
        // <doc:schedule>
        // five epochs of linear warm-up from 0.1 lr, then a cosine decay to 0 over the other 95
        var warmup = new LinearLr(sgd, startFactor: 0.1, totalIters: 5);
        var cosine = new CosineAnnealingLr(sgd, tMax: 95);
        var schedule = new SequentialLr(sgd, [warmup, cosine], milestones: [5]);
        for (int epoch = 0; epoch < 100; epoch++)
        {
            lrs.Add(sgd.ParamGroups[0].Lr);   // ... one epoch of training, sgd.Step() after each batch ...
            schedule.Step();
        }
        // </doc:schedule>

        Assert.Equal(2, adamw.ParamGroups.Count);
        Assert.Equal(new[] { 0.05, 0.0 }, adamw.ParamGroups.Select(g => g.WeightDecay));
        Assert.Equal(2, adamw.ParamGroups[0].Parameters.Count);   // the two weight matrices
        Assert.Equal(4, adamw.ParamGroups[1].Parameters.Count);   // two biases, the norm's weight and bias
        Assert.Equal(0.01, lrs[0], 1e-12);
        Assert.Equal(0.1, lrs[5], 1e-12);
        Assert.True(lrs[50] < 0.1 && lrs[50] > 0.01);
        Assert.True(sgd.ParamGroups[0].Lr < 1e-3);
    }

    // ---- the page shows this code --------------------------------------------------------------

    static string Dedent(IEnumerable<string> lines)
    {
        var list = lines.ToList();
        int indent = list.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", list.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    static Dictionary<string, string> Regions(string source)
    {
        var lines = source.ReplaceLineEndings("\n").Split('\n');
        var regions = new Dictionary<string, string>();
        for (int i = 0; i < lines.Length; i++)
        {
            var m = Regex.Match(lines[i].Trim(), @"^// <doc:([a-z-]+)>$");
            if (!m.Success) continue;
            string name = m.Groups[1].Value;
            int end = Array.FindIndex(lines, i + 1, l => l.Trim() == $"// </doc:{name}>");
            Assert.True(end > i, $"region {name} is not closed");
            regions.Add(name, Dedent(lines[(i + 1)..end]));
        }
        return regions;
    }

    static string ThisFile([CallerFilePath] string path = "") => path;

    [Fact]
    public void The_page_shows_exactly_this_code()
    {
        string source = File.ReadAllText(ThisFile());
        var dir = new DirectoryInfo(Path.GetDirectoryName(ThisFile())!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docs", "nn.md"))) dir = dir.Parent;
        Assert.NotNull(dir);
        string page = File.ReadAllText(Path.Combine(dir.FullName, "docs", "nn.md")).ReplaceLineEndings("\n");

        var regions = Regions(source);
        var blocks = Regex.Matches(page, @"<!-- doc:([a-z-]+) -->\n```csharp\n(.*?)\n```", RegexOptions.Singleline);
        Assert.Equal(Regex.Count(page, "```csharp"), blocks.Count); // every C# block of the page is one of ours
        Assert.Equal(regions.Keys.Order(), blocks.Select(b => b.Groups[1].Value).Order());
        foreach (Match b in blocks)
            Assert.Equal(regions[b.Groups[1].Value], b.Groups[2].Value);
    }
}
