using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using static Nabla.Tests.TestUtil;
using static Nabla.Tests.TrainingTests.TrainingData;

namespace Nabla.Tests.TrainingTests;

/// <summary>The training instruments: known answers on constructed activations, and the callback's sampling and sums.</summary>
public class TrainingDiagnosticsTests
{
    [Fact]
    public void Dead_fraction_counts_units_that_are_zero_for_every_sample()
    {
        // 3 samples x 4 units: unit 0 is always 0, unit 2 always 0 or negative, units 1 and 3 fire once.
        var y = T([0f, 1f, 0f, 0f,
                   0f, 0f, 0f, 2f,
                   0f, 0f, 0f, 0f], 3, 4);
        var s = ActivationStats.Of("r", new Relu(), y);
        Assert.Equal(0.5, s.DeadFraction);
        Assert.True(double.IsNaN(s.SaturatedFraction));
        Assert.Equal(0.25, s.Mean, 12);
        Assert.Equal(0, s.Min);
        Assert.Equal(2, s.Max);

        // Conv activations: a unit is one channel at one position.
        var conv = Tensor.Zeros(2, 2, 1, 2);
        conv.Span[1] = 1; // sample 0, channel 0, x 1
        Assert.Equal(0.75, ActivationStats.Of("c", new LeakyRelu(0.1), conv).DeadFraction);
    }

    [Fact]
    public void Saturated_fraction_uses_the_bounds_of_tanh_and_sigmoid()
    {
        var tanh = ActivationStats.Of("t", new Tanh(), T([0.995f, -0.999f, 0.5f, 0f, 0.98f], 1, 5));
        Assert.Equal(0.4, tanh.SaturatedFraction, 12);
        var sigmoid = ActivationStats.Of("s", new Sigmoid(), T([0.005f, 0.995f, 0.5f, 0.2f], 2, 2));
        Assert.Equal(0.5, sigmoid.SaturatedFraction, 12);
        Assert.True(double.IsNaN(sigmoid.DeadFraction));
    }

    [Fact]
    public void Histogram_and_moments_are_those_of_the_values()
    {
        var s = ActivationStats.Of("t", new Tanh(), T([-1f, -0.5f, 0f, 0.5f, 1f, 1f], 2, 3), bins: 4);
        Assert.Equal([1L, 1, 1, 3], s.Histogram);
        Assert.Equal(1.0 / 6, s.Mean, 12);
        double var = new[] { -1, -0.5, 0, 0.5, 1, 1 }.Select(v => (v - 1.0 / 6) * (v - 1.0 / 6)).Average();
        Assert.Equal(Math.Sqrt(var), s.Std, 6);
    }

    [Fact]
    public void Observe_reports_every_activation_layer_in_forward_order()
    {
        var model = new Sequential(new Linear(2, 6, generator: new Generator(1)), new Tanh(),
                                   new Linear(6, 6, generator: new Generator(2)), new Relu(), new Linear(6, 2, generator: new Generator(3)));
        var x = U(4, -1, 1, 8, 2);
        var stats = TrainingDiagnostics.Observe(model, x);
        Assert.Equal(["1", "3"], stats.Select(s => s.Name));
        Assert.Equal(["Tanh", "Relu"], stats.Select(s => s.Layer));
        var h = ((Linear)model[0]).Forward(x).Tanh().ToArray();
        Assert.Equal(h.Average(v => (double)v), stats[0].Mean, 5);
        // The hooks are gone afterwards.
        Assert.All(model.Modules(), m => Assert.False(m.HasHooks));
    }

    [Fact]
    public void Callback_samples_the_first_batch_and_each_epoch_s_last_and_measures_the_sgd_step()
    {
        var model = new Sequential(new Linear(2, 8, generator: new Generator(3)), new Relu(), new Linear(8, 2, generator: new Generator(4)));
        const double lr = 0.1;
        var trainer = new Trainer(model, new CrossEntropyLoss(), new Sgd(model.Parameters(), lr: lr));
        using var diagnostics = new TrainingDiagnostics();
        trainer.Callbacks.Add(diagnostics);
        var loader = new DataLoader(Separable(30, 1), batchSize: 10, shuffle: true, generator: new Generator(7));
        trainer.Fit(loader, epochs: 2);

        // 3 batches an epoch: steps 1 (the first), 3 and 6 (each epoch's last).
        Assert.Equal([1, 3, 6], diagnostics.Activations.Select(a => a.Step));
        Assert.Equal([1, 1, 2], diagnostics.Activations.Select(a => a.Epoch));
        Assert.All(diagnostics.Activations, a => Assert.Equal("1", a.Stats.Name));
        Assert.Equal(12, diagnostics.Parameters.Count);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], diagnostics.Parameters.Take(4).Select(p => p.Name));
        foreach (var p in diagnostics.Parameters)
        {
            // Plain SGD moves W by lr * grad: the update is lr‖g‖, so update/‖W_before‖ follows from the norms.
            Assert.True(p.GradNorm > 0);
            double before = p.UpdateRatio > 0 ? lr * p.GradNorm / p.UpdateRatio : double.NaN;
            Assert.InRange(p.WeightNorm, before - lr * p.GradNorm - 1e-5, before + lr * p.GradNorm + 1e-5);
        }

        // The hooks were removed when training ended: another forward records nothing.
        int n = diagnostics.Activations.Count;
        model.Forward(U(5, -1, 1, 3, 2));
        Assert.Equal(n, diagnostics.Activations.Count);

        var csv = diagnostics.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("epoch,step,kind,name,layer,mean,std", csv[0]);
        Assert.Equal(1 + 3 + 12, csv.Length);
    }

    [Fact]
    public void Update_ratio_is_exact_for_one_known_step()
    {
        // One weight w = 2 with loss w*x (x = 3): grad 3, SGD lr 0.1 moves it by 0.3; ratio 0.15.
        var model = new Sequential(new Linear(1, 1, bias: false, init: Init.Constant(2)));
        var trainer = new Trainer(model, new L1Loss(), new Sgd(model.Parameters(), lr: 0.1));
        using var diagnostics = new TrainingDiagnostics(everySteps: 1);
        trainer.Callbacks.Add(diagnostics);
        trainer.Fit(new DataLoader(new TensorDataset(T([3f], 1, 1), T([0f], 1, 1)), batchSize: 1), epochs: 1);
        var p = Assert.Single(diagnostics.Parameters);
        Assert.Equal(3, p.GradNorm, 5);
        Assert.Equal(0.15, p.UpdateRatio, 5);
        Assert.Equal(1.7, p.WeightNorm, 5);
        // Without activation layers the leaf layers with parameters are observed: here the output, 2 * 3.
        var a = Assert.Single(diagnostics.Activations).Stats;
        Assert.Equal(("0", "Linear", 6.0), (a.Name, a.Layer, a.Mean));
    }
}
