namespace Nabla.Training;

/// <summary>
/// The output of <see cref="McDropout.Predict"/>: the mean of the stochastic predictions and the
/// split of their uncertainty into an aleatoric and an epistemic part.
/// </summary>
/// <remarks>
/// Total (predictive) uncertainty H[mean p] = expected entropy E[H[p]] + mutual information.
/// The expected entropy is what each sampled network is unsure about on its own — noise in the
/// data (aleatoric), which more data does not remove. The mutual information is how much the
/// sampled networks disagree — uncertainty about the weights (epistemic), high on inputs unlike
/// the training data and reducible by more data.
/// </remarks>
public sealed class McDropoutResult
{
    /// <summary>Creates the result.</summary>
    public McDropoutResult(Tensor meanProbabilities, double[] predictiveEntropy, double[] expectedEntropy, double[] mutualInformation, int samples)
    {
        MeanProbabilities = meanProbabilities;
        PredictiveEntropy = predictiveEntropy;
        ExpectedEntropy = expectedEntropy;
        MutualInformation = mutualInformation;
        Samples = samples;
    }

    /// <summary>The predictive distribution (1/S) Σ_s softmax(f_s(x)), shape (N, C); its argmax is the MC dropout prediction.</summary>
    public Tensor MeanProbabilities { get; }

    /// <summary>H[(1/S) Σ_s p_s] per sample, in nats: the total uncertainty.</summary>
    public double[] PredictiveEntropy { get; }

    /// <summary>(1/S) Σ_s H[p_s] per sample, in nats: the aleatoric part, the uncertainty each pass has on its own.</summary>
    public double[] ExpectedEntropy { get; }

    /// <summary>
    /// <see cref="PredictiveEntropy"/> − <see cref="ExpectedEntropy"/> per sample, in nats, clamped at
    /// 0: the epistemic part, the mutual information between the prediction and the weights
    /// (BALD, Houlsby et al. 2011), large when the passes disagree.
    /// </summary>
    public double[] MutualInformation { get; }

    /// <summary>The number of stochastic forward passes S.</summary>
    public int Samples { get; }
}
