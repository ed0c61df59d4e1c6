using Nabla;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

/// <summary>
/// What module hooks cost: training steps of mlp_train and cnn_train on models that never had a
/// hook, on models whose hooks (a forward and a backward hook on every module) were registered and
/// removed, and with those hooks registered (doing nothing), in alternating rounds of one sitting.
/// The first two must match: a module without hooks pays one null check per forward.
/// </summary>
static class HookWorkload
{
    public static void Run(double seconds)
    {
        foreach (var (name, build, inShape, batch) in new (string, Func<Generator, Sequential>, int[], int)[]
        {
            ("mlp_train", TrainingWorkloads.Mlp, [784], 128),
            ("cnn_train", TrainingWorkloads.Cnn, [1, 28, 28], 128),
        })
        {
            var rates = new Dictionary<string, List<double>> { ["never"] = [], ["removed"] = [], ["registered"] = [] };
            for (int round = 0; round < 3; round++)
                foreach (var state in rates.Keys)
                {
                    var g = new Generator(0);
                    var model = build(g);
                    var handles = state == "never" ? [] : model.Modules().SelectMany(m => new[]
                    {
                        m.RegisterForwardHook((_, _, _) => { }), m.RegisterFullBackwardHook((_, _, _) => { }),
                    }).ToList();
                    if (state == "removed") foreach (var h in handles) h.Dispose();
                    var optimizer = new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9);
                    var x = Tensor.Randn([batch, .. inShape], g);
                    var y = Tensor.Randint(0, 10, [batch], g);
                    var loss = new CrossEntropyLoss();
                    var (rate, _, _) = TrainingWorkloads.Rate(() =>
                    {
                        using var scope = TensorScope.Begin();
                        optimizer.ZeroGrad();
                        loss.Forward(model.Forward(x), y).Backward();
                        optimizer.Step();
                    }, 5, seconds / 3);
                    rates[state].Add(rate * batch);
                }
            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            foreach (var (state, v) in rates)
                TrainingWorkloads.Emit(new { engine = "nabla", workload = "hooks", model = name, hooks = state, threads = Threading.NumThreads,
                    samples_per_s = Math.Round(Median(v), 1), rounds = v.Select(r => Math.Round(r, 1)).ToArray() });
            TrainingWorkloads.Emit(new { engine = "nabla", workload = "hooks", model = name, removed_over_never = Math.Round(Median(rates["removed"]) / Median(rates["never"]), 3),
                registered_over_never = Math.Round(Median(rates["registered"]) / Median(rates["never"]), 3) });
        }
    }
}
