using Nabla.Nn;

namespace Nabla.Training;

/// <summary>
/// Monte Carlo dropout (Gal and Ghahramani 2016, "Dropout as a Bayesian Approximation"): keep the
/// dropout layers sampling at test time, run several forward passes, and read the spread of the
/// predictions as the model's uncertainty.
/// </summary>
/// <remarks>
/// <para>
/// Why it works: a network trained with dropout is, approximately, a variational posterior over
/// weights — each dropout mask is one draw of the weights. Averaging the softmax over S masks
/// approximates the Bayesian predictive distribution p(y | x, data) = E_w[p(y | x, w)], which is
/// better calibrated than one deterministic pass, and how much the passes disagree measures what
/// the model does not know (the mutual information, see <see cref="McDropoutResult"/>). It costs S
/// forward passes and no retraining.
/// </para>
/// <para>
/// Only <see cref="Dropout"/> and <see cref="Dropout2d"/> modules are switched to training mode;
/// every other module is in evaluation mode, so batch normalization uses (and does not update) its
/// running statistics. The model's modes are restored afterwards, module by module, even when a
/// forward pass throws. The model must output logits of shape (N, C); the softmax is applied here.
/// </para>
/// </remarks>
public static class McDropout
{
    /// <summary>
    /// Runs <paramref name="samples"/> forward passes of <paramref name="model"/> with dropout on
    /// and batch norm in evaluation mode, without gradients, and returns the mean probabilities
    /// and the predictive entropy, expected entropy and mutual information of each input.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Per input, with p_s the softmax of pass s and p̄ = (1/S) Σ_s p_s:
    /// PredictiveEntropy = H[p̄], ExpectedEntropy = (1/S) Σ_s H[p_s], MutualInformation = H[p̄] − (1/S) Σ_s H[p_s].
    /// The mutual information is non-negative: entropy H(p) = −Σ_c p_c log p_c is concave in p, so by
    /// Jensen's inequality H[(1/S) Σ_s p_s] ≥ (1/S) Σ_s H[p_s], with equality exactly when all passes
    /// agree. In floating point the difference of two nearly equal entropies can come out a few ulps
    /// below zero, so it is clamped at 0.
    /// </para>
    /// <para>
    /// The inputs are processed in chunks of <paramref name="batchSize"/> rows along the first
    /// dimension; each pass of a chunk runs inside a <see cref="TensorScope"/> and its probabilities
    /// are accumulated (in double) before the scope ends. The masks are drawn from each dropout
    /// layer's generator, so a seeded generator reproduces the result.
    /// </para>
    /// </remarks>
    /// <param name="model">A classifier that outputs logits of shape (N, C), with at least one dropout module.</param>
    /// <param name="inputs">The inputs, N along the first dimension.</param>
    /// <param name="samples">The number of stochastic passes S (≥ 1; tens are typical).</param>
    /// <param name="batchSize">Rows per forward pass (default 512).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="samples"/> or <paramref name="batchSize"/> is below 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="model"/> has no dropout module.</exception>
    /// <exception cref="ShapeException">The model's output is not of shape (rows, C).</exception>
    public static McDropoutResult Predict(Module model, Tensor inputs, int samples, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        if (samples < 1)
            throw new ArgumentOutOfRangeException(nameof(samples), samples, $"McDropout.Predict: samples ({samples}) must be at least 1");
        CheckBatch(inputs, batchSize, "McDropout.Predict");
        var modules = model.Modules().ToArray();
        bool anyDropout = false;
        foreach (var m in modules) anyDropout |= IsDropout(m);
        if (!anyDropout)
            throw new ArgumentException("MC dropout needs at least one Dropout module; the model has none, so every pass would give the same prediction. " +
                                        "Add Dropout / Dropout2d layers (and train with them), or use McDropout.Deterministic.", nameof(model));

        int n = inputs.Shape[0], c = -1;
        double[] sum = [];
        var expected = new double[n];
        var saved = SaveModes(modules);
        try
        {
            foreach (var m in modules) m.IsTraining = IsDropout(m);
            using var noGrad = Autograd.NoGrad();
            for (int start = 0; start < n; start += batchSize)
            {
                int rows = Math.Min(batchSize, n - start);
                using var chunkScope = TensorScope.Begin();
                var chunk = start == 0 && rows == n ? inputs : inputs.Narrow(0, start, rows);
                for (int s = 0; s < samples; s++)
                {
                    using var scope = TensorScope.Begin();
                    var p = Probabilities(model, chunk, rows, ref c, "McDropout.Predict");
                    if (sum.Length == 0) sum = new double[n * c];
                    var ps = p.Span;
                    for (int i = 0; i < rows; i++)
                    {
                        var row = ps.Slice(i * c, c);
                        int o = (start + i) * c;
                        for (int j = 0; j < c; j++) sum[o + j] += row[j];
                        expected[start + i] += Calibration.EntropyOf(row);
                    }
                }
            }
        }
        finally
        {
            RestoreModes(modules, saved);
        }

        if (c < 0) c = 0; // no rows: nothing ran, so the class count is unknown
        var mean = Tensor.Owned([n, c], clear: false);
        var ms = mean.Span;
        var predictive = new double[n];
        var mutual = new double[n];
        var meanRow = new double[c];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < c; j++)
            {
                meanRow[j] = sum[i * c + j] / samples;
                ms[i * c + j] = (float)meanRow[j];
            }
            expected[i] /= samples;
            predictive[i] = Calibration.EntropyOf(meanRow);
            mutual[i] = Math.Max(0, predictive[i] - expected[i]);
        }
        return new McDropoutResult(mean, predictive, expected, mutual, samples);
    }

    /// <summary>
    /// The softmax probabilities of one ordinary evaluation-mode pass (dropout off), shape (N, C):
    /// the baseline MC dropout is compared against. The model's modes are restored afterwards.
    /// </summary>
    /// <param name="model">A classifier that outputs logits of shape (N, C).</param>
    /// <param name="inputs">The inputs, N along the first dimension.</param>
    /// <param name="batchSize">Rows per forward pass (default 512).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is below 1.</exception>
    /// <exception cref="ShapeException">The model's output is not of shape (rows, C).</exception>
    public static Tensor Deterministic(Module model, Tensor inputs, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckBatch(inputs, batchSize, "McDropout.Deterministic");
        var modules = model.Modules().ToArray();
        int n = inputs.Shape[0], c = -1;
        Tensor? result = null;
        var saved = SaveModes(modules);
        try
        {
            model.Eval();
            using var noGrad = Autograd.NoGrad();
            for (int start = 0; start < n; start += batchSize)
            {
                int rows = Math.Min(batchSize, n - start);
                using var scope = TensorScope.Begin();
                var chunk = start == 0 && rows == n ? inputs : inputs.Narrow(0, start, rows);
                var p = Probabilities(model, chunk, rows, ref c, "McDropout.Deterministic");
                result ??= Tensor.Owned([n, c], clear: false);
                p.Span.CopyTo(result.Span.Slice(start * c, rows * c));
            }
        }
        finally
        {
            RestoreModes(modules, saved);
        }
        return result ?? Tensor.Owned([0, 0]);
    }

    /// <summary>Dropout layers, the only modules MC dropout keeps sampling.</summary>
    static bool IsDropout(Module m) => m is Dropout or Dropout2d;

    static bool[] SaveModes(Module[] modules)
    {
        var modes = new bool[modules.Length];
        for (int i = 0; i < modules.Length; i++) modes[i] = modules[i].IsTraining;
        return modes;
    }

    // Each module's own flag, not Train(mode), which would overwrite the children's modes too.
    static void RestoreModes(Module[] modules, bool[] modes)
    {
        for (int i = 0; i < modules.Length; i++) modules[i].IsTraining = modes[i];
    }

    static void CheckBatch(Tensor inputs, int batchSize, string op)
    {
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{op}: batchSize ({batchSize}) must be at least 1");
        if (inputs.Rank == 0)
            throw new ShapeException(op, "inputs with the samples along the first dimension", "a zero-dimensional tensor");
    }

    /// <summary>softmax(model(chunk)) along the classes, checked to be (rows, C) with the same C as earlier chunks.</summary>
    static Tensor Probabilities(Module model, Tensor chunk, int rows, ref int c, string op)
    {
        var logits = model.Forward(chunk);
        if (logits.Rank != 2 || logits.Shape[0] != rows || (c >= 0 && logits.Shape[1] != c))
            throw new ShapeException(op, c >= 0 ? $"model outputs (logits) of shape [{rows}, {c}]" : $"model outputs (logits) of shape ({rows}, C)",
                logits.ShapeString, "MC dropout needs a classifier whose output is one row of class logits per input");
        c = logits.Shape[1];
        return Functional.Softmax(logits, 1);
    }
}
