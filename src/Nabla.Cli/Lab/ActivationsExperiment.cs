using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Cli.Lab.LabReport;

namespace Nabla.Cli.Lab;

/// <summary>Sigmoid, tanh, ReLU, leaky ReLU and maxout in the same deep MLP: gradient flow, saturation, dead units and speed.</summary>
internal sealed class ActivationsExperiment : LabExperiment
{
    public override string Name => "activations";

    public override string Claim =>
        "Saturated sigmoids kill the gradient flow; use ReLU, try leaky ReLU or maxout, do not use sigmoid.";

    public override void Run(LabContext lab, LabReport report)
    {
        int n = lab.Pick(300, 10_000, 60_000), epochs = lab.Pick(2, 8, 20), depth = 6, width = 256;
        var (train, test) = LabContext.Standardize(lab.Sample(lab.Train, n, 1), lab.Sample(lab.Test, lab.Pick(500, 10_000, 10_000), 2));
        var results = new Dictionary<string, (FitResult Fit, double[] FirstGrads, double[] Saturated, double[] Dead)>();
        foreach (var act in LabNets.Activations)
        {
            var model = LabNets.Mlp([.. Enumerable.Repeat(width, depth)], act, lab.Gen(3), weightInit: InitFor(act));
            using var diag = new TrainingDiagnostics();
            var fit = lab.Fit(model, new Sgd(model.Parameters(), lr: 0.01, momentum: 0.9), train, test, epochs, shuffleStream: 4, callbacks: [diag]);
            int firstStep = diag.Parameters.Min(p => p.Step), lastStep = diag.Activations.Max(a => a.Step);
            double[] grads = [.. diag.Parameters.Where(p => p.Step == firstStep && p.Name.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.GradNorm)];
            var last = diag.Activations.Where(a => a.Step == lastStep).Select(a => a.Stats).ToList();
            results[act] = (fit, grads, [.. last.Select(s => s.SaturatedFraction)], [.. last.Select(s => s.DeadFraction)]);
            lab.Log($"{act}: test accuracy {Pct(fit.FinalAccuracy)}; first/last layer gradient norm {E(grads[0])} / {E(grads[^1])}");
        }

        double[] layers = [.. Enumerable.Range(1, depth + 1).Select(i => (double)i)];
        double[] ep = [.. Enumerable.Range(1, epochs).Select(e => (double)e)];
        double[] hidden = [.. Enumerable.Range(1, depth).Select(i => (double)i)];
        LabPlots.Save([
            LabPlots.Lines("weight gradient norm per layer, first step", "layer (1 = input side)", "‖∇W‖", results.Select(r => new Series(r.Key, layers, r.Value.FirstGrads)), logY: true),
            LabPlots.Lines("test accuracy", "epoch", "accuracy", results.Select(r => new Series(r.Key, ep, [.. r.Value.Fit.TestAccuracy]))),
            LabPlots.Lines("saturated units (sigmoid, tanh), last epoch", "hidden layer", "fraction", results.Where(r => r.Key is "sigmoid" or "tanh").Select(r => new Series(r.Key, hidden, r.Value.Saturated))),
            LabPlots.Lines("dead units (ReLU, leaky ReLU), last epoch", "hidden layer", "fraction", results.Where(r => r.Key is "relu" or "leaky-relu").Select(r => new Series(r.Key, hidden, r.Value.Dead))),
        ], report.File("activations.png"), columns: 2);

        report.Setup($"""
            The same MLP, {depth} hidden layers of {width} units (maxout: 2 linear pieces per unit), biases zero, weights
            initialized as suits each activation (Kaiming N(0, 2/n) for ReLU, its leaky form for leaky ReLU, N(0, 1/n) for
            tanh, sigmoid and maxout), trained with SGD (momentum 0.9, learning rate 0.01, batch 128) for {epochs} epochs on {n:N0}
            standardized training images; {test.Count:N0} test images. `TrainingDiagnostics` measures each weight's gradient
            norm at the first step and each activation layer's saturated and dead fractions on the last batch.
            """);
        report.Figure("activations.png", "Gradient flow at the first step, convergence, saturation and dead units");
        double Ratio(string a) => results[a].FirstGrads[0] / results[a].FirstGrads[^1];
        report.Table(["activation", "test accuracy after epoch 1", "final test accuracy", "‖∇W₁‖ / ‖∇W_out‖ at step 1", "mean saturated", "mean dead"],
            results.Select(r => new[]
            {
                r.Key, Pct(r.Value.Fit.TestAccuracy.FirstOrDefault(double.NaN)), Pct(r.Value.Fit.FinalAccuracy), E(Ratio(r.Key)),
                Pct(Mean(r.Value.Saturated)), Pct(Mean(r.Value.Dead)),
            }));
        foreach (var (k, v) in results)
        {
            report.Number($"{k}_test_accuracy", v.Fit.FinalAccuracy);
            report.Number($"{k}_gradient_ratio_first_to_last", Ratio(k));
        }

        report.Verdict("Sigmoids kill the gradient flow: the first layer's gradient is orders of magnitude below the last's", Ratio("sigmoid") < Ratio("relu") / 10,
            $"first-to-last gradient norm ratio at step 1: sigmoid {E(Ratio("sigmoid"))}, tanh {E(Ratio("tanh"))}, ReLU {E(Ratio("relu"))}.");
        var ranked = results.OrderByDescending(r => Finite(r.Value.Fit.FinalAccuracy)).Select(r => r.Key).ToList();
        double best = results.Values.Max(v => Finite(v.Fit.FinalAccuracy));
        bool reluNearBest = best - Finite(results["relu"].Fit.FinalAccuracy) <= 0.01;
        bool sigmoidLast = ranked[^1] == "sigmoid";
        bool variantsSecond = Variants.All(a => Finite(results[a].Fit.FinalAccuracy) > Finite(results["sigmoid"].Fit.FinalAccuracy));
        report.Verdict("The quick guide: ReLU as standard, leaky ReLU and maxout close behind, sigmoid not used", reluNearBest && sigmoidLast && variantsSecond,
            $"ranking by final test accuracy: {string.Join(" > ", ranked.Select(a => $"{a} {Pct(results[a].Fit.FinalAccuracy)}"))}.");
    }

    /// <summary>
    /// Each activation with the initialization made for it, so the comparison is of activations, not of
    /// one initialization that suits some of them: Kaiming (Var = 2/n) for ReLU, its leaky form for leaky
    /// ReLU, and Var = 1/n for tanh, sigmoid and maxout (the maximum of two such pieces keeps the second
    /// moment: E[max(a, b)²] = E[a²] for symmetric a and b).
    /// </summary>
    static Init InitFor(string activation) => activation switch
    {
        "relu" => Init.KaimingNormal(nonlinearity: Nonlinearity.Relu),
        "leaky-relu" => Init.KaimingNormal(a: 0.1, nonlinearity: Nonlinearity.LeakyRelu),
        _ => Init.LecunNormal(),
    };

    static readonly string[] Variants = ["leaky-relu", "maxout"];

    static double Finite(double v) => double.IsFinite(v) ? v : 0;

    static double Mean(double[] v) => v.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}
