using System.Globalization;
using System.Text;
using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Per-layer instruments of training, as a <see cref="Trainer"/> callback: for each activation
/// layer, the activations' mean, standard deviation and histogram, the fraction of saturated units
/// (tanh or sigmoid within 0.01 of its bounds) and of dead ReLUs; for each parameter, the gradient
/// norm and the update-to-weight ratio ‖ΔW‖ / ‖W‖ of the optimizer's step.
/// </summary>
/// <remarks>
/// <para>
/// What they show: activations that collapse to zero or blow up layer after layer (a bad
/// initialization), saturated sigmoids and tanh units whose local gradient is near zero, ReLUs that
/// output zero for every input and so never learn again, vanishing or exploding gradients, and a
/// learning rate that is too small or too large (an update-to-weight ratio far from about 1e-3).
/// </para>
/// <para>
/// Measured on sampled batches only, so the rest of training runs at full speed: the first batch of
/// training, then the last batch of every epoch (<c>everySteps</c> = 0) or every
/// <c>everySteps</c>-th optimizer step. The layers observed are the activation modules (ReLU, leaky
/// ReLU, tanh, sigmoid, ELU, GELU, softplus, maxout); a model without any is observed at every leaf
/// module that has parameters. Forward hooks are registered when training begins and removed when it
/// ends (or by <see cref="Dispose"/>).
/// </para>
/// </remarks>
public sealed class TrainingDiagnostics : ITrainerCallback, IDisposable
{
    readonly int _everySteps, _bins;
    readonly List<ActivationRecord> _activations = [];
    readonly List<ParameterRecord> _parameters = [];
    readonly List<HookHandle> _handles = [];
    List<(string Name, Parameter Parameter)> _watched = [];
    float[][]? _before;
    double[]? _gradNorms;
    bool _armed;
    int _epoch, _step;

    /// <summary>Creates the instruments.</summary>
    /// <param name="everySteps">Sample every this many optimizer steps; 0 (the default) samples the last batch of every epoch. The first batch of training is always sampled.</param>
    /// <param name="bins">Histogram bins per activation sample.</param>
    public TrainingDiagnostics(int everySteps = 0, int bins = 40)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(everySteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        _everySteps = everySteps;
        _bins = bins;
    }

    /// <summary>The activation statistics of every sampled batch, in order.</summary>
    public IReadOnlyList<ActivationRecord> Activations => _activations;

    /// <summary>The parameter statistics of every sampled batch, in order.</summary>
    public IReadOnlyList<ParameterRecord> Parameters => _parameters;

    /// <summary>
    /// The activation statistics of one forward pass of <paramref name="model"/> on
    /// <paramref name="input"/> (without gradients, in the model's current mode): the instruments
    /// without training, as for the classic figure of activations at initialization.
    /// </summary>
    public static IReadOnlyList<ActivationStats> Observe(Module model, Tensor input, int bins = 40)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        var stats = new List<ActivationStats>();
        var handles = ObservedLayers(model)
            .Select(l => l.Module.RegisterForwardHook((m, _, y) => stats.Add(ActivationStats.Of(l.Name, m, y, bins)))).ToList();
        try
        {
            using var noGrad = Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            model.Forward(input);
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
        return stats;
    }

    /// <summary>The modules observed in <paramref name="model"/>, with their dotted names.</summary>
    public static IReadOnlyList<(string Name, Module Module)> ObservedLayers(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.NamedModules().ToList();
        var activations = named.Where(m => IsActivation(m.Module)).ToList();
        if (activations.Count > 0) return activations;
        return [.. named.Where(m => !m.Module.Children().Any() && m.Module.Parameters().Any())];
    }

    static bool IsActivation(Module m) => m is Relu or LeakyRelu or Tanh or Sigmoid or Elu or Gelu or Softplus or Maxout;

    void ITrainerCallback.OnTrainBegin(Module model)
    {
        RemoveHooks();
        foreach (var (name, module) in ObservedLayers(model))
            _handles.Add(module.RegisterForwardHook((m, _, y) =>
            {
                if (_armed && m.IsTraining) _activations.Add(new ActivationRecord(_epoch, _step, ActivationStats.Of(name, m, y, _bins)));
            }));
        _watched = [.. model.NamedParameters().Where(p => p.Parameter.RequiresGrad)];
    }

    void ITrainerCallback.OnBatchBegin(int epoch, int batch, int batches, int globalStep)
    {
        _epoch = epoch;
        _step = globalStep + 1;
        _armed = globalStep == 0 || (_everySteps == 0 ? batch == batches : (globalStep + 1) % _everySteps == 0);
    }

    void ITrainerCallback.OnBeforeOptimizerStep()
    {
        if (!_armed) return;
        _gradNorms = [.. _watched.Select(p => p.Parameter.Grad is { } g ? Norm(g.Span) : double.NaN)];
        _before = [.. _watched.Select(p => p.Parameter.Data.ToArray())];
    }

    void ITrainerCallback.OnBatchEnd()
    {
        if (!_armed || _before is null || _gradNorms is null) return;
        for (int i = 0; i < _watched.Count; i++)
        {
            var w = _watched[i].Parameter.Data.Span;
            var old = _before[i];
            double delta = 0;
            for (int j = 0; j < old.Length; j++)
            {
                double d = w[j] - old[j];
                delta += d * d;
            }
            double norm = Norm(old);
            _parameters.Add(new ParameterRecord(_epoch, _step, _watched[i].Name, Norm(w), _gradNorms[i],
                norm > 0 ? Math.Sqrt(delta) / norm : double.NaN));
        }
        _before = null;
        _gradNorms = null;
        _armed = false;
    }

    string? ITrainerCallback.OnEpochEnd(EpochRecord record) => null;

    void ITrainerCallback.OnTrainEnd(History history) => RemoveHooks();

    /// <summary>Removes the hooks from the model (also done when training ends).</summary>
    public void Dispose() => RemoveHooks();

    void RemoveHooks()
    {
        foreach (var h in _handles) h.Dispose();
        _handles.Clear();
        _armed = false;
    }

    static double Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return Math.Sqrt(s);
    }

    /// <summary>
    /// Writes every record as one CSV (one row per sampled step and layer or parameter):
    /// <c>epoch,step,kind,name,layer,mean,std,min,max,saturated,dead,weight_norm,grad_norm,update_ratio,histogram</c>,
    /// the histogram as its counts joined by ';' between <c>min</c> and <c>max</c>. Empty fields do not apply.
    /// </summary>
    public void WriteCsv(TextWriter writer, bool header = true)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (header) writer.WriteLine(CsvHeader);
        foreach (var (epoch, step, a) in _activations)
            writer.WriteLine(string.Join(',', I(epoch), I(step), "activation", Quote(a.Name), a.Layer, F(a.Mean), F(a.Std), F(a.Min), F(a.Max),
                F(a.SaturatedFraction), F(a.DeadFraction), "", "", "", string.Join(';', a.Histogram.Select(I))));
        foreach (var p in _parameters)
            writer.WriteLine(string.Join(',', I(p.Epoch), I(p.Step), "parameter", Quote(p.Name), "", "", "", "", "", "", "",
                F(p.WeightNorm), F(p.GradNorm), F(p.UpdateRatio), ""));

        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string F(double v) => double.IsNaN(v) ? "" : v.ToString("G6", CultureInfo.InvariantCulture);
        static string Quote(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal) ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    /// <summary>The first line of <see cref="WriteCsv"/>.</summary>
    public const string CsvHeader = "epoch,step,kind,name,layer,mean,std,min,max,saturated,dead,weight_norm,grad_norm,update_ratio,histogram";

    /// <summary>The CSV of <see cref="WriteCsv"/> as a string.</summary>
    public string ToCsv(bool header = true)
    {
        var sb = new StringBuilder();
        using (var w = new StringWriter(sb, CultureInfo.InvariantCulture)) WriteCsv(w, header);
        return sb.ToString();
    }

    /// <summary>Forgets the records so far (once they are written), so a long run does not keep them all in memory.</summary>
    public void Clear()
    {
        _activations.Clear();
        _parameters.Clear();
    }
}

/// <summary>One layer's activation statistics on one batch.</summary>
/// <param name="Name">The layer's dotted name in the model.</param>
/// <param name="Layer">The layer's type (<c>Relu</c>, <c>Tanh</c>).</param>
/// <param name="Mean">The mean over every activation of the batch.</param>
/// <param name="Std">Their standard deviation (population).</param>
/// <param name="Min">The smallest activation.</param>
/// <param name="Max">The largest activation.</param>
/// <param name="Histogram">Counts in equal-width bins from <paramref name="Min"/> to <paramref name="Max"/>.</param>
/// <param name="SaturatedFraction">For tanh and sigmoid, the fraction of activations within 0.01 of the bounds (|tanh| &gt; 0.99; sigmoid &lt; 0.01 or &gt; 0.99); NaN for other layers.</param>
/// <param name="DeadFraction">For ReLU and leaky ReLU, the fraction of units (features, or channel and position) that are ≤ 0 for every sample of the batch; NaN for other layers.</param>
public sealed record ActivationStats(string Name, string Layer, double Mean, double Std, double Min, double Max, long[] Histogram,
    double SaturatedFraction, double DeadFraction)
{
    /// <summary>The statistics of <paramref name="output"/>, the output of <paramref name="module"/> on a batch (first dimension).</summary>
    public static ActivationStats Of(string name, Module module, Tensor output, int bins = 40)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var y = output.Span;
        double sum = 0, sq = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        long saturated = 0;
        bool tanh = module is Tanh, sigmoid = module is Sigmoid;
        foreach (var v in y)
        {
            sum += v;
            sq += (double)v * v;
            if (v < min) min = v;
            if (v > max) max = v;
            if ((tanh && Math.Abs(v) > 0.99f) || (sigmoid && (v < 0.01f || v > 0.99f))) saturated++;
        }
        int n = y.Length;
        double mean = n == 0 ? double.NaN : sum / n;
        double std = n == 0 ? double.NaN : Math.Sqrt(Math.Max(0, sq / n - mean * mean));
        var histogram = new long[bins];
        if (n > 0)
        {
            double width = (max - min) / bins;
            foreach (var v in y)
                histogram[width > 0 ? Math.Min(bins - 1, (int)((v - min) / width)) : 0]++;
        }
        double dead = double.NaN;
        if (module is Relu or LeakyRelu && output.Rank >= 1 && output.Shape[0] > 0)
        {
            int batch = output.Shape[0], units = n / batch, deadUnits = 0;
            for (int u = 0; u < units; u++)
            {
                bool alive = false;
                for (int s = 0; s < batch && !alive; s++) alive = y[s * units + u] > 0;
                if (!alive) deadUnits++;
            }
            dead = units == 0 ? double.NaN : (double)deadUnits / units;
        }
        return new ActivationStats(name, module.GetType().Name, mean, std, n == 0 ? double.NaN : min, n == 0 ? double.NaN : max, histogram,
            tanh || sigmoid ? (n == 0 ? double.NaN : (double)saturated / n) : double.NaN, dead);
    }
}

/// <summary>A layer's activation statistics at one sampled optimizer step.</summary>
/// <param name="Epoch">The epoch (from 1).</param>
/// <param name="Step">The optimizer step (from 1) whose forward pass was measured.</param>
/// <param name="Stats">The statistics.</param>
public sealed record ActivationRecord(int Epoch, int Step, ActivationStats Stats);

/// <summary>A parameter's gradient and update at one sampled optimizer step.</summary>
/// <param name="Epoch">The epoch (from 1).</param>
/// <param name="Step">The optimizer step (from 1).</param>
/// <param name="Name">The parameter's dotted name (<c>0.weight</c>).</param>
/// <param name="WeightNorm">‖W‖ after the step.</param>
/// <param name="GradNorm">‖∇W‖ before the step (after clipping, when the trainer clips); NaN when the parameter got no gradient.</param>
/// <param name="UpdateRatio">‖W_after − W_before‖ / ‖W_before‖; NaN when W_before is zero.</param>
public sealed record ParameterRecord(int Epoch, int Step, string Name, double WeightNorm, double GradNorm, double UpdateRatio);
