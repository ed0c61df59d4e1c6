using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.NnTests;

/// <summary>
/// Behaviour of the toolbox as a whole: a small network memorizes a batch (the wiring of layers,
/// loss, autograd and optimizer is right), modes reach every nested module, and the functional
/// forms let dropout run while batch norm stays in evaluation (Monte Carlo dropout).
/// </summary>
public class TrainingBehaviourTests
{
    const int Samples = 64, Features = 10, Classes = 4;

    /// <summary>64 standard-normal samples with labels drawn independently of them: only memorizing fits them.</summary>
    static (Tensor X, Tensor Y) RandomBatch(ulong seed)
    {
        var gen = new Generator(seed);
        var x = Tensor.Randn([Samples, Features], gen);
        var labels = new float[Samples];
        for (int i = 0; i < Samples; i++) labels[i] = gen.NextInt64(0, Classes);
        return (x, Tensor.FromArray(labels));
    }

    static Sequential Mlp(ulong seed)
    {
        var gen = new Generator(seed);
        return new Sequential(new Linear(Features, 32, generator: gen), new Relu(), new Linear(32, Classes, generator: gen));
    }

    static double Accuracy(Tensor logits, Tensor labels)
    {
        var predicted = logits.Argmax(1).ToArray();
        var y = labels.ToArray();
        int right = 0;
        for (int i = 0; i < y.Length; i++) if (predicted[i] == y[i]) right++;
        return (double)right / y.Length;
    }

    /// <summary>
    /// Full-batch steps until the loss is below 0.05; returns the steps taken and the final loss and
    /// accuracy. (Adam and Sgd get there in under 100 steps here; the limit leaves room for kernels that round differently.)
    /// </summary>
    static (int Steps, double Loss, double Accuracy) Overfit(Sequential model, Optimizer opt, Tensor x, Tensor y, int maxSteps)
    {
        for (int step = 1; step <= maxSteps; step++)
        {
            opt.ZeroGrad();
            var loss = Loss.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            opt.Step();
            using (Autograd.NoGrad())
            {
                var logits = model.Forward(x);
                double after = Loss.CrossEntropy(logits, y).Item();
                if (after < 0.05) return (step, after, Accuracy(logits, y));
            }
        }
        using (Autograd.NoGrad())
        {
            var logits = model.Forward(x);
            return (maxSteps, Loss.CrossEntropy(logits, y).Item(), Accuracy(logits, y));
        }
    }

    [Fact]
    public void A_small_mlp_memorizes_64_random_labels_with_adam()
    {
        var (x, y) = RandomBatch(1);
        var model = Mlp(2);
        using (Autograd.NoGrad()) Assert.True(Accuracy(model.Forward(x), y) < 0.6); // it starts near chance (1/4)
        var (steps, loss, accuracy) = Overfit(model, new Adam(model.Parameters(), lr: 1e-2), x, y, maxSteps: 400);
        Assert.True(loss < 0.05, $"loss {loss} after {steps} steps");
        Assert.Equal(1.0, accuracy);
    }

    [Fact]
    public void A_small_mlp_memorizes_64_random_labels_with_sgd_and_momentum()
    {
        var (x, y) = RandomBatch(1);
        var model = Mlp(2);
        var (steps, loss, accuracy) = Overfit(model, new Sgd(model.Parameters(), lr: 0.1, momentum: 0.9), x, y, maxSteps: 400);
        Assert.True(loss < 0.05, $"loss {loss} after {steps} steps");
        Assert.Equal(1.0, accuracy);
    }

    // ---- modes -------------------------------------------------------------------------------

    /// <summary>A model whose children sit in every kind of container: a ModuleList of blocks, a Sequential inside a Sequential.</summary>
    sealed class Net : Module
    {
        public Net()
        {
            Blocks = Register("blocks", new ModuleList(new BasicBlock(2, 2, generator: new Generator(3)), new BasicBlock(2, 4, 2, new Generator(4))));
            Head = Register("head", new Sequential(new Flatten(), new Sequential(new Dropout(0.5, generator: new Generator(5)), new Linear(16, 3))));
        }

        public ModuleList Blocks { get; }

        public Sequential Head { get; }

        protected override Tensor ForwardCore(Tensor input)
        {
            var h = input;
            foreach (var block in Blocks) h = block.Forward(h);
            return Head.Forward(h);
        }
    }

    [Fact]
    public void Train_and_eval_reach_every_module_through_module_lists_blocks_and_nested_sequentials()
    {
        var net = new Net();
        var all = net.Modules().ToList();
        // net, the list, two blocks of conv1, bn1, conv2, bn2 (the second with downsample and its two layers), the head's five
        Assert.Equal(1 + 1 + 5 + 8 + 5, all.Count);
        Assert.All(all, m => Assert.True(m.IsTraining));

        net.Eval();
        Assert.All(all, m => Assert.False(m.IsTraining));
        var bn = (BatchNorm2d)net.Blocks[1].NamedModules().Single(m => m.Name == "downsample.1").Module;
        var mean = bn.RunningMean!.Data.ToArray();
        var x = Tensor.Randn([2, 2, 4, 4], new Generator(6));
        var y1 = net.Forward(x).ToArray();
        Assert.Equal(y1, net.Forward(x).ToArray()); // dropout off, statistics frozen: the same output twice
        Assert.Equal(mean, bn.RunningMean.Data.ToArray());
        Assert.Equal(0f, bn.NumBatchesTracked!.Data.Item());

        net.Blocks.Train();
        Assert.All(net.Blocks.Modules(), m => Assert.True(m.IsTraining));
        Assert.All(net.Head.Modules(), m => Assert.False(m.IsTraining));
        Assert.False(net.IsTraining);
        net.Forward(x);
        Assert.Equal(1f, bn.NumBatchesTracked.Data.Item()); // a block in training updates its statistics inside an evaluating model
        Assert.NotEqual(mean, bn.RunningMean.Data.ToArray());

        net.Train();
        Assert.All(all, m => Assert.True(m.IsTraining));
    }

    // ---- Monte Carlo dropout ------------------------------------------------------------------

    /// <summary>
    /// A regressor whose dropout is the functional form with training always on, as Monte Carlo
    /// dropout (Gal and Ghahramani, 2016) samples predictions at test time.
    /// </summary>
    sealed class McDropoutNet : Module
    {
        readonly Linear _fc1, _fc2;

        public McDropoutNet()
        {
            var gen = new Generator(7);
            _fc1 = Register("fc1", new Linear(4, 16, generator: gen));
            Norm = Register("bn", new BatchNorm1d(16));
            _fc2 = Register("fc2", new Linear(16, 1, generator: gen));
        }

        public BatchNorm1d Norm { get; }

        public Generator Masks { get; } = new(8);

        protected override Tensor ForwardCore(Tensor input)
        {
            var h = Norm.Forward(_fc1.Forward(input)).Relu();
            return _fc2.Forward(Functional.Dropout(h, 0.5, training: true, generator: Masks));
        }
    }

    [Fact]
    public void Functional_dropout_in_training_leaves_an_evaluating_batch_norm_untouched()
    {
        var net = new McDropoutNet();
        var x = Tensor.Randn([8, 4], new Generator(9));
        net.Forward(x); // one training step's worth of statistics
        net.Forward(Tensor.Randn([8, 4], new Generator(10)));
        net.Eval();
        var mean = net.Norm.RunningMean!.Data.ToArray();
        var variance = net.Norm.RunningVar!.Data.ToArray();
        Assert.Equal(2f, net.Norm.NumBatchesTracked!.Data.Item());

        // 20 stochastic passes: the predictions differ (dropout is on), the statistics do not move (batch norm is in eval)
        var samples = new List<float[]>();
        using (Autograd.NoGrad())
            for (int i = 0; i < 20; i++) samples.Add(net.Forward(x).ToArray());
        Assert.True(samples.Select(s => s[0]).Distinct().Count() >= 10);
        Assert.Equal(mean, net.Norm.RunningMean.Data.ToArray());
        Assert.Equal(variance, net.Norm.RunningVar.Data.ToArray());
        Assert.Equal(2f, net.Norm.NumBatchesTracked.Data.Item());

        // one sample's prediction does not depend on the rest of its batch: evaluation statistics are the running ones
        net.Masks.Seed(11);
        var alone = net.Forward(x[..1]).ToArray();
        net.Masks.Seed(11); // the first sample's units take the first draws either way
        var batched = net.Forward(x).ToArray();
        Assert.True(Math.Abs(alone[0] - batched[0]) < 1e-5, $"{alone[0]} alone, {batched[0]} in the batch");
    }
}
